"""``ttfs energy``: energy per inference of a run over real test samples.

:func:`evaluate` reads the run's integer network and core allocation (``ttfs quantize``),
simulates the first ``samples`` test images with :mod:`mapping.reference` (the source of
every event count), and prices them twice: the digital core access by access (the memory
reads and writes, adds and compares and cycles that :func:`mapping.access.count_accesses`
counts for ``lanes``, priced by :mod:`hardware.digital_energy` with a version-2 cost table,
memories split into banks of at most ``bank_bytes``, leakage over the latency at the
clock that place and route achieved when ``synth.json`` (``ttfs synth --target ice40``)
describes this design, else at the table's clock), and the analog neuron with the per-event energies characterized in SPICE
(``analog_energy.json``, ``ttfs spice``). Where a co-simulation record exists
(``cosim*.json``, ``ttfs cosim``), its counters are checked against the reference counts of
the same samples; a disagreement is a failed check (exit status 1). A missing SPICE artifact
leaves the analog part marked missing, with the command that produces it; nothing is
estimated in its place.
"""
import json
from pathlib import Path

import numpy as np

from hardware import costs as cost_tables
from hardware import energy
from hardware.digital_energy import DEFAULT_BANK_BYTES
from hardware.rtl.scoreboard import ACCESS_PREFIX, expected_counters
from mapping import access
from mapping import allocation as allocation_io
from mapping import network as network_io
from mapping import reference
from mapping import validate
from model import data

from . import digital_report, report, runs
from .rtl_cmd import DEFAULT_LANES

REPORT_SCHEMA_VERSION = report.REPORT_SCHEMA_VERSION
DEFAULT_SAMPLES = 1000


def _summary(result, **per_layer_extra):
    """Statistics of an :class:`~hardware.energy.InferenceEnergy` and its per-layer means by
    kind; ``per_layer_extra`` adds per-layer lists of more fields."""
    layers = []
    for l in range(result.per_layer_J.shape[1]):
        row = {"layer": l + 1, **{k: float(v[:, l].mean()) for k, v in result.per_kind_J.items()},
               "total_J": float(result.per_layer_J[:, l].mean())}
        row.update({key: values[l] for key, values in per_layer_extra.items()})
        layers.append(row)
    return {
        "energy_J": energy.statistics(result.total_J),
        "dynamic_J": energy.statistics(result.per_layer_J.sum(axis=1)),
        "static_J": energy.statistics(result.static_J),
        "kinds": list(result.per_kind_J),
        "per_layer": layers,
    }


def _analog(run_dir, network, trace):
    """The analog part of the report and the per-sample totals (None when missing)."""
    model, description = analog_model(run_dir)
    if model is None:
        return {"missing": description}, None
    result, events = energy.analog_inference_energy(model, network, trace)
    part = _summary(result, synaptic_events=events.mean(axis=0).tolist())
    part.update(source=description, model=model.to_json())
    return part, result.total_J


