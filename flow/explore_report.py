"""The table and Pareto fronts of a search (``explore.csv``, ``explore.md``, ``pareto.png``).

A finished point is on the front of accuracy against a cost (digital energy per inference,
or latency) when no other finished point has at least its accuracy at a lower cost, or a
higher accuracy at the same cost. Accuracy is the integer network's, the one the hardware
computes; ties in both keep the first point in search order.
"""
import csv
import io
import math
from pathlib import Path

from model.files import atomic_write, write_text

from .explore_space import DIMENSIONS

__all__ = ["pareto_front", "write_report", "COLUMNS"]

#: Columns of ``explore.csv`` (SI units), in order.
COLUMNS = ("trial", "train_name", *DIMENSIONS, "status", "float_accuracy", "int_accuracy",
           "test_samples", "energy_J", "static_J", "analog_energy_J", "latency_s",
           "latency_cycles", "firing_rate", "synops", "energy_samples", "cosim", "trained",
           "train_s", "quantize_s", "cosim_s", "energy_s", "front_energy", "front_latency",
           "error")
#: The costs a front is drawn against: (row key, label, scale to the plotted unit).
COSTS = {"energy_J": ("digital energy per inference (nJ)", 1e9),
         "latency_s": ("latency per inference (us)", 1e6)}


def pareto_front(rows, cost):
    """The finished rows on the front of ``int_accuracy`` (higher is better) against
    ``rows[i][cost]`` (lower is better), from the cheapest up."""
    done = [(row[cost], -row["int_accuracy"], i, row) for i, row in enumerate(rows)
            if row.get("status") == "done"]
    front, best = [], -math.inf
    for _, negative, _, row in sorted(done, key=lambda item: item[:3]):
        if -negative > best:
            front.append(row)
            best = -negative
    return front


def _csv(rows, fronts):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    names = _names(fronts)
    for row in rows:
        writer.writerow({**row, "front_energy": row["trial"] in names["energy_J"],
                         "front_latency": row["trial"] in names["latency_s"]})
    return buffer.getvalue()


def _names(fronts):
    return {key: {row["trial"] for row in front} for key, front in fronts.items()}


def _cells(row, names):
    point = [f"{row[name]:g}" if isinstance(row[name], float) else str(row[name])
             for name in DIMENSIONS]
    if row["status"] != "done":
        error = row["error"].replace("|", "/")
        return [row["trial"], *point, f"{row['status']}: {error}", *[""] * 8]
    marks = "".join(mark for key, mark in (("energy_J", "E"), ("latency_s", "L"))
                    if row["trial"] in names[key])
    return [row["trial"], *point, "done" if row["cosim"] != "failed" else "cosim failed",
            f"{100 * row['float_accuracy']:.2f}", f"{100 * row['int_accuracy']:.2f}",
            f"{row['energy_J'] * 1e9:.4g}", _nano(row.get("analog_energy_J")),
            f"{row['latency_s'] * 1e6:.4g}",
            f"{row['firing_rate']:.3f}", f"{row['synops']:.0f}", marks]


def _nano(joules):
    return "n/a" if joules is None else f"{joules * 1e9:.4g}"


def _front_lines(front, key):
    label, scale = COSTS[key]
    lines = [f"| trial | integer accuracy (%) | {label} |", "|---|---|---|"]
    lines += [f"| {row['trial']} | {100 * row['int_accuracy']:.2f} | "
              f"{row[key] * scale:.4g} |" for row in front]
    return lines


def _markdown(rows, fronts, title):
    done = [row for row in rows if row["status"] == "done"]
    header = ["trial", *DIMENSIONS, "status", "float accuracy (%)", "integer accuracy (%)",
              "energy (nJ)", "analog energy (nJ)", "latency (us)", "hidden firing rate",
              "synaptic ops", "front"]
    lines = [f"# Design-space search: {title}", "",
             f"{len(done)} of {len(rows)} points finished. Accuracy of the integer network "
             f"on {done[0]['test_samples'] if done else '?'} test images; energy (digital, "
             f"mean per inference), analog energy (the analog neuron's, mean per "
             f"inference, where the trial was priced with an analog_energy.json), latency "
             f"and firing rate (spikes per hidden neuron) from the energy report on "
             f"{done[0]['energy_samples'] if done else '?'} test images. front: E = on the "
             f"accuracy-(digital) energy front, L = on the accuracy-latency front.", "",
             "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    names = _names(fronts)
    lines += ["| " + " | ".join(_cells(row, names)) + " |" for row in rows]
    for key, name in (("energy_J", "energy per inference"), ("latency_s", "latency")):
        lines += ["", f"## Pareto front: accuracy against {name}", ""]
        lines += _front_lines(fronts[key], key) if fronts[key] else ["(no finished point)"]
    return "\n".join(lines) + "\n"


def _plot(rows, fronts, out, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [row for row in rows if row["status"] == "done"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    regs = sorted({row["reg"] for row in done})
    for ax, (key, (label, scale)) in zip(axes, COSTS.items()):
        for reg in regs:
            points = [(row[key] * scale, 100 * row["int_accuracy"]) for row in done
                      if row["reg"] == reg]
            ax.plot(*zip(*points), "o", ms=5, alpha=0.7, label=reg)
        front = [(row[key] * scale, 100 * row["int_accuracy"], row["trial"])
                 for row in fronts[key]]
        if front:
            x, y, names = zip(*front)
            ax.step(x, y, where="post", color="k", lw=1, label="Pareto front")
            for xi, yi, name in front:
                ax.annotate(name, (xi, yi), fontsize=6, xytext=(3, -8),
                            textcoords="offset points")
        costs = [row[key] for row in done]
        if costs and min(costs) > 0 and max(costs) / min(costs) > 10:
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("integer test accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{title}: accuracy against energy and latency", fontsize=10)
    fig.tight_layout()
    atomic_write(out, lambda staged: fig.savefig(staged, dpi=120))
    plt.close(fig)
    return out


def write_report(rows, out, *, title):
    """Write ``explore.csv``, ``explore.md`` and (with a finished point) ``pareto.png``
    into ``out``; returns their paths."""
    out = Path(out)
    fronts = {key: pareto_front(rows, key) for key in COSTS}
    paths = [write_text(out / "explore.csv", _csv(rows, fronts)),
             write_text(out / "explore.md", _markdown(rows, fronts, title))]
    if any(row["status"] == "done" for row in rows):
        paths.append(_plot(rows, fronts, out / "pareto.png", title))
    return paths
