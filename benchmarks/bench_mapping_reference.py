"""Speed of the integer reference simulator on the MNIST test set.

Runs the test images through an integer network and prints wall and CPU time. The network is
either a saved one (``--network runs/NAME``, e.g. written by ``ttfs quantize``) or a random
``784-400-400-400-10`` network of 8-bit weights whose thresholds are set so that every
hidden layer fires at ``--rate`` spikes per neuron per sample (the paper reports about 0.5
without and 0.2 with sparse-firing regularization; ``--rate 1`` is the worst case)::

    nice -n 10 .venv/bin/python benchmarks/bench_mapping_reference.py --rate 0.5
    nice -n 10 .venv/bin/python benchmarks/bench_mapping_reference.py --network runs/NAME
"""
import argparse
import time

import numpy as np

from mapping import network as netmod
from mapping import reference
from mapping.network import InputEncoding, IntLayer, IntNetwork
from model import data

ARCH = (784, 400, 400, 400, 10)


def random_network(rate, *, steps=256, t_max=8.0, seed=0, probe=None):
    """8-bit random weights (positive mean); thresholds tuned on ``probe`` images to ``rate``."""
    rng = np.random.default_rng(seed)
    dt = t_max / steps
    encoding = InputEncoding(tau_in=1.0, zero_silent=True)
    spikes = reference.encode_steps(probe, encoding, dt=dt, steps=steps)
    layers = []
    for index, (n_in, n_out) in enumerate(zip(ARCH[:-1], ARCH[1:])):
        weight = np.clip(np.round(rng.normal(12, 40, size=(n_out, n_in))), -127, 127)
        weight = weight.astype(np.int64)
        target = rate if index < len(ARCH) - 2 else 1.0
        lo, hi = 1, 1 << 24
        while lo < hi:
            theta = (lo + hi + 1) // 2
            fired = (reference.run_layer(weight, theta, steps, spikes)[0] < steps).mean()
            lo, hi = (theta, hi) if fired >= target else (lo, theta - 1)
        layers.append(IntLayer(weight, lo))
        spikes = reference.run_layer(weight, lo, steps, spikes)[0]
    return IntNetwork(layers=tuple(layers), weight_bits=8, steps=steps, dt=dt, encoding=encoding)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", help="directory of a saved integer network")
    parser.add_argument("--rate", type=float, default=0.5,
                        help="hidden firing rate of the random network (default 0.5)")
    parser.add_argument("--samples", type=int, default=10000, help="test samples (default all)")
    parser.add_argument("--dataset", default="mnist")
    args = parser.parse_args()
    test = data.load(args.dataset, "test")
    images, labels = test.images[:args.samples], test.labels[:args.samples]
    if args.network:
        net = netmod.load(args.network)
        label = args.network
    else:
        train = data.load(args.dataset, "train")
        net = random_network(args.rate, probe=train.images[:300])
        label = f"random 784-400-400-400-10, 8-bit, K=256, hidden rate target {args.rate}"
    x = reference.encode(net, images)
    wall, cpu = time.perf_counter(), time.process_time()
    trace = reference.simulate(net, x)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rates = trace.spikes.mean(axis=0) / np.array(net.sizes)
    print(f"network: {label} ({'-'.join(map(str, net.sizes))}, K={net.steps})")
    print(f"samples: {len(x)}; wall {wall:.2f} s; cpu {cpu:.2f} s; {len(x) / wall:.0f} samples/s")
    print("spikes per sample per layer: " + " ".join(f"{s:.1f}" for s in trace.spikes.mean(axis=0)))
    print("firing rate per layer: " + " ".join(f"{r:.3f}" for r in rates))
    print(f"accuracy against labels: {100 * (trace.prediction == labels).mean():.2f}%")


if __name__ == "__main__":
    main()