def evaluate(run_dir, *, samples=DEFAULT_SAMPLES, costs=None, dataset=None, data_dir=None,
             lanes=DEFAULT_LANES, bank_bytes=DEFAULT_BANK_BYTES):
    """The energy report of one run, as the JSON-ready dict written to ``report.json``.

    Parameters
    ----------
    run_dir : run directory holding ``network.json``, ``weights.npz`` and ``allocation.json``
    samples : how many test samples, from the first
    costs : path of a cost table (default: :data:`hardware.costs.DEFAULT_COSTS`)
    dataset : the data set to draw samples from (default: the one the run was trained on)
    data_dir : data directory (default: ``$TTFS_DATA`` or ``./data``)
    lanes : neurons per core word (an int, or one per computing layer), as ``ttfs cosim``
    bank_bytes : largest SRAM bank a memory is built from, in bytes

    Raises
    ------
    FileNotFoundError, ValueError
        for a missing run, a missing or corrupt artifact, or a bad cost table; the message
        names the file and the command that makes it.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory: run `ttfs train` and "
                                f"`ttfs quantize` first")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, not {samples!r}")
    network = network_io.load(run_dir)
    allocation = allocation_io.load(run_dir, network)
    table = cost_tables.load_costs(costs)
    dataset = dataset or runs.dataset_of(run_dir, network, hint="pass --dataset")
    split = data.load(dataset, "test", root=data_dir)
    runs.check_classes(network, split, dataset)
    n = min(samples, len(split.labels))
    trace = reference.simulate(network, reference.encode(network, split.images[:n]))
    correct = trace.prediction == split.labels[:n]
    hidden = network.sizes[1:-1] or network.sizes[1:]
    rate_cols = trace.spikes[:, 1:len(hidden) + 1] / np.asarray(hidden, dtype=np.float64)

    check = cosim_check(run_dir, network, split, allocation)
    digital, digital_total = digital_report.build(
        network, allocation, trace, table, lanes=lanes, bank_bytes=bank_bytes, run_dir=run_dir,
        dataset=dataset)
    analog, analog_total = _analog(run_dir, network, trace)
    ratio = (analog["energy_J"]["mean"] / digital["energy_J"]["mean"]
             if analog_total is not None and digital["energy_J"]["mean"] > 0 else None)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "run": str(run_dir),
        "dataset": dataset,
        "samples": n,
        "sample_selection": f"the first {n} images of the {dataset} test split",
        "network": {"sizes": network.sizes, "weight_bits": network.weight_bits,
                    "steps": network.steps},
        "accuracy": float(correct.mean()),
        "firing_rate": float(rate_cols.mean()),
        "counts": energy.neurobench_counts(trace, network.sizes),
        "digital": digital,
        "analog": analog,
        "analog_to_digital_ratio": ratio,
        "checks": {"cosim": check},
        "per_sample": {
            "spikes": trace.spikes[:, 1:].sum(axis=1).tolist(),
            "correct": correct.tolist(),
            "digital_J": digital_total.tolist(),
            "analog_J": analog_total.tolist() if analog_total is not None else None,
        },
    }


def _run(args):
    from .energy_stage import EnergyConfig, energy

    result = energy(args.run, EnergyConfig(samples=args.samples, costs=args.costs,
                                           dataset=args.dataset, data_dir=args.data_dir,
                                           lanes=_lanes(args.lanes),
                                           bank_bytes=args.bank_bytes))
    doc, paths = result.doc, result.paths
    digital = doc["digital"]["energy_J"]
    print(f"{doc['samples']} {doc['dataset']} test samples, accuracy {doc['accuracy']:.4f}, "
          f"firing rate {doc['firing_rate']:.4f} spikes per hidden neuron")
    part = doc["digital"]
    static = part["static_range"]
    print(f"digital: mean {digital['mean'] * 1e9:.3f} nJ, median {digital['median'] * 1e9:.3f} "
          f"nJ, p95 {digital['p95'] * 1e9:.3f} nJ per inference, "
          f"{part['energy_per_synop_J'] * 1e12:.3f} pJ per synaptic operation (lanes "
          f"{part['lanes']}, banks <= {part['bank_bytes']} B); static "
          f"{static['nominal']['static_J'] * 1e9:.3f} nJ nominal, "
          f"{static['low']['static_J'] * 1e9:.4g} - {static['high']['static_J'] * 1e9:.4g} nJ "
          f"over the leakage range; latency {part['latency_s']['mean'] * 1e6:.2f} us at "
          f"{part['clock_Hz'] / 1e6:.4g} MHz")
    print(f"clock: {part['clock_source']}")
    if "missing" in doc["analog"]:
        print(f"analog: {doc['analog']['missing']}")
    else:
        analog = doc["analog"]["energy_J"]
        print(f"analog: mean {analog['mean'] * 1e9:.3f} nJ, median {analog['median'] * 1e9:.3f} "
              f"nJ, p95 {analog['p95'] * 1e9:.3f} nJ per inference; analog/digital "
              f"{doc['analog_to_digital_ratio']:.4g}")
    cosim = doc["checks"]["cosim"]
    print(f"co-simulation counters: {cosim['status']} ({cosim['detail']})")
    for path in paths:
        print(f"wrote {path}")
    return 1 if cosim["status"] == "failed" else 0


def _lanes(text):
    """``--lanes``: one integer for every layer, or one per layer (``8,8,4``)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--lanes takes an integer or one per layer, not {text!r}") from None
    return values[0] if len(values) == 1 else tuple(values)


