"""Cost of one training step with each sparse-firing regularizer, A/B in one run.

One step = the forward scans of every layer, the loss (cross-entropy, window term and
``gamma2`` times the regularizer) and the backward pass, on the first ``--batch`` MNIST
training images, for the network of ``--run`` (a ``ttfs train`` directory) or, without it,
a seeded untrained 784-400-400-400-10. The regularizers are timed alternately on the same
network and batch (``--repeats`` rounds), so the ratios hold on a loaded machine where the
absolute times do not; the times are the process's CPU seconds (1 thread by default) and
the load average is printed with them.
Run: ``.venv/bin/python benchmarks/bench_regularizer.py --run runs/NAME``.
"""
import argparse
import os
import statistics
import time

# model before torch: it makes idle OpenMP threads sleep (see model/__init__.py)
from model import TTFSNetwork, data  # isort: skip
from model.regularizer import hidden_penalty, loss_terms  # isort: skip
from model.train import load_run  # isort: skip
import numpy as np  # isort: skip
import torch  # isort: skip


def step_seconds(network, input_times, labels, reg, v_hat):
    """CPU seconds of one forward and backward pass with regularizer ``reg``."""
    network.zero_grad()
    started = time.process_time()
    scans = network.scans(input_times)
    cross_entropy, window = loss_terms(network, input_times, labels, scans, tau_soft=0.5,
                                       gamma1=1.0)
    penalty = hidden_penalty(reg, network, input_times, scans, v_hat=v_hat)
    (cross_entropy + window + 0.01 * penalty).backward()
    return time.process_time() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run directory (default: untrained 784-400-400-400-10)")
    parser.add_argument("--regs", default="m-ssr,f-ssr,vhat")
    parser.add_argument("--v-hat", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.run:
        network = load_run(args.run)[0]
    else:
        network = TTFSNetwork(arch="784-400-400-400-10")
        network.reset_parameters(torch.Generator().manual_seed(0))
    network.train()
    train = data.load("mnist", "train")
    input_times = network.encode(torch.from_numpy(np.array(train.images[:args.batch])))
    labels = torch.from_numpy(np.array(train.labels[:args.batch])).long()
    regs = [reg for reg in args.regs.split(",") if reg]
    seconds = {reg: [] for reg in regs}
    for _ in range(args.repeats):
        for reg in regs:
            seconds[reg].append(step_seconds(network, input_times, labels, reg, args.v_hat))
    base = statistics.median(seconds[regs[0]])
    print(f"{args.run or 'untrained 784-400-400-400-10'}, batch {args.batch}, "
          f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    for reg in regs:
        median = statistics.median(seconds[reg])
        name = f"vhat (v_hat {args.v_hat:g})" if reg == "vhat" else reg
        print(f"{name}: median {1000 * median:.1f} ms CPU per step (min "
              f"{1000 * min(seconds[reg]):.1f}), {median / base:.2f} x {regs[0]}")


if __name__ == "__main__":
    main()
