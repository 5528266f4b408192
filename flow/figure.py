"""Figures like the paper's: one sample's spikes and potentials per layer (its Fig. 2) and
accuracy against firing rate (its Figs. 3 and 4). Uses matplotlib's Agg backend."""
from pathlib import Path

import torch

from model.files import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@torch.no_grad()
def plot_sample(network, image, label, out, *, traces=12, points=801):
    """Raster plot and membrane potentials of one sample for every layer, written to ``out``.

    Left column: spike times of every neuron of each layer (input first). Right column:
    potentials of up to ``traces`` neurons of each non-input layer, drawn until they fire
    (a dot marks the spike), with the threshold dashed. Returns the output path.
    """
    plt = _pyplot()
    config = network.config
    times = network(network.encode(image[None]))
    grid = torch.linspace(0.0, config.t_max, points)
    rows = len(times)
    fig, axes = plt.subplots(rows, 2, figsize=(11, 2.2 * rows), squeeze=False)
    for layer, layer_times in enumerate(times):
        t = layer_times[0]
        fired = torch.isfinite(t)
        ax = axes[layer, 0]
        ax.scatter(t[fired].numpy(), torch.nonzero(fired).squeeze(1).numpy(), s=2)
        name = "input" if layer == 0 else ("output" if layer == rows - 1 else f"hidden {layer}")
        ax.set_title(f"{name}: {int(fired.sum())}/{t.numel()} spikes", fontsize=9)
        ax.set_xlim(0, config.t_max)
        ax.set_ylim(-0.5, t.numel() - 0.5)
        ax.set_ylabel("neuron")
        ax = axes[layer, 1]
        if layer == 0:
            ax.set_title(f"label {label}", fontsize=9)
            ax.imshow(torch.as_tensor(image).reshape(28, 28).numpy(), cmap="gray")
            ax.set_axis_off()
            continue
        v = torch.einsum("oi,it->ot", network.layers[layer - 1].weight,
                         (grid[None, :] - times[layer - 1][0][:, None]).clamp(min=0))
        shown = range(t.numel()) if rows - 1 == layer else range(min(traces, t.numel()))
        for i in shown:
            before = grid <= t[i]
            line, = ax.plot(grid[before].numpy(), v[i][before].numpy(), lw=0.8)
            if fired[i]:
                ax.plot([float(t[i])], [config.threshold], "o", ms=3, color=line.get_color())
        ax.axhline(config.threshold, ls="--", color="k", lw=0.6)
        ax.set_xlim(0, config.t_max)
        ax.set_ylabel("potential")
    axes[-1, 0].set_xlabel("time")
    axes[-1, 1].set_xlabel("time")
    fig.tight_layout()
    out = Path(out)
    atomic_write(out, lambda staged: fig.savefig(staged, dpi=120))
    plt.close(fig)
    return out


def plot_tradeoff(rows, out, *, title=""):
    """Test accuracy against firing rate, one panel per hidden layer plus the mean.

    ``rows`` are dicts with ``label`` (series name), ``test_accuracy``, ``firing_rate``
    (list per hidden layer) and ``firing_rate_mean``; points of a series are joined in order
    of firing rate. Rows that also hold ``test_accuracy_std``, ``firing_rate_std`` and
    ``firing_rate_mean_std`` (as :func:`flow.sweep.aggregate` writes) get error bars of
    that size. Returns the output path.
    """
    plt = _pyplot()
    if not rows:
        raise ValueError("no finished runs to plot")
    n_hidden = len(rows[0]["firing_rate"])
    fig, axes = plt.subplots(1, n_hidden + 1, figsize=(3.6 * (n_hidden + 1), 3.4),
                             squeeze=False)
    series = sorted({row["label"] for row in rows})
    for panel in range(n_hidden + 1):
        ax = axes[0, panel]
        for name in series:
            points = sorted(
                (row["firing_rate_mean"] if panel == n_hidden else row["firing_rate"][panel],
                 100 * row["test_accuracy"],
                 row.get("firing_rate_mean_std", 0.0) if panel == n_hidden
                 else row.get("firing_rate_std", [0.0] * n_hidden)[panel],
                 100 * row.get("test_accuracy_std", 0.0))
                for row in rows if row["label"] == name)
            x, y, x_err, y_err = zip(*points)
            if any(x_err) or any(y_err):
                ax.errorbar(x, y, xerr=x_err, yerr=y_err, fmt="o-", ms=4, capsize=2,
                            label=name)
            else:
                ax.plot(x, y, "o-", ms=4, label=name)
        ax.set_xlabel("firing rate (spikes/neuron/sample)")
        heading = "mean over hidden layers" if panel == n_hidden else f"hidden layer {panel + 1}"
        ax.set_title(heading, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[0, -1].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = Path(out)
    atomic_write(out, lambda staged: fig.savefig(staged, dpi=120))
    plt.close(fig)
    return out
