"""One test image through several trained networks side by side, like the paper's Fig. 2.

Each column is one network (typically the same architecture trained with growing
``gamma2``); the rows are the spike raster of every non-input layer, then the membrane
potentials of a few neurons of every non-input layer. Spike times and slopes come from the
model's own forward scan and potentials from :func:`model.neuron.potential` (the closed form
``v_i(t) = sum_j w_ij max(0, t - t_j)``), both in float64, so every drawn potential reaches
the threshold exactly at its drawn spike: :func:`trace_sample` and :func:`layer_potentials`
are the two functions the figure uses and the tests check. After a spike the neuron is
frozen; the figure continues its potential without reset, ``V_th + S_i (t - t_i)``, as a
dotted line: the part above the threshold is what M-SSR (its area) and F-SSR (its end
value) penalize. Uses matplotlib's Agg backend.
"""
import copy
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from model.files import atomic_write
from model.network import predict
from model.neuron import potential

from .figure import _pyplot


class SampleTrace(NamedTuple):
    """One image through one network, float64.

    Members
    -------
    times : list of 1-D tensors, spike times per layer, input first (``+inf``: silent)
    slopes : list of 1-D tensors, causal slopes ``S_i`` per non-input layer (0: silent)
    weights : list of float64 weight matrices ``[n_out, n_in]`` per non-input layer
    threshold, t_max : the network's ``V_th`` and firing window
    prediction : predicted class (first output spike, else largest final potential)
    """

    times: list
    slopes: list
    weights: list
    threshold: float
    t_max: float
    prediction: int


@torch.no_grad()
def trace_sample(network, image):
    """The :class:`SampleTrace` of ``image`` (28 x 28, uint8 or float in [0, 1]).

    Runs :meth:`model.TTFSNetwork.scans` on a float64 copy of ``network`` (the kernel
    computes in float64 anyway; the float32 network only rounds the times it passes
    between layers), so the potentials of :func:`layer_potentials` are exact at the spikes.
    """
    double = copy.deepcopy(network).double()
    input_times = double.encode(torch.as_tensor(np.array(image))[None]).double()
    scans = double.scans(input_times)
    hidden = scans[-2].times if len(scans) > 1 else input_times
    prediction = int(predict(scans[-1].times, double.final_potentials(hidden))[0])
    return SampleTrace(times=[input_times[0]] + [result.times[0] for result in scans],
                       slopes=[result.slopes[0] for result in scans],
                       weights=[layer.weight.detach().clone() for layer in double.layers],
                       threshold=double.config.threshold, t_max=double.config.t_max,
                       prediction=prediction)


@torch.no_grad()
def layer_potentials(trace, layer, grid):
    """Potentials ``[n_out, n_t]`` of non-input ``layer`` (1 = first hidden) at the times
    ``grid``, without firing: :func:`model.neuron.potential` of the previous layer's spikes."""
    if not 1 <= layer < len(trace.times):
        raise ValueError(f"layer must lie in [1, {len(trace.times) - 1}], not {layer}")
    grid = torch.as_tensor(grid, dtype=torch.float64)
    return potential(grid, trace.times[layer - 1][None], trace.weights[layer - 1])[0]


def shown_neurons(samples, layer, count):
    """The ``count`` neurons of ``layer`` whose potentials :func:`plot_columns` draws, in
    index order: first those that fire in the last of the :class:`SampleTrace` s
    ``samples`` (the sparsest column when the columns go by growing ``gamma2``), by index,
    then those firing in the column before it, and so on, then silent ones by index; so the
    figure follows neurons that fire across the columns rather than neurons silent in all."""
    order = []
    for sample in reversed(samples):
        fired = torch.nonzero(torch.isfinite(sample.times[layer])).squeeze(1).tolist()
        order += [i for i in fired if i not in order]
    order += [i for i in range(samples[0].times[layer].numel()) if i not in order]
    return sorted(order[:count])


def _indices(neurons):
    return ", ".join(map(str, neurons))


def _layer_name(layer, layers):
    return "output" if layer == layers - 1 else f"hidden {layer}"


