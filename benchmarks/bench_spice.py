"""Speed of the SPICE neuron simulation: neurons per second for each level, and the largest
fan-in that still simulates in under a second.

Each neuron is built, simulated in ngspice (shared library, in the worker process of
:class:`hardware.spice.simulator.Simulator`) and measured; the time counted is the wall time
of all three (the transistor level's per-fan-in trims, four transients, are measured before
the clock starts). Random neurons: 6-bit weights in [-20, 32), spike steps uniform over the first half
of a K = 32 window with a fifth of the inputs silent, a threshold that makes most fire.

    .venv/bin/python benchmarks/bench_spice.py [--neurons 20] [--fan-in 100]
"""
import argparse
import time

import numpy as np

from hardware.spice import measure, netlist
from hardware.spice.simulator import Simulator

STEPS = 32
FAN_INS = (16, 64, 256, 784, 1568, 3136, 6272)


def random_neuron(rng, n_in, steps=STEPS):
    w = rng.integers(-20, 32, n_in)
    s = rng.integers(0, steps // 2, n_in)
    s[rng.random(n_in) < 0.2] = steps
    drive = max(1, int(w[(s <= steps - 2) & (w > 0)].sum()))
    return netlist.Neuron(w, s, max(1, int(drive * rng.uniform(1.0, 4.0))), steps)


def time_neurons(sim, level, n_in, count, seed=0):
    """Seconds per neuron (mean) and the largest error in steps over ``count`` neurons."""
    rng = np.random.default_rng(seed)
    neurons = [random_neuron(rng, n_in) for _ in range(count)]
    measure.simulate(neurons[0], level, sim)  # start the worker, warm the library
    start = time.perf_counter()
    errors = [measure.simulate(n, level, sim).error_steps for n in neurons]
    per_neuron = (time.perf_counter() - start) / count
    finite = [abs(e) for e in errors if e == e]
    return per_neuron, max(finite, default=0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=20, help="neurons per measurement")
    parser.add_argument("--fan-in", type=int, default=100, help="fan-in of the rate test")
    args = parser.parse_args()
    with Simulator(timeout_s=300) as sim:
        for level in netlist.LEVELS:
            per, err = time_neurons(sim, level, args.fan_in, args.neurons)
            print(f"{level:10s} fan-in {args.fan_in:4d}, K={STEPS}: {1 / per:7.2f} neurons/s "
                  f"({per * 1e3:.1f} ms each, max |error| {err:.4f} steps)")
        for level in netlist.LEVELS:
            largest = None
            for n_in in FAN_INS:
                per, err = time_neurons(sim, level, n_in, 3, seed=n_in)
                print(f"{level:10s} fan-in {n_in:5d}: {per:6.3f} s per neuron, "
                      f"max |error| {err:.4f} steps")
                if per < 1.0:
                    largest = n_in
                elif n_in >= 784:
                    break
            print(f"{level:10s} largest fan-in under 1 s: {largest}")


if __name__ == "__main__":
    main()
