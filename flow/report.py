"""Readable energy reports: ``report.json`` plus Markdown pages with matplotlib plots.

:func:`write_report` renders the dict of :func:`flow.energy_cmd.evaluate` into a run
directory; :func:`write_comparison` puts several such reports side by side. Plots are drawn
on a bare :class:`matplotlib.figure.Figure`, so no display or global backend is touched.
"""
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mapping import validate as check
from mapping.files import atomic_write, write_text

from . import digital_report
from .units import joules

REPORT_FILE = "report.json"
REPORT_SCHEMA_VERSION = 2
KIND_LABELS = {
    "synop_J": "synaptic operations", "membrane_update_J": "membrane updates",
    "spike_J": "spikes", "synapse_switch_J": "synapse switching",
    "synapse_current_J": "synaptic current", "idle_J": "idle (per window)",
    "wait_J": "comparator bias while waiting",
}
COMPARISON_SCHEMA_VERSION = 1


def _save(figure, path):
    figure.tight_layout()
    return atomic_write(path, lambda staged: figure.savefig(staged, dpi=120))


def load_report(run_dir):
    """Read ``report.json`` of a run; the message says to run ``ttfs energy`` otherwise."""
    path = Path(run_dir) / REPORT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `ttfs energy {run_dir}` first")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}): rerun `ttfs energy {run_dir}`") from None
    if not isinstance(doc, dict) or doc.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise ValueError(f"{path}: not a report of schema version {REPORT_SCHEMA_VERSION} "
                         f"(version 2 prices the digital core access by access): rerun "
                         f"`ttfs energy {run_dir}`")
    try:
        check_report(doc, path)
    except check.ArtifactError as exc:
        raise ValueError(f"{exc}: rerun `ttfs energy {run_dir}`") from None
    return doc


def check_report(doc, path):
    """Raise :class:`~mapping.validate.ArtifactError` unless every member of ``report.json``
    that a comparison reads has its type and range."""
    for name in ("run", "dataset"):
        check.string(check.member(doc, name, path), path, name)
    check.integer(check.member(doc, "samples", path), path, "samples", lo=1)
    check.number(check.member(doc, "accuracy", path), path, "accuracy", lo=0, hi=1)
    check.number(check.member(doc, "firing_rate", path), path, "firing_rate", lo=0)
    per_sample = check.mapping(check.member(doc, "per_sample", path), path, "per_sample")
    if not check.numbers(check.member(per_sample, "spikes", path, "per_sample"), path,
                         "per_sample.spikes", lo=0):
        raise check.ArtifactError(f"{path}: per_sample.spikes must not be empty")
    counts = check.sequence(check.member(doc, "counts", path), path, "counts")
    for i, layer in enumerate(counts):
        check.number(check.member(layer, "spikes", path, f"counts[{i}]"), path,
                     f"counts[{i}].spikes", lo=0)
    for part in ("digital", "analog"):
        section = check.mapping(check.member(doc, part, path), path, part)
        if "missing" in section:
            continue
        energy_J = check.mapping(check.member(section, "energy_J", path, part), path,
                                 f"{part}.energy_J")
        check.number(check.member(energy_J, "mean", path, f"{part}.energy_J"), path,
                     f"{part}.energy_J.mean", lo=0)
        layers = check.sequence(check.member(section, "per_layer", path, part), path,
                                f"{part}.per_layer")
        for i, row in enumerate(layers):
            # digital rows: layer 0 is the input spike list, None the logic leakage
            layer = check.member(row, "layer", path, f"{part}.per_layer[{i}]")
            if not (part == "digital" and layer is None):
                check.integer(layer, path, f"{part}.per_layer[{i}].layer",
                              lo=0 if part == "digital" else 1, hi=len(counts) - 1)
            check.number(check.member(row, "total_J", path, f"{part}.per_layer[{i}]"), path,
                         f"{part}.per_layer[{i}].total_J", lo=0)


