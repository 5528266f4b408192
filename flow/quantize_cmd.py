"""``ttfs quantize``: a trained run to an integer network, its core allocation and metrics.

``ttfs quantize runs/NAME --weight-bits 8 --steps 256 [--qat-epochs N]`` writes into the run
directory ``network.json`` + ``weights.npz`` (the integer network), ``allocation.json`` (its
split onto cores) and ``quant_metrics.json`` (float and integer accuracy on the test set,
event counts per layer averaged per sample). ``ttfs quantize runs/NAME --sweep`` tabulates
the integer accuracy against ``weight_bits`` and ``K`` into ``sweep.json``, ``sweep.md`` and
``sweep.png``. ``ttfs allocate runs/NAME`` re-splits a saved network with other core limits.
"""
import json
import time
from pathlib import Path

from mapping import allocation as alloc
from mapping.files import atomic_write, write_text
from mapping import network as netmod

SWEEP_BITS = (4, 6, 8, 10, 12, 16)
SWEEP_STEPS = (16, 32, 64, 128, 256, 512, 1024)


def _write_json(path, doc):
    write_text(path, json.dumps(doc, indent=2) + "\n")


def _limits(args):
    return alloc.CoreLimits(max_neurons=args.max_neurons, max_inputs=args.max_inputs,
                            max_weights=args.max_weights)


def _int_list(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"expected comma-separated integers, not {text!r}") from None
    return values


def _run_quantize(args):
    from .quantize_stage import QuantizeConfig, quantize

    config = QuantizeConfig(weight_bits=args.weight_bits, steps=args.steps,
                            qat_epochs=args.qat_epochs, qat_lr=args.qat_lr,
                            qat_samples=args.qat_samples,
                            calibration_samples=args.calibration_samples,
                            test_samples=args.test_samples,
                            input_threshold=args.input_threshold,
                            prune_inputs=args.prune_inputs, prune_dead=args.prune_dead,
                            prune_samples=args.prune_samples, limits=_limits(args),
                            data_dir=args.data_dir)
    run_dir = Path(args.run)
    if args.sweep:
        from mapping import from_model  # torch: imported only once the options are valid

        net, trained = from_model.load_run(run_dir)
        data = from_model.run_data(trained.get("dataset", "mnist"),
                                   calibration_samples=args.calibration_samples,
                                   test_samples=args.test_samples,
                                   finetune_samples=args.qat_samples if args.qat_epochs else 0,
                                   root=args.data_dir)
        return _sweep(args, run_dir, net, data)
    start = time.perf_counter()
    result = quantize(run_dir, config)
    network, metrics = result.network, result.metrics
    print(f"{run_dir}: {network.weight_bits}-bit weights, K = {network.steps}, "
          f"{metrics['cores']} cores; accuracy float {100 * metrics['float_accuracy']:.2f}%, "
          f"integer {100 * metrics['int_accuracy']:.2f}% on {metrics['test_samples']} test "
          f"samples ({time.perf_counter() - start:.1f} s)")
    pruning = metrics.get("pruning", {})
    for what, label in (("inputs", "inputs"), ("neurons", "dead neurons")):
        if what in pruning:
            print(f"  pruned {label}: removed {pruning[what]['removed']}, kept "
                  f"{pruning[what]['kept']}; integer accuracy "
                  f"{100 * pruning[what]['int_accuracy']:.2f}%")
    if pruning:
        print(f"  unpruned integer accuracy {100 * pruning['int_accuracy_unpruned']:.2f}%, "
              f"sizes {'-'.join(map(str, pruning['sizes_unpruned']))} -> "
              f"{'-'.join(map(str, metrics['layer_sizes']))}")
    events = metrics["events_per_sample"]
    for name in ("spikes", "synops", "membrane_updates"):
        print(f"  {name:>16} per sample: " + " ".join(f"{v:.1f}" for v in events[name]))
    return 0


def _sweep(args, run_dir, net, data):
    from mapping import from_model

    rows = from_model.sweep(net, data, weight_bits=_int_list(args.sweep_bits),
                            steps=_int_list(args.sweep_steps))
    _write_json(run_dir / from_model.SWEEP_FILE, {"schema_version": 1, "rows": rows})
    table = sweep_table(rows)
    write_text(run_dir / "sweep.md", table)
    plot_sweep(rows, run_dir / "sweep.png")
    print(table, end="")
    print(f"wrote {run_dir / 'sweep.json'}, sweep.md, sweep.png")
    return 0


