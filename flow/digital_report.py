"""The digital part of the energy report: accesses counted by :mod:`mapping.access`, priced
by :mod:`hardware.digital_energy`, laid out so that every energy recomputes from its counts
and cost entries (``report.json`` keeps both), and rendered as Markdown.
"""
import json
import math
from pathlib import Path

import numpy as np

from hardware import digital_energy, energy
from hardware.digital_energy import COMPONENTS
from mapping import access
from mapping import network as network_io

from . import published
from .units import joules as _j

SYNTH_FILE = "synth.json"
COMPONENT_LABELS = {"weight_reads": "weight reads", "state_traffic": "state traffic",
                    "arithmetic": "arithmetic", "spike_routing": "spike routing",
                    "static": "static (nominal)"}


def synth_record(run_dir, network, lanes):
    """``(doc, note)``: ``synth.json`` (``ttfs synth``) when it describes this network at
    ``lanes``, else ``(None, why it is not used)``; ``(None, None)`` when there is none.

    Raises ValueError for a file that is not a synthesis record.
    """
    run_dir = Path(run_dir)
    path = run_dir / SYNTH_FILE
    if not path.is_file():
        return None, None
    remedy = f"rerun `ttfs synth {run_dir}`"
    try:
        doc = json.loads(path.read_text())
        cells, fmax, design = doc["cells"], doc["fmax_MHz"], doc["design"]
        built = {key: design[key] for key in ("sizes", "weight_bits", "steps", "lanes")}
        built["skip_idle"] = design.get("skip_idle")   # absent: exported before the skipping
        built["wake_step"] = design.get("wake_step")   # absent: a live bit per group
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a synthesis record (missing or unreadable: {exc}): "
                         f"{remedy}") from None
    if not isinstance(cells, int) or isinstance(cells, bool) or cells < 0:
        raise ValueError(f"{path}: cells must be a non-negative integer, not {cells!r}: {remedy}")
    if fmax is not None and (isinstance(fmax, bool) or not isinstance(fmax, (int, float))
                             or not math.isfinite(fmax) or fmax <= 0):
        raise ValueError(f"{path}: fmax_MHz must be a positive number or null, not {fmax!r}: "
                         f"{remedy}")
    want = {"sizes": list(network.sizes), "weight_bits": network.weight_bits,
            "steps": network.steps,
            "lanes": list(access.lanes_per_layer(lanes, len(network.layers))),
            "skip_idle": True,   # the access model's core, as `ttfs export-verilog` builds it
            "wake_step": True}
    if built != want:
        differ = ", ".join(f"{k} {built[k]} (this report: {want[k]})" for k in want
                           if built[k] != want[k])
        return None, (f"{SYNTH_FILE} not used: it describes another design ({differ}); "
                      f"`ttfs export-verilog {run_dir} --lanes ...` and `ttfs synth` for it")
    if path.stat().st_mtime < (run_dir / network_io.NETWORK_FILE).stat().st_mtime:
        return None, (f"{SYNTH_FILE} not used: older than {network_io.NETWORK_FILE} (it may "
                      f"describe an earlier network): {remedy}")
    return doc, None


def logic_size(record, note, network, allocation, lanes):
    """``(cells, description)``: the synthesized cell count of ``record`` (from
    :func:`synth_record`), else the stated rule (with ``note`` saying why)."""
    if record is None:
        cells, rule = digital_energy.estimate_logic_cells(network, allocation, lanes)
        return cells, rule + (f" ({note})" if note else "")
    cells = record["cells"]
    return cells, (f"{SYNTH_FILE}: {cells} cells synthesized for target "
                   f"{record.get('target', '?')}, each priced as one gate although a cell may be "
                   f"a 4-input LUT worth several (logic leakage likely under-priced); memories "
                   f"priced as SRAM bits, not as cells")


