"""Speed and memory of the exact TTFS layer and of one training epoch.

Prints, for a 784->400 layer at batch 256 on MNIST inputs: forward and forward+backward
time of the C kernel (median of --repeats), the time of a dense matmul of the same shapes
(and of a dense layer's forward+backward: three matmuls) in the same run, the ratios, and the
process's peak resident memory. With --compare OLD_KERNEL_C, an older kernel source is
built too and both are timed alternately on the same inputs (A/B), with a check that they
agree bitwise. With --epoch, the wall time of one training epoch of 784-400-10 on MNIST at
batch 128 (written to a temporary directory); --epoch-subset N trains on the first N
samples instead, alternately with both kernels when comparing. The load average is printed
with the figures: on a shared machine, only the ratios of one run are comparable.
Run: ``.venv/bin/python benchmarks/bench_model.py --threads 2 --epoch``.
"""
import argparse
import os
import resource
import statistics
import tempfile
import time

# model before torch: it makes idle OpenMP threads sleep (see model/__init__.py)
from model import TrainConfig, TTFSNetwork, data, kernel, train  # isort: skip
from model.neuron import spike_times_and_slopes  # isort: skip
import torch  # isort: skip


def median_seconds(function, repeats):
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def wall_and_cpu(function):
    """Wall seconds and CPU seconds of all the process's threads of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def load_average():
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def layer_functions(input_times, weight):
    def forward():
        with torch.no_grad():
            return spike_times_and_slopes(input_times, weight)

    def forward_backward():
        weight.grad = None
        times, slopes = spike_times_and_slopes(input_times, weight)
        (torch.where(torch.isfinite(times), times, 0).sum() + slopes.sum()).backward()
        return times, slopes, weight.grad

    return forward, forward_backward


def dense_functions(batch, n_in, n_out):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, n_in, generator=generator)
    w = torch.randn(n_out, n_in, generator=generator, requires_grad=True)
    upstream = torch.randn(batch, n_out, generator=generator)

    def matmul():
        return x @ w.detach().t()

    def layer():  # forward, then the weight and input gradients: three matmuls
        w.grad = None
        (x @ w.t()).backward(upstream)

    return matmul, layer


def time_layers(libraries, input_times, weight, repeats):
    """Median forward and forward+backward wall seconds (and CPU seconds of forward+backward)
    per library, timed alternately."""
    forward, forward_backward = layer_functions(input_times, weight)
    samples = {name: {"forward": [], "both": [], "both_cpu": []} for name in libraries}
    results = {}
    for name, lib in libraries.items():
        with kernel.using(lib):
            results[name] = [x.detach().clone() for x in forward_backward()]  # warm up
    for _ in range(repeats):
        for name, lib in libraries.items():
            with kernel.using(lib):
                samples[name]["forward"].append(median_seconds(forward, 1))
                wall, cpu = wall_and_cpu(forward_backward)
                samples[name]["both"].append(wall)
                samples[name]["both_cpu"].append(cpu)
    medians = {name: {key: statistics.median(values) for key, values in sample.items()}
               for name, sample in samples.items()}
    return medians, results


def epoch_seconds(lib, subset, threads):
    with kernel.using(lib), tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(arch=(784, 400, 10), epochs=1, batch_size=128,
                             train_subset=subset, test_subset=subset and 1000)
        torch.set_num_threads(threads)
        started = time.perf_counter()
        metrics = train(config, tmp)
        return metrics["history"][0]["train_seconds"], time.perf_counter() - started, metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compare", metavar="OLD_KERNEL_C",
                        help="an older kernel.c to time against, alternately (A/B)")
    parser.add_argument("--epoch", action="store_true", help="also time one training epoch")
    parser.add_argument("--epoch-subset", type=int, default=0, metavar="N",
                        help="train the timed epoch on the first N samples only (0: all)")
    parser.add_argument("--reference", action="store_true",
                        help="also time the dense PyTorch reference (sort, gather into "
                             "[batch, n_out, n_in], cumulative sums, autograd) once")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    network = TTFSNetwork(arch=(784, 400, 10)).reset_parameters(torch.Generator().manual_seed(0))
    weight = network.layers[0].weight
    images = data.load("mnist", "train").images[:args.batch]
    input_times = network.encode(images)
    libraries = {"new": kernel.library()}
    if args.compare:
        tmp = tempfile.mkdtemp()
        libraries["old"] = kernel.load(kernel.build(directory=tmp, source=args.compare))

    print(f"784->400 layer, batch {args.batch}, {args.threads} threads, median of "
          f"{args.repeats}; {load_average()}")
    medians, results = time_layers(libraries, input_times, weight, args.repeats)
    matmul, dense_layer = dense_functions(args.batch, 784, 400)
    t_matmul = median_seconds(matmul, args.repeats * 5)
    t_dense = median_seconds(dense_layer, args.repeats * 5)
    for name, m in medians.items():
        label = "" if len(medians) == 1 else f"[{name}] "
        print(f"{label}forward           {1e3 * m['forward']:8.2f} ms  "
              f"({m['forward'] / t_matmul:6.1f} x matmul)")
        print(f"{label}forward+backward  {1e3 * m['both']:8.2f} ms  "
              f"({m['both'] / t_matmul:6.1f} x matmul, {m['both'] / t_dense:5.1f} x dense "
              f"layer forward+backward; CPU time {1e3 * m['both_cpu']:.2f} ms)")
    print(f"dense matmul      {1e3 * t_matmul:8.3f} ms; dense layer forward+backward "
          f"{1e3 * t_dense:8.3f} ms")
    if args.compare:
        same = all(torch.equal(a, b) for a, b in zip(results["new"], results["old"]))
        old, new = medians["old"], medians["new"]
        print(f"new against old: forward {old['forward'] / new['forward']:.2f} x faster, "
              f"forward+backward {old['both'] / new['both']:.2f} x faster (CPU time "
              f"{old['both_cpu'] / new['both_cpu']:.2f} x less); outputs and gradients bitwise "
              f"equal: {same}")
    print(f"peak resident memory so far {peak_mib():.0f} MiB; {load_average()}")
    if args.reference:
        def reference():
            weight.grad = None
            times, slopes = spike_times_and_slopes(input_times, weight,
                                                   implementation="reference")
            (torch.where(torch.isfinite(times), times, 0).sum() + slopes.sum()).backward()

        t_reference = median_seconds(reference, 1)
        print(f"reference forward+backward {1e3 * t_reference:8.1f} ms  "
              f"({t_reference / t_matmul:6.1f} x matmul, "
              f"{t_reference / medians['new']['both']:5.1f} x kernel); "
              f"peak memory {peak_mib():.0f} MiB")
    if args.epoch:
        samples = args.epoch_subset or "all"
        for name, lib in (list(libraries.items()) * (2 if args.compare else 1)):
            train_s, wall, metrics = epoch_seconds(lib, args.epoch_subset, args.threads)
            label = "" if len(libraries) == 1 else f"[{name}] "
            print(f"{label}one epoch 784-400-10 MNIST ({samples} training samples) batch 128: "
                  f"{train_s:.1f} s training, {wall:.1f} s with test evaluation; test accuracy "
                  f"{metrics['test_accuracy']:.4f}; {load_average()}")
        print(f"peak resident memory {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
