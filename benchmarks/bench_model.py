"""Speed and memory of the exact TTFS layer and of one training epoch.

Prints, for a 784->400 layer at batch 256 on MNIST inputs: forward and forward+backward
time of the C kernel (median of --repeats), the time of a dense matmul of the same shapes in
the same run and the ratio, and the process's peak resident memory; with --epoch, the wall
time of one training epoch of 784-400-10 on MNIST at batch 128 (written to a temporary
directory). Run: ``.venv/bin/python benchmarks/bench_model.py --threads 2 --epoch``.
"""
import argparse
import resource
import statistics
import tempfile
import time

import torch

from model import TrainConfig, TTFSNetwork, data, train
from model.neuron import spike_times_and_slopes


def median_seconds(function, repeats):
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epoch", action="store_true", help="also time one training epoch")
    parser.add_argument("--reference", action="store_true",
                        help="also time the dense PyTorch reference (sort, gather into "
                             "[batch, n_out, n_in], cumulative sums, autograd) once")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    network = TTFSNetwork(arch=(784, 400, 10)).reset_parameters(torch.Generator().manual_seed(0))
    weight = network.layers[0].weight
    images = data.load("mnist", "train").images[:args.batch]
    input_times = network.encode(images)

    def forward():
        with torch.no_grad():
            spike_times_and_slopes(input_times, weight)

    def forward_backward():
        weight.grad = None
        times, slopes = spike_times_and_slopes(input_times, weight)
        (torch.where(torch.isfinite(times), times, 0).sum() + slopes.sum()).backward()

    dense_in = torch.randn(args.batch, 784)
    dense_w = torch.randn(400, 784)
    forward_backward()  # builds and loads the kernel
    t_forward = median_seconds(forward, args.repeats)
    t_both = median_seconds(forward_backward, args.repeats)
    t_matmul = median_seconds(lambda: dense_in @ dense_w.t(), args.repeats * 5)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"784->400 layer, batch {args.batch}, {args.threads} threads, median of {args.repeats}")
    print(f"forward           {1e3 * t_forward:8.2f} ms  ({t_forward / t_matmul:6.1f} x matmul)")
    print(f"forward+backward  {1e3 * t_both:8.2f} ms  ({t_both / t_matmul:6.1f} x matmul)")
    print(f"dense matmul      {1e3 * t_matmul:8.3f} ms")
    print(f"peak resident memory so far {peak_mib:.0f} MiB")
    if args.reference:
        def reference():
            weight.grad = None
            times, slopes = spike_times_and_slopes(input_times, weight,
                                                   implementation="reference")
            (torch.where(torch.isfinite(times), times, 0).sum() + slopes.sum()).backward()

        t_reference = median_seconds(reference, 1)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"reference forward+backward {1e3 * t_reference:8.1f} ms  "
              f"({t_reference / t_matmul:6.1f} x matmul, {t_reference / t_both:5.1f} x kernel); "
              f"peak memory {peak_mib:.0f} MiB")
    if args.epoch:
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(arch=(784, 400, 10), epochs=1, batch_size=128)
            started = time.perf_counter()
            metrics = train(config, tmp)
            wall = time.perf_counter() - started
        epoch = metrics["history"][0]
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"one epoch 784-400-10 MNIST batch 128: {epoch['train_seconds']:.1f} s training, "
              f"{wall:.1f} s with test evaluation; test accuracy {metrics['test_accuracy']:.4f}")
        print(f"peak resident memory {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