def clock(record, note, costs):
    """``(clock_Hz, description)``: the Fmax that place and route achieved in ``record``
    (from :func:`synth_record`), else the cost table's ``clock_Hz`` (with why)."""
    if record is not None and record["fmax_MHz"] is not None:
        fmax = record["fmax_MHz"]
        seed = (record.get("pnr") or {}).get("seed")
        return fmax * 1e6, (
            f"{SYNTH_FILE}: the maximum clock frequency that place and route achieved for "
            f"{record.get('target', '?')} {record.get('device') or ''}".rstrip()
            + f" ({fmax:.2f} MHz" + (f", nextpnr seed {seed}" if seed is not None else "")
            + "); the per-access and leakage figures stay those of the cost table, so the "
              "static term prices that table's devices for the FPGA's latency")
    table = costs.costs["clock_Hz"]
    if record is not None:
        note = (f"{SYNTH_FILE} (target {record.get('target', '?')}) has no Fmax: only "
                f"`ttfs synth --target ice40` places and routes")
    return table.value, (f"cost table clock_Hz ({table.source})"
                         + (f"; {note}" if note else ""))


def _mean(values):
    return float(np.mean(values))


def _breakdown(priced, key):
    """Mean energy per component of the items grouped by ``key(item)``, SRAM leakage
    attributed to its memory (logic leakage is not attributable: key ``None``)."""
    rows = {}
    for item in priced.items:
        row = rows.setdefault(key(item), dict.fromkeys(COMPONENTS, 0.0))
        row[item.component] += _mean(item.energy_J)
        if item.capacity_bytes is not None:
            row["static"] += _mean(priced.sram_static_J(item))
    logic = _mean(priced.static_J()) - sum(row["static"] for row in rows.values())
    rows.setdefault(None, dict.fromkeys(COMPONENTS, 0.0))["static"] += logic
    for row in rows.values():
        row["total_J"] = sum(row[c] for c in COMPONENTS)
    return rows


def _item_json(item):
    doc = {"name": item.name, "kind": item.kind, "component": item.component,
           "layer": item.layer, "core": item.core, "width_bits": item.width_bits}
    if item.capacity_bytes is None:
        doc.update(op_J=item.read_J, count=_mean(item.reads))
    else:
        doc.update(capacity_bytes=item.capacity_bytes, banks=item.banks,
                   bank_bytes=item.bank_bytes, read_J=item.read_J, write_J=item.write_J,
                   reads=_mean(item.reads), writes=_mean(item.writes))
    doc["energy_J"] = _mean(item.energy_J)
    return doc


def _extrapolation(priced, costs):
    """How much of the energy rests on banks below the smallest published SRAM."""
    low = priced.extrapolated
    if not low:
        return {"memories": 0, "detail": "no bank is smaller than the smallest published SRAM"}
    sram = costs.sram
    clamped = sum(_mean(i.reads + i.writes * costs["sram_write_per_read"])
                  * sram.read_J(sram.ref_bytes, i.width_bits) for i in low)
    smallest = min(i.bank_bytes for i in low)
    return {"memories": len(low), "smallest_bank_bytes": smallest,
            "factor_below": sram.ref_bytes / smallest,
            "energy_J": sum(_mean(i.energy_J) for i in low),
            "energy_if_priced_at_smallest_point_J": clamped,
            "detail": f"{len(low)} memories have banks below {sram.ref_bytes} bytes (down to "
                      f"{smallest:g} bytes, {sram.ref_bytes / smallest:.3g}x below): priced by "
                      f"extrapolating the fit"}