def sweep_table(rows):
    """A Markdown table: one row per weight width, one column per K, integer accuracy in %."""
    bits = sorted({r["weight_bits"] for r in rows})
    steps = sorted({r["steps"] for r in rows})
    cell = {(r["weight_bits"], r["steps"]): r["int_accuracy"] for r in rows}
    lines = [f"Integer accuracy (%) on {rows[0]['test_samples']} test samples; float model "
             f"{100 * rows[0]['float_accuracy']:.2f}%", "",
             "| weight_bits | " + " | ".join(f"K={k}" for k in steps) + " |",
             "|---|" + "---|" * len(steps)]
    for b in bits:
        lines.append(f"| {b} | " + " | ".join(
            f"{100 * cell[b, k]:.2f}" if (b, k) in cell else "" for k in steps) + " |")
    return "\n".join(lines) + "\n"


def plot_sweep(rows, path):
    """Accuracy against K, one line per weight width, the float model dashed."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for bits in sorted({r["weight_bits"] for r in rows}):
        mine = sorted((r["steps"], 100 * r["int_accuracy"]) for r in rows if r["weight_bits"] == bits)
        ax.plot(*zip(*mine), marker="o", label=f"{bits}-bit")
    ax.axhline(100 * rows[0]["float_accuracy"], color="black", linestyle="--", label="float")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("time steps K")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda staged: fig.savefig(staged, dpi=120))
    plt.close(fig)


def _run_allocate(args):
    run_dir = Path(args.run)
    network = netmod.load(run_dir)
    allocation = alloc.allocate(network, _limits(args))
    alloc.save(allocation, run_dir)
    for index in range(len(network.layers)):
        cores = allocation.layer_cores(index)
        print(f"layer {index}: {network.layers[index].n_out} neurons on {len(cores)} cores")
    return 0


def _add_limits(p):
    limits = alloc.CoreLimits()
    p.add_argument("--max-neurons", type=int, default=limits.max_neurons,
                   help=f"neurons per core (default {limits.max_neurons})")
    p.add_argument("--max-inputs", type=int, default=limits.max_inputs,
                   help=f"inputs per core (default {limits.max_inputs})")
    p.add_argument("--max-weights", type=int, default=limits.max_weights,
                   help=f"weight memory depth per core (default {limits.max_weights})")


def add_parser(subparsers):
    p = subparsers.add_parser("quantize", help="quantize a trained run into an integer network",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run directory runs/NAME holding config.json and model.pt")
    p.add_argument("--weight-bits", type=int, default=8, help="signed weight width (default 8)")
    p.add_argument("--steps", type=int, default=256, help="time steps K (default 256)")
    p.add_argument("--qat-epochs", type=int, default=0,
                   help="epochs of quantization-aware fine-tuning (default 0: none)")
    p.add_argument("--qat-lr", type=float, default=1e-4, help="fine-tuning learning rate")
    p.add_argument("--qat-samples", type=int, default=10000,
                   help="training samples for fine-tuning (default 10000)")
    p.add_argument("--calibration-samples", type=int, default=1024,
                   help="training samples for calibration (default 1024)")
    p.add_argument("--test-samples", type=int, default=0,
                   help="evaluate on the first N test samples (default 0: all)")
    p.add_argument("--input-threshold", type=float, default=None,
                   help="pixels below it never spike (default: the run's own, set by ttfs "
                        "train --input-threshold)")
    p.add_argument("--prune-inputs", action="store_true",
                   help="drop inputs without fan-out or never delivered on the training set")
    p.add_argument("--prune-dead", action="store_true",
                   help="drop hidden neurons that deliver no spike on the training set")
    p.add_argument("--prune-samples", type=int, default=0,
                   help="training samples the pruning looks at (default 0: all)")
    p.add_argument("--sweep", action="store_true",
                   help="tabulate accuracy against weight bits and K instead")
    p.add_argument("--sweep-bits", default=",".join(map(str, SWEEP_BITS)),
                   help="weight widths of the sweep (default %(default)s)")
    p.add_argument("--sweep-steps", default=",".join(map(str, SWEEP_STEPS)),
                   help="step counts of the sweep (default %(default)s)")
    p.add_argument("--data-dir", default=None, help="data directory (default: $TTFS_DATA or ./data)")
    _add_limits(p)
    p.set_defaults(handler=_run_quantize)

    a = subparsers.add_parser("allocate", help="split a run's integer network onto cores",
                              description="Split the integer network of a run onto cores of "
                                          "the given limits and write allocation.json.")
    a.add_argument("run", help="run directory holding network.json and weights.npz")
    _add_limits(a)
    a.set_defaults(handler=_run_allocate)
