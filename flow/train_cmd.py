"""``ttfs train``: train a TTFS network into a run directory; ``ttfs raster``: plot one
sample's spikes and membrane potentials for every layer of a trained run."""
from pathlib import Path

from model.train import ENERGY_TARGETS, TrainConfig

_DEFAULTS = TrainConfig()


def add_config_options(parser, *, regularizer=True, searched=False):
    """Add the options of a :class:`TrainConfig` (without the regularizer's if asked, and
    without ``--input-threshold`` and ``--energy-weight`` where a search sets them)."""
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    parser.add_argument("--arch", default="-".join(map(str, _DEFAULTS.arch)),
                        help="layer sizes, for example 784-400-400-400-10")
    names = ["gamma1", "tau_soft", "lr", "lr_decay", "threshold", "t_max", "tau_in",
             "init_mean", "init_std"]
    if regularizer:
        parser.add_argument("--reg", choices=("none", "m-ssr", "f-ssr", "vhat"), default="none")
        names += ["gamma2", "v_hat"]
    for name in names:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=float,
                            default=getattr(_DEFAULTS, name))
    for name in ("epochs", "batch_size", "seed", "train_subset", "test_subset", "augment_shift"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int,
                            default=getattr(_DEFAULTS, name))
    parser.add_argument("--zero-pixels", choices=("silent", "spike"), default="silent",
                        help="whether pixels at 0 stay silent or spike at tau_in")
    if not searched:
        parser.add_argument("--input-threshold", type=float,
                            default=_DEFAULTS.input_threshold,
                            help="pixels below it (in [0, 1]) never spike (default 0: none)")
        parser.add_argument("--energy-weight", type=float, default=_DEFAULTS.energy_weight,
                            help="weight of the estimated digital energy per inference in uJ "
                                 "in the loss (default 0: off)")
    for name in ("energy_lanes", "energy_bank_bytes", "energy_weight_bits", "energy_steps"):
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=int,
                            default=getattr(_DEFAULTS, name),
                            help="the core the energy estimate prices (default %(default)s)")
    parser.add_argument("--energy-softness", type=float, default=_DEFAULTS.energy_softness,
                        help="width of the smooth spike count of the energy gradient, model "
                             "time units (default %(default)s)")
    parser.add_argument("--energy-target", choices=ENERGY_TARGETS, default="digital",
                        help="what the energy term prices: the digital core or the analog "
                             "neuron (default %(default)s)")
    parser.add_argument("--energy-analog-model", type=Path, default=None, metavar="FILE",
                        help="analog_energy.json (`ttfs spice`) whose per-event energies the "
                             "analog energy term uses (recorded in config.json)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads per run (default 1: parallel runs share cores)")


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a TTFS network (exact spike times)")
    add_config_options(parser)
    parser.add_argument("--out", required=True, type=Path, help="run directory, e.g. runs/NAME")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint.pt after its last finished epoch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)

    raster = subparsers.add_parser("raster", help="spike raster and membrane potentials of "
                                                  "one test sample for every layer of a run; "
                                                  "of several runs: one column per run")
    raster.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="one run, or several of one architecture and data set")
    raster.add_argument("--sample", type=int, default=0, help="index in the test set")
    raster.add_argument("--traces", type=int, default=6,
                        help="hidden neurons whose potentials are drawn, with several runs "
                             "(default 6: neurons 0 to 5)")
    raster.add_argument("--out", type=Path, help="PNG path (default RUN_DIR/raster.png; "
                                                 "required with several runs)")
    raster.set_defaults(handler=run_raster)


def config_from_args(args):
    """The :class:`TrainConfig` of parsed ``ttfs train`` arguments."""
    values = {name: getattr(args, name) for name in (
        "dataset", "arch", "reg", "gamma1", "gamma2", "v_hat", "tau_soft", "lr", "lr_decay",
        "threshold", "t_max", "tau_in", "init_mean", "init_std", "epochs", "batch_size", "seed",
        "train_subset", "test_subset", "augment_shift", "input_threshold", "energy_weight", "energy_lanes",
        "energy_bank_bytes", "energy_weight_bits", "energy_steps", "energy_softness")}
    values["zero_silent"] = args.zero_pixels == "silent"
    values["energy_target"] = args.energy_target
    if args.energy_analog_model is not None:
        from .codesign import analog_values

        values["energy_analog"] = analog_values(args.energy_analog_model)
    return TrainConfig(**values)


def run(args):
    from tqdm import tqdm

    from .train_stage import train

    config = config_from_args(args)
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, not {args.threads}")
    progress = None if args.no_progress else (
        lambda iterable, total, desc: tqdm(iterable, total=total, desc=desc, leave=False))
    metrics = train(args.out, config, resume=args.resume, threads=args.threads,
                    progress=progress)
    rates = ", ".join(f"{rate:.3f}" for rate in metrics["firing_rate"])
    energy = (f", estimated {config.energy_target} energy {metrics['energy_estimate_uJ']:.4f} "
              f"uJ per inference" if "energy_estimate_uJ" in metrics else "")
    print(f"{args.out}: test accuracy {metrics['test_accuracy']:.4f}, firing rate per hidden "
          f"layer [{rates}], mean {metrics['firing_rate_mean']:.3f}{energy}")
    return 0


def run_raster(args):
    from model import data
    from model.train import load_run

    from .figure import plot_sample
    from .raster import plot_columns

    if len(args.run_dirs) > 1 and args.out is None:
        raise ValueError("--out is required with several run directories")
    if args.traces < 1:
        raise ValueError(f"--traces must be at least 1, not {args.traces}")
    loaded = [load_run(run_dir) for run_dir in args.run_dirs]
    datasets = {config["dataset"] for _, config in loaded}
    if len(datasets) != 1:
        raise ValueError(f"the runs must share one data set, not {', '.join(sorted(datasets))}")
    test = data.load(datasets.pop(), "test")
    if not 0 <= args.sample < len(test.labels):
        raise ValueError(f"--sample must lie in [0, {len(test.labels) - 1}], not {args.sample}")
    image, label = test.images[args.sample], int(test.labels[args.sample])
    if len(loaded) == 1:
        out = args.out if args.out is not None else args.run_dirs[0] / "raster.png"
        plot_sample(loaded[0][0], image, label, out)
    else:
        out = plot_columns([network for network, _ in loaded],
                           [_run_title(config) for _, config in loaded], image, label,
                           args.out, traces=args.traces)
    print(f"wrote {out}")
    return 0


def _run_title(config):
    """Column title of a run: its regularizer and gamma2 (and v_hat for the baseline)."""
    reg = config.get("reg", "none")
    if reg == "none" or not config.get("gamma2"):
        return "no regularizer"
    name = {"m-ssr": "M-SSR", "f-ssr": "F-SSR"}.get(reg, f"v_hat = {config.get('v_hat')}")
    return f"{name}, gamma2 = {config['gamma2']:g}"
