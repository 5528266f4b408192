"""Cross-check of an exported NIR graph in simulators we did not write (Norse, snnTorch).

Our side is the model evaluated on the reader's time grid, ``dt = t_max / steps``: input
times rounded to the grid, and each neuron's ramp sampled at the steps,
``v_i(k) = dt sum_j w_ij max(0, k - k_j)``, firing at the first step with ``v_i(k) >= V_th``
(the float counterpart of the integer simulator's arithmetic, design section 3). The readers
raise the current in the step of the input spike and the potential by the current in that
same step, so their ``v_k`` is our ``v(k + 1)``: every layer fires one step earlier than on
our grid, and layer ``l`` (1 = first computing layer) at reader step ``k`` is our step
``k + l``. :func:`compare` accounts for that and reports how far the spike steps and the
predictions agree.
"""
import contextlib
import copy
import io
import warnings

import numpy as np
import torch

from .network import predict
from .nir_io import DT_S, metadata

READERS = ("norse", "snntorch")


def input_steps(input_times, *, t_max, steps):
    """Input spike times rounded to the grid: int64 steps, ``steps`` for no spike."""
    dt = t_max / steps
    times = torch.as_tensor(input_times, dtype=torch.float64)
    k = torch.round(times / dt)
    inside = torch.isfinite(times) & (k < steps)
    return torch.where(inside, k, torch.full_like(k, steps)).to(torch.int64)


def _layer_on_grid(in_steps, weight, *, threshold, dt, steps):
    batch, n_in = in_steps.shape
    n_out = weight.shape[0]
    increments = torch.zeros(batch * (steps + 1), n_out, dtype=torch.float64)
    b, j = torch.nonzero(in_steps < steps - 1, as_tuple=True)
    rows = b * (steps + 1) + in_steps[b, j] + 1  # a spike at step k adds to the slope from k + 1
    increments.index_add_(0, rows, weight.t()[j])
    slope = increments.view(batch, steps + 1, n_out)[:, :steps].cumsum(dim=1)
    v = slope.cumsum(dim=1) * dt
    fired = v >= threshold
    first = torch.where(fired.any(dim=1), fired.to(torch.int8).argmax(dim=1),
                        torch.full((batch, n_out), steps))
    return first, v[:, -1]


@torch.no_grad()
def grid_steps(network, in_steps, *, steps):
    """Our model on the grid: ``(steps of every computing layer, final output potentials)``;
    a step of ``steps`` means no spike."""
    config = network.config
    dt = config.t_max / steps
    result, current = [], in_steps
    for layer in network.layers:
        current, final = _layer_on_grid(current, layer.weight.detach().to(torch.float64),
                                        threshold=config.threshold, dt=dt, steps=steps)
        result.append(current)
    return result, final


def _load(graph, reader):
    graph = copy.deepcopy(graph)  # snnTorch's importer rewrites the graph it is given
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if reader == "norse":
            import norse.torch
            return norse.torch.from_nir(graph, dt=DT_S)
        from snntorch.import_nir import import_from_nir
        return import_from_nir(graph)


def _potential(module, output, reader):
    if reader == "norse":
        return output[1][1].v  # CubaLIF returns (z, (synapse state, LIFBox state))
    return module.mem  # snn.Synaptic with init_hidden keeps its state on the module


@torch.no_grad()
def reader_steps(graph, in_steps, *, reader, layers):
    """Simulate ``graph`` in a reader for ``steps`` steps; returns ``(first-spike steps of
    the CubaLIF nodes named lif1..lif<layers> in the reader's time, their spike counts,
    final potentials of the last one)``; a step of ``steps`` means no spike."""
    if reader not in READERS:
        raise ValueError(f"reader must be one of {', '.join(READERS)}, not {reader!r}")
    steps = int(metadata(graph)["steps"])
    net = _load(graph, reader)
    seen = {}
    hooks = [net.get_submodule(f"lif{index}").register_forward_hook(
        lambda module, args, output, index=index: seen.__setitem__(index, (module, output)))
        for index in range(1, layers + 1)]
    first, counts = [None] * layers, [0] * layers
    state, threads = None, torch.get_num_threads()
    # a step is a few small matrix products: more threads only add wake-ups (on two loaded
    # cores a step took 300 ms with two threads and 7 ms with one)
    torch.set_num_threads(1)
    try:
        for k in range(steps):
            _, state = net((in_steps == k).to(torch.float32), state)
            for index in range(1, layers + 1):
                module, output = seen[index]
                spikes = (output[0] if isinstance(output, tuple) else output) > 0
                if first[index - 1] is None:
                    first[index - 1] = torch.full(spikes.shape, steps, dtype=torch.int64)
                first[index - 1][spikes & (first[index - 1] == steps)] = k
                counts[index - 1] = counts[index - 1] + spikes.to(torch.int64)
        final = _potential(*seen[layers], reader).detach().to(torch.float64)
    finally:
        torch.set_num_threads(threads)
        for hook in hooks:
            hook.remove()
    return first, counts, final