def add_parser(subparsers):
    p = subparsers.add_parser("energy", help="energy per inference of a run (report.json, report.md)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run directory (runs/NAME) with a quantized network")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"test samples to evaluate, from the first (default {DEFAULT_SAMPLES})")
    p.add_argument("--costs", default=None,
                   help="cost table JSON, schema version 2 (default: the Horowitz ISSCC 2014 "
                        "45 nm table with CACTI-derived leakage)")
    p.add_argument("--lanes", default=str(DEFAULT_LANES),
                   help=f"neurons per core word, an integer or one per layer as 8,8,4 "
                        f"(default {DEFAULT_LANES}, as ttfs cosim)")
    p.add_argument("--bank-bytes", type=int, default=DEFAULT_BANK_BYTES,
                   help=f"largest SRAM bank in bytes; larger memories are split into banks "
                        f"(default {DEFAULT_BANK_BYTES}, the smallest published SRAM)")
    p.add_argument("--dataset", choices=data.DATASETS, default=None,
                   help="data set (default: the one the run was trained on)")
    p.add_argument("--data-dir", default=None,
                   help="data directory (default: $TTFS_DATA or ./data)")
    p.set_defaults(handler=_run)


COUNTERS = ("spikes", "synops", "membrane_updates")


def _read_json(path, remedy):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}): {remedy}") from None


def cosim_check(run_dir, network, split, allocation=None):
    """Compare the co-simulation counters of ``cosim*.json`` with the reference counts, and
    its access counters and cycles (records that name their ``lanes``) with
    :func:`mapping.access.count_accesses` of the same samples on ``allocation``.

    Records older than ``network.json`` are ignored (listed under ``stale``): they may come
    from an earlier network of the same run. Returns a dict with ``status`` (``passed``,
    ``failed`` or ``missing``), ``detail``, ``records`` (one per file: simulator, samples,
    mismatches), ``stale`` and ``latency_cycles`` (statistics over the co-simulated samples,
    or None).
    """
    network_time = (Path(run_dir) / network_io.NETWORK_FILE).stat().st_mtime
    found = sorted(Path(run_dir).glob("cosim*.json"))
    paths = [p for p in found if p.stat().st_mtime >= network_time]
    stale = [p.name for p in found if p not in paths]
    if not paths:
        why = (f"only records older than network.json ({', '.join(stale)}), which may belong "
               f"to another network" if stale else "no cosim.json")
        return {"status": "missing", "records": [], "latency_cycles": None, "stale": stale,
                "detail": f"{why} in {run_dir}: run `ttfs cosim {run_dir}` to check "
                          f"the RTL counters and measure the latency"}
    records, cycles, failures, docs = [], [], [], []
    for path in paths:
        remedy = f"rerun `ttfs cosim {run_dir}`"
        doc = _read_json(path, remedy)
        docs.append(doc)
        try:
            samples = _cosim_samples(doc, path, len(network.sizes))
        except validate.ArtifactError as exc:
            raise ValueError(f"{exc}: not a co-simulation record: {remedy}") from None
        indices = np.array([s["index"] for s in samples], dtype=np.int64)
        if indices.size and indices.max() >= len(split.labels):
            raise ValueError(f"{path}: sample indices outside the test split: {remedy}")
        trace = reference.simulate(network, reference.encode(network, split.images[indices]))
        wrong = _access_mismatches(doc, samples, network, allocation, trace)
        for row, sample in enumerate(samples):
            for name in COUNTERS:
                want = getattr(trace, name)[row].tolist()
                got = sample[name]
                if got != want:
                    wrong.append(f"sample {sample['index']} {name}: RTL {got}, reference {want}")
            if sample["cycles"] is not None:
                cycles.append(sample["cycles"])
        failures += [f"{path.name}: {w}" for w in wrong]
        records.append({"file": path.name, "simulator": doc.get("simulator"),
                        "samples": indices.tolist(), "mismatches": wrong})
    checked = sum(len(r["samples"]) for r in records)
    access_checked = all(_has_access(doc) for doc in docs)
    status = "failed" if failures else "passed"
    detail = (f"{len(failures)} counter mismatches, first: {failures[0]}" if failures else
              f"spikes, synaptic operations and membrane updates equal the reference"
              f"{' and every access counter and the cycles equal the access model' if access_checked else ''} on "
              f"{checked} co-simulated samples ({', '.join(r['file'] for r in records)})")
    if stale:
        detail += f"; ignored records older than network.json: {', '.join(stale)}"
    return {"status": status, "detail": detail, "records": records, "stale": stale,
            "latency_cycles": energy.statistics(cycles) if cycles else None}