def plot_breakdown(doc, path):
    """Mean energy per inference per layer: digital by event kind, and analog, side by side."""
    digital = doc["digital"]["per_layer"]
    names = [{None: "logic", 0: "input"}.get(row["layer"], f"layer {row['layer']}")
             for row in digital]
    fig = Figure(figsize=(10.4, 4.0))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    x, bottom = np.arange(len(digital)), np.zeros(len(digital))
    for kind, label in digital_report.COMPONENT_LABELS.items():
        values = np.array([row[kind] for row in digital]) * 1e9
        left.bar(x, values, 0.6, bottom=bottom, label=label)
        bottom += values
    left.set_xticks(x, names)
    left.set_ylabel("energy per inference (nJ)")
    left.set_title(f"digital ({doc['digital']['costs']['name']}, lanes "
                   f"{doc['digital']['lanes']}, banks <= {doc['digital']['bank_bytes']} B)",
                   fontsize=9)
    left.legend(fontsize=7)
    analog = doc["analog"]
    if "missing" in analog:
        right.text(0.5, 0.5, "analog: missing\n(run `ttfs spice`)", ha="center", va="center",
                   transform=right.transAxes)
        right.set_axis_off()
    else:
        x = np.arange(len(analog["per_layer"]))
        bottom = np.zeros(len(x))
        for kind in analog["kinds"]:
            values = np.array([row[kind] for row in analog["per_layer"]]) * 1e9
            if values.any():
                right.bar(x, values, 0.6, bottom=bottom, label=KIND_LABELS.get(kind, kind))
                bottom += values
        right.set_xticks(x, [f"layer {row['layer']}" for row in analog["per_layer"]])
        right.set_ylabel("energy per inference (nJ)")
        right.set_title("analog (SPICE)", fontsize=9)
        right.legend(fontsize=8)
    fig.suptitle(f"{doc['run']}: mean energy per inference by layer", fontsize=10)
    return _save(fig, path)