def build(network, allocation, trace, costs, *, lanes, bank_bytes, run_dir, dataset):
    """The digital part of ``report.json`` and the per-sample nominal totals."""
    counts = access.count_accesses(network, allocation, trace, lanes=lanes)
    record, note = synth_record(run_dir, network, lanes)
    cells, source = logic_size(record, note, network, allocation, lanes)
    clock_Hz, clock_source = clock(record, note, costs)
    priced = digital_energy.price(counts, costs, bank_bytes=bank_bytes, logic_cells=cells,
                                  logic_source=source, clock_Hz=clock_Hz)
    synops = float(trace.synops[:, 1:].sum(axis=1).mean())
    by_layer = _breakdown(priced, lambda i: i.layer)
    by_core = _breakdown(priced, lambda i: (i.layer, i.core))
    sram = costs.sram
    part = {
        **_totals(priced, synops),
        "clock_Hz": clock_Hz, "clock_source": clock_source, "lanes": lanes, "bank_bytes": bank_bytes,
        "beats": {"input": _mean(counts.input_beats), "output": _mean(counts.output_beats),
                  "priced": False},
        "per_layer": [{"layer": layer, **row} for layer, row in sorted(
            by_layer.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))],
        "per_core": [{"layer": k[0], "core": k[1], **row} for k, row in by_core.items()
                     if k is not None],
        "memories": [_item_json(i) for i in priced.items if i.capacity_bytes is not None],
        "ops": [_item_json(i) for i in priced.items if i.capacity_bytes is None],
        "sram_model": {"e_ref_J": sram.e_ref_J, "exponent": sram.exponent,
                       "ref_bytes": sram.ref_bytes,
                       "points": [{"capacity_bytes": c, "published_J": e, "fitted_J": f,
                                   "error": f / e - 1} for c, e, f in sram.points]},
        "extrapolation": _extrapolation(priced, costs),
        "costs": costs.to_json(),
    }
    node = costs.costs["sram_read_64b_8KB_J"].node_nm
    part["published"] = published.comparison(part["energy_per_synop_J"],
                                              part["energy_J"]["mean"], node)
    part["published_note"] = (published.__doc__.split("\n\n")[1].replace("\n", " ")
                              + ("" if dataset == "mnist" else f" The MNIST inference row "
                                 f"compares with a {dataset} run."))
    return part, priced.total_J()


def _totals(priced, synops):
    """Energy statistics, components, the static range and the per-operation figures."""
    total = _mean(priced.total_J())
    return {
        "energy_J": energy.statistics(priced.total_J()),
        "dynamic_J": energy.statistics(priced.dynamic_J),
        "static_J": energy.statistics(priced.static_J()),
        "components_J": {c: _mean(priced.component_J(c)) for c in COMPONENTS},
        "static_range": {corner: {"power_W": priced.static_W[corner],
                                  "static_J": _mean(priced.static_J(corner)),
                                  "energy_J": _mean(priced.total_J(corner))}
                         for corner in ("low", "nominal", "high")},
        "stored_bits": priced.stored_bits, "logic_cells": priced.logic_cells,
        "logic_source": priced.logic_source,
        "synaptic_operations": synops,
        "energy_per_synop_J": total / synops if synops else None,
        "dynamic_per_synop_J": _mean(priced.dynamic_J) / synops if synops else None,
        "latency_cycles": energy.statistics(priced.cycles),
        "latency_s": energy.statistics(priced.latency_s),
    }


def _ratio(value):
    return "n/a" if value is None else f"{value:.3g}"


def _pj(value):
    return "n/a" if value is None else f"{value * 1e12:.3g} pJ"


def _layer_name(layer):
    return "logic (whole design)" if layer is None else (
        "input spike list" if layer == 0 else f"layer {layer}")