def _has_access(doc):
    """Whether a co-simulation record holds access counters and the lanes they were run at."""
    samples = doc.get("per_sample") if isinstance(doc, dict) else None
    return (isinstance(doc.get("lanes"), (int, list)) and isinstance(samples, list)
            and all(isinstance(s.get("counters"), dict) and "spikes" in s for s in samples))


def _access_mismatches(doc, samples, network, allocation, trace):
    """Access counters and cycles of a record that differ from the access model."""
    if allocation is None or not _has_access(doc):
        return []
    lanes = doc["lanes"] if isinstance(doc["lanes"], int) else tuple(doc["lanes"])
    counts = access.count_accesses(network, allocation, trace, lanes=lanes)
    wrong = []
    for row, sample in enumerate(samples):
        want = expected_counters(trace, counts, row)
        got = {**sample["ports"], "cycles": sample["cycles"]}
        wrong += [f"sample {sample['index']} {port}: RTL {got.get(port)}, model {value}"
                  for port, value in want.items()
                  if (port.startswith(ACCESS_PREFIX) or port == "cycles")
                  and got.get(port) != value]
    return wrong


def _cosim_samples(doc, path, n_layers):
    """The per-sample counter records of a co-simulation document, each member checked.

    Records sit under ``per_sample`` (the RTL bench's results) or ``samples``; each holds
    the counters (directly, as the RTL bench writes them beside its access ``counters``,
    returned as ``ports``, or else under ``counters``), ``cycles``, and either ``index`` (the
    test-set index) or ``sample`` (the position in the batch, mapped through the document's
    ``indices`` or ``sample_indices`` when present, else the test-set index itself). Each
    counter is a list of one non-negative integer per layer (``n_layers``, input first).
    """
    validate.mapping(doc, path)
    samples = doc.get("per_sample", doc.get("samples"))
    samples = validate.sequence(samples, path, "per_sample (or samples)")
    indices = doc.get("indices", doc.get("sample_indices"))
    if indices is not None:
        indices = validate.integers(indices, path, "indices", lo=0)
    out = []
    for row, sample in enumerate(samples):
        where = f"per_sample[{row}]"
        sample = validate.mapping(sample, path, where)
        counters = sample  # the RTL bench's records; its "counters" are the access counters
        ports = sample.get("counters")
        if not all(name in sample for name in COUNTERS):
            ports = None
            counters = validate.mapping(validate.member(sample, "counters", path, where), path,
                                        f"{where}.counters")
        if "index" in sample:
            index = validate.integer(sample["index"], path, f"{where}.index", lo=0)
        else:
            position = validate.integer(validate.member(sample, "sample", path, where), path,
                                        f"{where}.sample", lo=0)
            if indices is not None and position >= len(indices):
                raise validate.ArtifactError(f"{path}: {where}.sample {position} is beyond "
                                             f"the {len(indices)} indices")
            index = indices[position] if indices is not None else position
        cycles = counters.get("cycles", sample.get("cycles"))
        if cycles is not None:
            cycles = validate.integer(cycles, path, f"{where}.cycles", lo=0)
        out.append({"index": index, "cycles": cycles,
                    "ports": ports if isinstance(ports, dict) else {}, **{
            name: validate.integers(validate.member(counters, name, path, where), path,
                                    f"{where}.{name}", length=n_layers, lo=0)
            for name in COUNTERS}})
    return out


def analog_model(run_dir):
    """The SPICE-fitted energy model of ``analog_energy.json`` (``ttfs spice``).

    Returns ``(AnalogEnergies, description)``, or ``(None, what to run)`` when the file is
    absent.
    """
    path = Path(run_dir) / "analog_energy.json"
    if not path.is_file():
        return None, (f"no analog_energy.json in {run_dir}: run `ttfs spice {run_dir}` to "
                      f"characterize the analog neuron")
    from hardware.spice import energy_model
    try:
        model = energy_model.load(path)
    except ValueError as exc:
        raise ValueError(f"{exc}: rerun `ttfs spice {run_dir}`") from None
    held_out = model.fit.get("held_out", {}) if isinstance(model.fit, dict) else {}
    error = (f", held-out rms error of the fit {held_out['rms_rel']:.2%}"
             if "rms_rel" in held_out else "")
    return model, (f"{path.name}: transistor-level SPICE fit, technology "
                   f"{model.technology.get('name', '?')}{error}")