def _draw_raster(ax, times, name):
    fired = torch.isfinite(times)
    ax.scatter(times[fired].numpy(), torch.nonzero(fired).squeeze(1).numpy(), s=1.5)
    ax.set_title(f"{name}: {int(fired.sum())}/{times.numel()} spikes", fontsize=8)
    ax.set_ylim(-0.5, times.numel() - 0.5)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _draw_potentials(ax, trace, layer, neurons, points, highlight=None):
    grid = torch.linspace(0.0, trace.t_max, points, dtype=torch.float64)
    times, slopes = trace.times[layer], trace.slopes[layer - 1]
    v = layer_potentials(trace, layer, grid)
    for k, i in enumerate(neurons):
        t_i = float(times[i])
        # a neuron keeps its colour in every column
        style = ({"lw": 1.8, "color": "k"} if i == highlight
                 else {"lw": 0.8, "color": f"C{k % 10}"})
        if t_i == float("inf"):
            ax.plot(grid.numpy(), v[i].numpy(), **style)
            continue
        before = grid < t_i
        # end the line at the spike itself, not at the last grid point before it
        at_spike = layer_potentials(trace, layer, [t_i])[i]
        t_line = torch.cat([grid[before], grid.new_tensor([t_i])])
        line, = ax.plot(t_line.numpy(), torch.cat([v[i][before], at_spike]).numpy(), **style)
        after = torch.cat([grid.new_tensor([t_i]), grid[grid > t_i]])
        ax.plot(after.numpy(), (trace.threshold + slopes[i] * (after - t_i)).numpy(), ":",
                lw=0.8, color=line.get_color())
        ax.plot([t_i], [trace.threshold], "o", ms=2.5, color=line.get_color())
    ax.axhline(trace.threshold, ls="--", color="k", lw=0.6)


def plot_columns(networks, titles, image, label, out, *, traces=6, points=801):
    """One column per network for one image: spike rasters, then potentials, per layer.

    Parameters
    ----------
    networks : :class:`model.TTFSNetwork` s of the same architecture
    titles : one column title per network
    image : the image (28 x 28) and ``label`` its class
    out : PNG path, written atomically
    traces : how many hidden neurons per layer get their potentials drawn, the same in
        every column (runs trained from the same seed start from the same weights, so an
        index is comparable across columns): see :func:`shown_neurons`; all output neurons
        are drawn, the label's in black
    points : time points of each potential curve

    Returns the output path. Raises ``ValueError`` for no networks, a title count that
    differs, or architectures that differ.
    """
    if not networks:
        raise ValueError("no networks to plot")
    if len(titles) != len(networks):
        raise ValueError(f"need one title per network: {len(networks)} networks, "
                         f"{len(titles)} titles")
    archs = {tuple(net.config.arch) for net in networks}
    if len(archs) != 1:
        raise ValueError(f"networks must share one architecture, not "
                         f"{', '.join('-'.join(map(str, arch)) for arch in sorted(archs))}")
    if not 1 <= traces:
        raise ValueError(f"traces must be at least 1, not {traces}")
    plt = _pyplot()
    layers = len(networks[0].config.arch)
    rows = 2 * (layers - 1)
    fig, axes = plt.subplots(rows, len(networks), figsize=(3.2 * len(networks), 1.9 * rows),
                             squeeze=False, sharex=True, sharey="row")
    samples = [trace_sample(network, image) for network in networks]
    shown = {layer: shown_neurons(samples, layer, traces) for layer in range(1, layers - 1)}
    for column, (trace, title) in enumerate(zip(samples, titles)):
        for layer in range(1, layers):
            name = _layer_name(layer, layers)
            ax = axes[layer - 1, column]
            _draw_raster(ax, trace.times[layer], name)
            heading = ax.get_title() if layer > 1 else f"{title}\nlabel {label}, " \
                f"predicted {trace.prediction}\n{ax.get_title()}"
            ax.set_title(heading, fontsize=8 if layer > 1 else 9)
            ax = axes[layers - 2 + layer, column]
            count = trace.times[layer].numel()
            neurons = range(count) if layer == layers - 1 else shown[layer]
            _draw_potentials(ax, trace, layer, neurons, points,
                             highlight=label if layer == layers - 1 else None)
            if layer == layers - 1:
                ax.set_title(f"{name} potentials (label {label}: black)", fontsize=8)
            else:
                ax.set_title(f"{name}: neurons {_indices(neurons)}" if column == 0 else
                             f"{name}: the same neurons", fontsize=8)
    for layer in range(1, layers):
        axes[layer - 1, 0].set_ylabel("neuron")
        axes[layers - 2 + layer, 0].set_ylabel("potential")
        # silent neurons can sink far below 0 and continuations rise far above V_th
        threshold = float(networks[0].config.threshold)
        axes[layers - 2 + layer, 0].set_ylim(-1.5 * threshold, 3.0 * threshold)
    for ax in axes[-1]:
        ax.set_xlabel("time")
        ax.set_xlim(0, float(networks[0].config.t_max))
    fig.tight_layout()
    out = Path(out)
    atomic_write(out, lambda staged: fig.savefig(staged, dpi=120))
    plt.close(fig)
    return out