def _as_times(step_array, steps):
    times = step_array.to(torch.float64)
    return torch.where(step_array >= steps, torch.full_like(times, float("inf")), times)


def _tally(totals, index, mine, other, counts, steps):
    both = (mine < steps) & (other < steps)
    same = (mine == steps) & (other == steps)
    diff = (mine - other).abs()
    totals["equal"][index] += int((same | (both & (diff == 0))).sum())
    totals["within"][index] += int((same | (both & (diff <= 1))).sum())
    totals["count"][index] += mine.numel()
    totals["only_one"][index] += int(((mine < steps) ^ (other < steps)).sum())
    totals["fired"][index] += int((mine < steps).sum())
    totals["most_spikes"][index] = max(totals["most_spikes"][index], int(counts.max()))
    if both.any():
        totals["max"][index] = max(totals["max"][index], int(diff[both].max()))


def compare(network, graph, images, *, reader, labels=None, batch_size=500):
    """Compare first-spike steps and predictions of ``graph`` in ``reader`` with our model
    on the same grid, on ``images``; returns a JSON-ready dict of the figures."""
    steps = int(metadata(graph)["steps"])
    config = network.config
    layers = len(network.layers)
    totals = {key: np.zeros(layers, dtype=np.int64)
              for key in ("equal", "within", "count", "max", "only_one", "fired", "most_spikes")}
    preds = {"exact": [], "grid": [], "reader": []}
    for start in range(0, len(images), batch_size):
        times = network.encode(images[start:start + batch_size])
        ks = input_steps(times, t_max=config.t_max, steps=steps)
        ours, our_final = grid_steps(network, ks, steps=steps)
        theirs, counts, their_final = reader_steps(graph, ks, reader=reader, layers=layers)
        for index, (mine, other) in enumerate(zip(ours, theirs)):
            # the reader fires one step ahead per layer: its step + (index + 1) is ours
            _tally(totals, index, mine, torch.clamp(other + index + 1, max=steps),
                   counts[index], steps)
        out = torch.clamp(theirs[-1] + layers, max=steps)
        preds["grid"].append(predict(_as_times(ours[-1], steps), our_final))
        preds["reader"].append(predict(_as_times(out, steps), their_final))
        with torch.no_grad():
            exact = network(times)
            preds["exact"].append(predict(exact[-1], network.final_potentials(exact[-2])))
    preds = {key: torch.cat(value) for key, value in preds.items()}
    report = {
        "reader": reader, "samples": len(images), "steps": steps, "dt": config.t_max / steps,
        "layers": [{"neurons": int(network.config.arch[i + 1]),
                    "fired": int(totals["fired"][i]),
                    "spike_steps_equal": float(totals["equal"][i] / totals["count"][i]),
                    "spike_steps_within_one": float(totals["within"][i] / totals["count"][i]),
                    "max_step_difference": int(totals["max"][i]),
                    "fired_in_one_only": int(totals["only_one"][i]),
                    "max_spikes_per_neuron": int(totals["most_spikes"][i])}
                   for i in range(layers)],
        "prediction_agreement": float((preds["grid"] == preds["reader"]).float().mean()),
        "exact_grid_agreement": float((preds["grid"] == preds["exact"]).float().mean()),
    }
    if labels is not None:
        labels = torch.as_tensor(np.array(labels), dtype=torch.int64)
        report["accuracy"] = {key: float((value == labels).float().mean())
                              for key, value in preds.items()}
    return report