def plot_energy_vs_spikes(doc, path):
    """Energy of each inference against its spike count (digital and analog)."""
    per = doc["per_sample"]
    spikes = np.asarray(per["spikes"])
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    ax.scatter(spikes, np.asarray(per["digital_J"]) * 1e9, s=6, label="digital")
    if per["analog_J"] is not None:
        ax.scatter(spikes, np.asarray(per["analog_J"]) * 1e9, s=6, label="analog (SPICE)")
    ax.set_xlabel("spikes per inference (hidden and output layers)")
    ax.set_ylabel("energy per inference (nJ)")
    ax.set_title(f"{doc['run']}: energy against spikes, {doc['samples']} samples", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _stats_row(name, part):
    if "missing" in part:
        return f"| {name} | missing: {part['missing']} | | |"
    e = part["energy_J"]
    return f"| {name} | {joules(e['mean'])} | {joules(e['median'])} | {joules(e['p95'])} |"


def markdown(doc):
    """The Markdown page of one report (plots referenced by file name)."""
    digital, analog = doc["digital"], doc["analog"]
    lines = [f"# Energy report: {doc['run']}", "",
             f"- samples: {doc['sample_selection']}",
             f"- network: {'-'.join(map(str, doc['network']['sizes']))}, "
             f"{doc['network']['weight_bits']}-bit weights, K = {doc['network']['steps']} steps",
             f"- accuracy on these samples: {doc['accuracy']:.4f}",
             f"- firing rate: {doc['firing_rate']:.4f} spikes per hidden neuron per sample", "",
             "## Energy per inference", "",
             "| implementation | mean | median | 95th percentile |", "|---|---|---|---|",
             _stats_row(f"digital core ({digital['costs']['name']})", digital),
             _stats_row("analog neuron (SPICE)", analog), ""]
    ratio = doc["analog_to_digital_ratio"]
    nodes = sorted({c["node_nm"] for c in digital["costs"]["costs"].values()})
    layer_J = {row["layer"]: row["total_J"] for row in digital["per_layer"]}
    technology = analog.get("model", {}).get("technology", {}).get("name", "n/a")
    lines += [f"Analog / digital (means): {'n/a' if ratio is None else f'{ratio:.4g}'} "
              f"(digital priced at {', '.join(f'{n:g}' for n in nodes)} nm, analog simulated "
              f"in technology {technology}: different processes, so the ratio compares two "
              f"designs, not two nodes).", ""]
    lines += digital_report.markdown(digital)
    lines += ["", "## Per-layer totals (mean per inference)", "",
              "| layer | synaptic ops | membrane updates | spikes | digital total (without "
              "logic leakage) | analog total |", "|---|---|---|---|---|---|"]
    analog_layers = analog.get("per_layer") or [None] * (len(doc["counts"]) - 1)
    for counts, a in zip(doc["counts"][1:], analog_layers):
        lines.append(f"| {counts['layer']} | {counts['synaptic_operations']:.1f} | "
                     f"{counts['membrane_updates']:.1f} | {counts['spikes']:.2f} | "
                     f"{joules(layer_J.get(counts['layer']))} | "
                     f"{joules(a['total_J']) if a else 'n/a'} |")
    lines += ["", "![energy per layer](energy_breakdown.png)", "",
              "![energy against spikes](energy_vs_spikes.png)", "",
              "## Event counts (NeuroBench names, mean per sample)", "",
              "| layer | neurons | spikes per neuron | activation sparsity | synaptic operations | "
              "dense synaptic operations | membrane updates |", "|---|---|---|---|---|---|---|"]
    for c in doc["counts"]:
        lines.append(f"| {c['layer']} | {c['neurons']} | {c['spikes_per_neuron']:.4f} | "
                     f"{c['activation_sparsity']:.6f} | {c['synaptic_operations']:.1f} | "
                     f"{c['dense_synaptic_operations']} | {c['membrane_updates']:.1f} |")
    cosim = doc["checks"]["cosim"]
    lines += ["", "## Checks", "",
              f"- RTL co-simulation counters against the reference simulator: "
              f"**{cosim['status']}**: {cosim['detail']}", "",
              "## Analog per-event energies", ""]
    if "model" in analog:
        m = analog["model"]
        lines += ["", f"Analog model ({analog['source']}): per neuron and window, idle "
                  f"{joules(m['e_idle_J'])}, comparator bias {m['p_static_W']:.4g} W while "
                  f"waiting, spike {joules(m['e_spike_J'])} + "
                  f"{joules(m['e_spike_per_unit_J'])} per weight unit of the neuron; per "
                  f"delivered synapse c0 + c1 |w| + c2 q with q the charge its DAC delivers "
                  f"and (c0, c1, c2) = "
                  f"({', '.join(f'{c:.4g}' for c in m['synop_sourcing'])}) sourcing and "
                  f"({', '.join(f'{c:.4g}' for c in m['synop_sinking'])}) sinking "
                  f"(J, J per unit, V)."]
        lines += ["", "| layer | synaptic events | " + " | ".join(
            KIND_LABELS.get(k, k) for k in analog["kinds"]) + " | total |",
            "|---" * (len(analog["kinds"]) + 3) + "|"]
        for row in analog["per_layer"]:
            lines.append(f"| {row['layer']} | {row['synaptic_events']:.1f} | " + " | ".join(
                joules(row[k]) for k in analog["kinds"]) + f" | {joules(row['total_J'])} |")
    lines += ["", "## Cost table", "", "| entry | value (low - high) | node | source |",
              "|---|---|---|---|"]
    for key, c in digital["costs"]["costs"].items():
        span = f" ({c['low']:.4g} - {c['high']:.4g})" if "low" in c else ""
        lines.append(f"| {key} | {c['value']:.4g}{span} | {c['node_nm']} nm | {c['source']} |")
    return "\n".join(lines) + "\n"


def write_report(doc, directory):
    """Write ``report.json``, ``report.md`` and the plots into ``directory``; returns paths."""
    directory = Path(directory)
    paths = [write_text(directory / REPORT_FILE, json.dumps(doc, indent=1) + "\n")]
    paths.append(plot_breakdown(doc, directory / "energy_breakdown.png"))
    paths.append(plot_energy_vs_spikes(doc, directory / "energy_vs_spikes.png"))
    paths.append(write_text(directory / "report.md", markdown(doc)))
    return paths


def _layer_rows(doc):
    """Per computing layer: the spikes it receives and its mean energies."""
    analog = doc["analog"].get("per_layer")
    digital = {row["layer"]: row["total_J"] for row in doc["digital"]["per_layer"]}
    return [{"layer": c["layer"], "input_spikes": doc["counts"][c["layer"] - 1]["spikes"],
             "digital_J": digital.get(c["layer"]),
             "analog_J": analog[i]["total_J"] if analog else None}
            for i, c in enumerate(doc["counts"][1:])]


def comparison(docs):
    """Side-by-side figures of several reports, with energy ratios to the first."""
    if not docs:
        raise ValueError("a comparison needs at least one report")
    first = docs[0]
    rows = []
    for doc in docs:
        row = {"run": doc["run"], "dataset": doc["dataset"], "samples": doc["samples"],
               "accuracy": doc["accuracy"], "firing_rate": doc["firing_rate"],
               "spikes": float(np.mean(doc["per_sample"]["spikes"]))}
        for part in ("digital", "analog"):
            mean = None if "missing" in doc[part] else doc[part]["energy_J"]["mean"]
            base = None if "missing" in first[part] else first[part]["energy_J"]["mean"]
            row[f"{part}_J"] = mean
            row[f"{part}_ratio"] = (mean / base if mean is not None and base else None)
        row["digital_per_synop_J"] = doc["digital"]["energy_per_synop_J"]
        row["digital_static_range_J"] = {k: v["static_J"] for k, v in
                                         doc["digital"]["static_range"].items()}
        row["layers"] = _layer_rows(doc)
        rows.append(row)
    for row in rows:
        for mine, base in zip(row["layers"], rows[0]["layers"]):
            for key in ("input_spikes", "digital_J", "analog_J"):
                mine[f"{key}_ratio"] = (mine[key] / base[key] if mine[key] is not None
                                        and base[key] else None)
    base_spikes = rows[0]["spikes"]
    for row in rows:
        row["spike_ratio"] = row["spikes"] / base_spikes if base_spikes else None
    return {"schema_version": COMPARISON_SCHEMA_VERSION, "baseline": first["run"], "runs": rows}


def _ratio(value):
    return "n/a" if value is None else f"{value:.3f}"


#: What the analog column of a comparison holds, printed under it.
ANALOG_SCOPE = ("analog: the analog neuron's energy per inference (`analog_energy.json` of "
                "each run: the per-event model fitted to transistor-level SPICE, generic "
                "180 nm): synapse switching, the DACs' charge (synaptic current times how "
                "long it flows), spikes, comparators waiting, idle; without weight storage, "
                "bias generation or membrane reset. digital: the 45 nm core of the cost "
                "table, weight memory included. Different processes and boundaries: compare "
                "each column down, not across.")


def comparison_markdown(comp):
    lines = [f"# Comparison against {comp['baseline']}", "",
             "| run | data set | samples | accuracy | firing rate | spikes | digital | ratio | "
             "digital per synop | analog | ratio | spike ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in comp["runs"]:
        lines.append(f"| {r['run']} | {r['dataset']} | {r['samples']} | {r['accuracy']:.4f} | "
                     f"{r['firing_rate']:.4f} | {r['spikes']:.1f} | {joules(r['digital_J'])} | "
                     f"{_ratio(r['digital_ratio'])} | {joules(r['digital_per_synop_J'])} | "
                     f"{joules(r['analog_J'])} | "
                     f"{_ratio(r['analog_ratio'])} | {_ratio(r['spike_ratio'])} |")
    if any(r["analog_J"] is not None for r in comp["runs"]):
        lines += ["", ANALOG_SCOPE]
    lines += ["", "Per layer (mean per inference; in parentheses, the ratio to the first run):",
              "", "| run | layer | input spikes | digital | analog |", "|---|---|---|---|---|"]
    for r in comp["runs"]:
        for layer in r["layers"]:
            lines.append(
                f"| {r['run']} | {layer['layer']} | {layer['input_spikes']:.1f} "
                f"({_ratio(layer['input_spikes_ratio'])}) | {joules(layer['digital_J'])} "
                f"({_ratio(layer['digital_J_ratio'])}) | {joules(layer['analog_J'])} "
                f"({_ratio(layer['analog_J_ratio'])}) |")
    lines += ["", "Ratios are to the first run. ![energy and firing rate against accuracy]"
              "(compare.png)"]
    return "\n".join(lines) + "\n"


def plot_comparison(comp, path):
    """Energy and firing rate against accuracy, one point per run."""
    fig = Figure(figsize=(9.6, 4.0))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for r in comp["runs"]:
        name = Path(r["run"]).name or r["run"]
        for part, marker in (("digital", "o"), ("analog", "s")):
            if r[f"{part}_J"] is not None:
                left.scatter(r["accuracy"], r[f"{part}_J"] * 1e9, marker=marker)
                left.annotate(f"{name} ({part})", (r["accuracy"], r[f"{part}_J"] * 1e9),
                              fontsize=7)
        right.scatter(r["accuracy"], r["firing_rate"])
        right.annotate(name, (r["accuracy"], r["firing_rate"]), fontsize=7)
    left.set_xlabel("accuracy")
    left.set_ylabel("energy per inference (nJ)")
    if any(r[f"{p}_J"] for r in comp["runs"] for p in ("digital", "analog")):
        left.set_yscale("log")
    right.set_xlabel("accuracy")
    right.set_ylabel("firing rate (spikes per hidden neuron)")
    return _save(fig, path)


def write_comparison(docs, directory):
    """Write ``compare.json``, ``compare.md`` and ``compare.png`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    comp = comparison(docs)
    return comp, [write_text(directory / "compare.json", json.dumps(comp, indent=1) + "\n"),
                  write_text(directory / "compare.md", comparison_markdown(comp)),
                  plot_comparison(comp, directory / "compare.png")]