def markdown(part):
    """The digital sections of ``report.md``."""
    c, r = part["components_J"], part["static_range"]
    lines = ["## Digital core: where the energy goes", "",
             f"Energy per synaptic operation: **{_pj(part['energy_per_synop_J'])}** "
             f"(dynamic only {_pj(part['dynamic_per_synop_J'])}) over "
             f"{part['synaptic_operations']:.1f} synaptic operations per inference; lanes "
             f"{part['lanes']}, memories built from banks of at most {part['bank_bytes']} bytes.",
             "", f"Latency: mean {part['latency_cycles']['mean']:.1f} cycles = "
             f"{part['latency_s']['mean'] * 1e6:.4g} us at {part['clock_Hz'] / 1e6:g} MHz "
             f"(cycles of the access model, which the RTL counters equal in co-simulation; "
             f"clock: {part['clock_source']}).", "",
             "| component | mean per inference | share |", "|---|---|---|"]
    total = part["energy_J"]["mean"]
    for key, value in c.items():
        lines.append(f"| {COMPONENT_LABELS[key]} | {_j(value)} | "
                     f"{value / total:.1%} |" if total else f"| {key} | {_j(value)} | |")
    lines += ["", "Static power over the leakage range (stored bits "
              f"{part['stored_bits']}, logic cells {part['logic_cells']}: {part['logic_source']}):",
              "", "| corner | static power | static energy | total energy | static share |",
              "|---|---|---|---|---|"]
    for corner, row in r.items():
        lines.append(f"| {corner} | {row['power_W']:.4g} W | {_j(row['static_J'])} | "
                     f"{_j(row['energy_J'])} | {row['static_J'] / row['energy_J']:.1%} |")
    lines += ["", "Per layer (mean per inference; static: leakage of the layer's memories, "
              "logic leakage on its own row):", "",
              "| layer | " + " | ".join(COMPONENT_LABELS[k] for k in COMPONENTS) + " | total |",
              "|---" * (len(COMPONENTS) + 2) + "|"]
    for row in part["per_layer"]:
        lines.append(f"| {_layer_name(row['layer'])} | " + " | ".join(
            _j(row[k]) for k in COMPONENTS) + f" | {_j(row['total_J'])} |")
    lines += ["", "Memories (per access: one bank of the stated size, one word):", "",
              "| memory | kind | capacity | banks x bank | word | read | write | reads | "
              "writes | energy |", "|---|---|---|---|---|---|---|---|---|---|"]
    for m in part["memories"]:
        lines.append(f"| {m['name']} | {m['kind']} | {m['capacity_bytes']:g} B | {m['banks']} x "
                     f"{m['bank_bytes']:g} B | {m['width_bits']} b | {_pj(m['read_J'])} | "
                     f"{_pj(m['write_J'])} | {m['reads']:.1f} | {m['writes']:.1f} | "
                     f"{_j(m['energy_J'])} |")
    lines += ["", "| operation | kind | width | energy each | count | energy |",
              "|---|---|---|---|---|---|"]
    for o in part["ops"]:
        lines.append(f"| {o['name']} | {o['kind']} | {o['width_bits']} b | {_pj(o['op_J'])} | "
                     f"{o['count']:.1f} | {_j(o['energy_J'])} |")
    s = part["sram_model"]
    lines += ["", f"SRAM model: E(64-bit read) = {_pj(s['e_ref_J'])} x (capacity / "
              f"{s['ref_bytes']} B)^{s['exponent']:.4f}, times word bits / 64. Error at the "
              "published points: " + ", ".join(
                  f"{p['capacity_bytes']} B {_pj(p['published_J'])} -> {_pj(p['fitted_J'])} "
                  f"({p['error']:+.1%})" for p in s["points"]) + ".", "",
              f"Extrapolation: {part['extrapolation']['detail']}"]
    if part["extrapolation"]["memories"]:
        e = part["extrapolation"]
        lines[-1] += (f"; they cost {_j(e['energy_J'])} per inference, "
                      f"{_j(e['energy_if_priced_at_smallest_point_J'])} if priced at the "
                      f"smallest published point instead (an upper bound).")
    lines += ["", f"Input and output beats ({part['beats']['input']:.1f} and "
              f"{part['beats']['output']:.1f} per inference) are not priced.", "",
              "## Against published chips", "", part["published_note"], "",
              "| chip | node | published | this design (45 nm model) | ratio | what the figure "
              "includes | source |", "|---|---|---|---|---|---|---|"]
    for p in part["published"]:
        unit = p["unit"].replace("J per ", "per ")
        lines.append(f"| {p['chip']} | {p['node_nm']} nm | {_j(p['value'])} {unit} | "
                     f"{_j(p['this_design'])} | {_ratio(p['ratio'])} | {p['includes']} | "
                     f"{p['source']} |")
    return lines
