"""The digital energy of runs side by side, as the Markdown tables of docs/energy_results.md.

Reads the ``report.json`` that ``ttfs energy`` wrote into each run (nothing is recomputed)
and prints, per run: energy per inference and per synaptic operation with the latency; the
five components; the energy by layer; the static term at the three leakage corners; the
comparison with published chips::

    .venv/bin/python benchmarks/energy_tables.py runs/NAME [runs/OTHER ...]
"""
import argparse
import json
from pathlib import Path

from flow.units import joules

COMPONENTS = ("weight_reads", "state_traffic", "arithmetic", "spike_routing", "static")


def _row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header, rows):
    return "\n".join([_row(header), _row(["---"] * len(header)), *map(_row, rows)])


def _per_run(reports):
    rows = []
    for name, doc in reports:
        d = doc["digital"]
        rows.append([name, f"{doc['accuracy']:.4f}", f"{doc['firing_rate']:.4f}",
                     f"{d['synaptic_operations']:.0f}", joules(d["energy_J"]["mean"]),
                     f"{d['energy_per_synop_J'] * 1e12:.3f}",
                     f"{d['dynamic_per_synop_J'] * 1e12:.3f}",
                     f"{d['latency_s']['mean'] * 1e6:.1f} us "
                     f"({d['latency_cycles']['mean']:.0f} cycles)"])
    return _table(["run", "accuracy", "firing rate", "synaptic ops", "digital per inference",
                   "pJ per SOP", "dynamic pJ per SOP", "latency"], rows)


def _components(reports):
    rows = []
    for name, doc in reports:
        d = doc["digital"]
        total, synops = d["energy_J"]["mean"], d["synaptic_operations"]
        rows.append([name] + [f"{joules(d['components_J'][c])} ({d['components_J'][c] / total:.1%}"
                              f", {d['components_J'][c] / synops * 1e12:.3f} pJ/SOP)"
                              for c in COMPONENTS])
    return _table(["run", *COMPONENTS], rows)


def _layers(reports):
    rows = []
    for name, doc in reports:
        d = doc["digital"]
        counts = {c["layer"]: c for c in doc["counts"]}
        for r in d["per_layer"]:
            layer = r["layer"]
            label = "logic" if layer is None else "input list" if layer == 0 else layer
            spikes = counts[layer - 1]["spikes"] if layer else None
            synops = counts[layer]["synaptic_operations"] if layer else None
            rows.append([name, label, "" if spikes is None else f"{spikes:.1f}",
                         "" if synops is None else f"{synops:.0f}",
                         *[joules(r[c]) for c in COMPONENTS], joules(r["total_J"]),
                         f"{r['total_J'] / d['energy_J']['mean']:.1%}"])
    return _table(["run", "layer", "input spikes", "synaptic ops", *COMPONENTS, "total",
                   "share"], rows)


def _static(reports):
    rows = []
    for name, doc in reports:
        s = doc["digital"]["static_range"]
        rows.append([name, joules(s["low"]["static_J"]), joules(s["nominal"]["static_J"]),
                     joules(s["high"]["static_J"]), joules(s["high"]["energy_J"]),
                     f"{s['high']['static_J'] / s['high']['energy_J']:.1%}",
                     f"{s['nominal']['static_J'] / s['nominal']['energy_J']:.1%}"])
    return _table(["run", "static low", "nominal", "high", "total at high",
                   "static share at high", "static share at nominal"], rows)


def _published(reports):
    rows = []
    for name, doc in reports:
        for p in doc["digital"]["published"]:
            rows.append([name, p["chip"], f"{p['node_nm']:g} nm", f"{p['value']:.3g} {p['unit']}",
                         f"{p['this_design']:.3g}", f"{p['ratio']:.3f}"])
    return _table(["run", "chip", "node", "published", "this design (45 nm)", "ratio"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories holding report.json")
    args = parser.parse_args()
    reports = [(Path(run).name, json.loads((Path(run) / "report.json").read_text()))
               for run in args.runs]
    for title, table in (("per inference", _per_run), ("components", _components),
                         ("per layer", _layers), ("static", _static),
                         ("published chips", _published)):
        print(f"### {title}\n\n{table(reports)}\n")


if __name__ == "__main__":
    main()
