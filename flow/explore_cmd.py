"""``ttfs explore``: search the regularizer, ``gamma2``, the energy weight, the input
threshold, weight bits, time steps K, pruning, lanes and SRAM bank size on Ray Tune; every point is
trained, quantized and priced by the energy report, and the Pareto fronts of accuracy
against energy per inference and against latency are tabled and plotted (:mod:`flow.explore`,
docs/explore.md)."""
from pathlib import Path

from . import train_cmd
from .explore_space import DIMENSIONS, TRAINING, SearchSpace, load_space
from .rtl_stage import SIMULATORS

#: dimension -> (option, converter of one value, what the values are)
_FLAGS = {"reg": ("--regs", str, "regularizers"), "gamma2": ("--gamma2s", float, "numbers"),
          "energy_weight": ("--energy-weights", float, "numbers"),
          "input_threshold": ("--input-thresholds", float, "numbers"),
          "weight_bits": ("--weight-bits", int, "integers"),
          "steps": ("--steps", int, "integers"), "prune": ("--prunes", str, "names"),
          "lanes": ("--lanes", int, "integers"),
          "bank_bytes": ("--bank-bytes", int, "integers")}


def add_parser(subparsers):
    defaults = SearchSpace()
    p = subparsers.add_parser("explore", help="design-space search on Ray Tune: accuracy "
                                              "against energy and latency, Pareto fronts",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--space", type=Path, default=None, metavar="FILE",
                   help="JSON or TOML file with a list of values per dimension "
                        f"({', '.join(DIMENSIONS)}); the options below override it")
    for name, (flag, _, _) in _FLAGS.items():
        shown = ",".join(f"{v:g}" if isinstance(v, float) else str(v)
                         for v in getattr(defaults, name))
        p.add_argument(flag, dest=f"space_{name}", default=None, metavar="V,V,...",
                       help=f"comma-separated values: {DIMENSIONS[name]} (default {shown})")
    p.add_argument("--samples", type=int, default=0,
                   help="search this many points of the grid, drawn with --search-seed "
                        "(default 0: every point)")
    p.add_argument("--search-seed", type=int, default=0, help="seed of that draw")
    p.add_argument("--test-samples", type=int, default=1000,
                   help="test images for the integer accuracy (0: all; default 1000)")
    p.add_argument("--calibration-samples", type=int, default=1024,
                   help="training images that calibrate the quantization (default 1024)")
    p.add_argument("--prune-samples", type=int, default=0,
                   help="training images the pruning looks at (default 0: all)")
    p.add_argument("--energy-samples", type=int, default=1000,
                   help="test images of each energy report (default 1000)")
    p.add_argument("--cosim", choices=SIMULATORS, default=None,
                   help="also co-simulate each trial's core on this simulator and check its "
                        "counters (slow; default: no co-simulation)")
    p.add_argument("--cosim-samples", type=int, default=2, help="co-simulated test images")
    p.add_argument("--analog-model", type=Path, default=None, metavar="FILE",
                   help="analog_energy.json (`ttfs spice`): also price every point's analog "
                        "neuron with it (trials priced otherwise are priced again)")
    p.add_argument("--trained", nargs="+", type=Path, default=(), metavar="RUN",
                   help="finished `ttfs train` runs to use as the trainings they match "
                        "(same config but for reg and gamma2) instead of training them; "
                        "without --regs, --gamma2s or a space file naming them, the search "
                        "trains nothing else")
    p.add_argument("--address", default=None,
                   help="connect to this running Ray cluster (auto, host:port or "
                        "ray://host:port) instead of starting a local instance")
    p.add_argument("--cpus", type=int, default=None,
                   help="CPUs of the local Ray instance (default: all this process may use)")
    p.add_argument("--ray-tmp", default=None,
                   help="temporary folder of the local Ray instance, at most 40 characters "
                        "(default $TTFS_RAY_TMP or /tmp/ttfs-ray)")
    train_cmd.add_config_options(p, regularizer=False, searched=True)
    p.add_argument("--v-hat", dest="v_hat", type=float, default=0.5,
                   help="v_hat of the vhat regularizer")
    p.add_argument("--data-dir", default=None, help="data directory (default: $TTFS_DATA or "
                                                    "./data)")
    p.add_argument("--out", required=True, type=Path, help="search directory")
    p.set_defaults(handler=run, reg="none", gamma2=0.0, energy_weight=0.0,
                   input_threshold=0.0)


def _values(flag, text, convert, kind):
    try:
        return [convert(part) for part in text.split(",") if part]
    except ValueError:
        raise ValueError(f"{flag}: expected comma-separated {kind}, not {text!r}") from None


def space_from_args(args):
    """The :class:`SearchSpace` of ``--space`` and the dimension options; with ``--trained``
    and neither regularizers nor ``gamma2`` given, the trainings are those of the runs."""
    values = {}
    if args.space is not None:
        values = load_space(args.space)
        SearchSpace.from_values(values, source=str(args.space))
    for name, (flag, convert, kind) in _FLAGS.items():
        text = getattr(args, f"space_{name}")
        if text is not None:
            values[name] = _values(flag, text, convert, kind)
            SearchSpace.from_values({name: values[name]}, source=flag)
    if args.trained and not {*TRAINING, "trainings"} & set(values):
        from .explore_trial import read_training

        values["trainings"] = [tuple(getattr(config, name) for name in TRAINING)
                               for config in map(read_training, args.trained)]
    return SearchSpace.from_values(values)


def config_from_args(args):
    """The :class:`flow.explore.ExploreConfig` of parsed ``ttfs explore`` arguments."""
    from .explore import ExploreConfig

    return ExploreConfig(base=train_cmd.config_from_args(args), space=space_from_args(args),
                         samples=args.samples, seed=args.search_seed,
                         test_samples=args.test_samples,
                         calibration_samples=args.calibration_samples,
                         prune_samples=args.prune_samples,
                         energy_samples=args.energy_samples, cosim=args.cosim,
                         cosim_samples=args.cosim_samples, threads=args.threads,
                         data_dir=args.data_dir, analog_model=args.analog_model)


def run(args):
    from .explore import run_explore

    config = config_from_args(args)
    result = run_explore(args.out, config, address=args.address, cpus=args.cpus,
                         ray_tmp=args.ray_tmp, trained=args.trained, report=print)
    done = [row for row in result.rows if row["status"] == "done"]
    print(f"{len(done)} of {len(result.rows)} points finished ({len(result.reused)} before "
          f"this search)")
    from .explore_report import pareto_front

    for key, label, scale, unit in (("energy_J", "energy", 1e9, "nJ"),
                                    ("latency_s", "latency", 1e6, "us")):
        front = ", ".join(f"{row['trial']} ({100 * row['int_accuracy']:.2f} %, "
                          f"{row[key] * scale:.4g} {unit})"
                          for row in pareto_front(result.rows, key))
        print(f"front of accuracy against {label}: {front or 'none'}")
    for row in result.failed:
        print(f"{row['trial']}: {row.get('error') or 'co-simulation counters disagree'}")
    for path in result.paths:
        print(f"wrote {path}")
    return 1 if result.failed else 0
