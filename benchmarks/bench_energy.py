"""Digital energy per synaptic operation and per inference over lanes x bank size.

For each quantized run (``ttfs quantize``), simulates the first ``--samples`` test images
once with the reference simulator, counts the core's accesses for every lane count with
:func:`mapping.access.count_accesses` (the model that the RTL counters equal in
co-simulation, so no RTL run is needed per configuration) and prices them for every bank
size with the default cost table (45 nm). Prints one row per configuration, the energy split
by component in pJ per synaptic operation, and the best configuration of each run::

    nice -n 10 .venv/bin/python benchmarks/bench_energy.py runs/NAME [runs/OTHER ...]
    nice -n 10 .venv/bin/python benchmarks/bench_energy.py runs/NAME --lanes 4,8,16 \
        --bank-bytes 8192,32768 --samples 200
"""
import argparse

from flow import runs
from hardware import costs as cost_tables
from hardware import digital_energy
from mapping import access, allocation as allocation_io, network as network_io, reference
from model import data

TARGET_J = 3e-12
LANES = "1,2,4,8,16,32,64"
BANKS = "2048,8192,32768,131072"


def _ints(text):
    return [int(v) for v in text.split(",")]


def sweep(run_dir, *, lanes, banks, samples, table):
    """One row per (lanes, bank size): energies per synaptic operation and per inference."""
    network = network_io.load(run_dir)
    allocation = allocation_io.load(run_dir, network)
    split = data.load(runs.dataset_of(run_dir, network, hint="pass a run of ttfs train"), "test")
    trace = reference.simulate(network, reference.encode(network, split.images[:samples]))
    synops = trace.synops[:, 1:].sum(axis=1).mean()
    rows = []
    for lane in lanes:
        counts = access.count_accesses(network, allocation, trace, lanes=lane)
        cells, _ = digital_energy.estimate_logic_cells(network, allocation, lane)
        for bank in banks:
            priced = digital_energy.price(counts, table, bank_bytes=bank, logic_cells=cells,
                                          logic_source="rule")
            parts = {c: priced.component_J(c).mean() / synops for c in digital_energy.COMPONENTS}
            rows.append({"lanes": lane, "bank_bytes": bank, "synops": synops,
                         "per_synop_J": priced.total_J().mean() / synops,
                         "dynamic_per_synop_J": priced.dynamic_J.mean() / synops,
                         "per_inference_J": priced.total_J().mean(),
                         "high_static_per_inference_J": priced.total_J("high").mean(),
                         "latency_s": priced.latency_s.mean(), **parts})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="quantized run directories")
    parser.add_argument("--lanes", default=LANES, help=f"lane counts (default {LANES})")
    parser.add_argument("--bank-bytes", default=BANKS, help=f"bank sizes (default {BANKS})")
    parser.add_argument("--samples", type=int, default=1000, help="test images (default 1000)")
    args = parser.parse_args()
    table = cost_tables.load_costs()
    print(f"cost table {table.name}; pJ per synaptic operation, static at the nominal "
          f"leakage; banks below {table.sram.ref_bytes} B are extrapolated (a state memory or "
          f"spike list smaller than that is, whatever the bank size)")
    header = (f"{'lanes':>5} {'bank B':>7} {'pJ/SOP':>7} {'dyn':>6} {'weight':>6} "
              f"{'state':>6} {'arith':>6} {'route':>6} {'static':>6} {'nJ/inf':>8} "
              f"{'high-leak nJ':>12} {'us':>7}")
    for run in args.runs:
        rows = sweep(run, lanes=_ints(args.lanes), banks=_ints(args.bank_bytes),
                     samples=args.samples, table=table)
        print(f"\n{run}: {rows[0]['synops']:.0f} synaptic operations per inference "
              f"(first {args.samples} test images)")
        print(header)
        for r in rows:
            print(f"{r['lanes']:>5} {r['bank_bytes']:>7} {r['per_synop_J'] * 1e12:7.3f} "
                  f"{r['dynamic_per_synop_J'] * 1e12:6.3f} {r['weight_reads'] * 1e12:6.3f} "
                  f"{r['state_traffic'] * 1e12:6.3f} {r['arithmetic'] * 1e12:6.3f} "
                  f"{r['spike_routing'] * 1e12:6.3f} {r['static'] * 1e12:6.3f} "
                  f"{r['per_inference_J'] * 1e9:8.2f} "
                  f"{r['high_static_per_inference_J'] * 1e9:12.1f} {r['latency_s'] * 1e6:7.1f}")
        fitted = [r for r in rows if r["bank_bytes"] >= table.sram.ref_bytes]
        for label, pool in (("best", rows), ("best within the fitted range", fitted)):
            if pool:
                _print_best(label, min(pool, key=lambda r: r["per_synop_J"]),
                            table.sram.ref_bytes)


def _print_best(label, best, ref_bytes):
    verdict = "meets" if best["per_synop_J"] <= TARGET_J else "misses"
    where = (f"banks below {ref_bytes} B: extrapolated below the smallest published SRAM"
             if best["bank_bytes"] < ref_bytes else "within the fitted range")
    print(f"{label}: lanes {best['lanes']}, banks of {best['bank_bytes']} B ({where}): "
          f"{best['per_synop_J'] * 1e12:.3f} pJ per synaptic operation, "
          f"{best['per_inference_J'] * 1e9:.2f} nJ per inference; {verdict} the "
          f"{TARGET_J * 1e12:g} pJ target (state traffic {best['state_traffic'] * 1e12:.3f} "
          f"pJ of it)")

if __name__ == "__main__":
    main()
