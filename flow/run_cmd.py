"""``ttfs run``: the whole flow on a small default, from MNIST to an energy report.

The pipeline is an explicit, ordered list of stages, each one ``ttfs`` subcommand run
exactly as a user would type it: fetch the data, train, quantize, export Verilog,
co-simulate some test samples on Icarus Verilog and on Verilator, simulate some neurons in
SPICE, and write the energy report. Each stage reads only the artifacts of earlier stages in
the run directory, so rerunning the command redoes the flow from the start without harm. The
simulators are checked before anything runs. A failed check (exit status 1) is reported and
the flow goes on, ending with status 1; bad input stops it with a one-line error naming the
stage.
"""
import time
from dataclasses import dataclass
from pathlib import Path

from hardware import tools

SIMULATOR_STAGES = ("icarus", "verilator")


@dataclass(frozen=True)
class DemoConfig:
    """What ``ttfs run`` builds; the defaults finish in a few minutes on two cores.

    Members
    -------
    out : the run directory
    dataset : ``mnist`` or ``fashion-mnist``
    hidden : hidden layer sizes
    epochs : training epochs
    train_samples : training images used (the first ones of the split)
    test_samples : test images the training and quantization stages evaluate on
    weight_bits : signed weight width of the integer network
    steps : time steps K of the integer network
    cosim_samples : test samples co-simulated on each RTL simulator
    simulators : RTL simulators to co-simulate on
    spice_neurons : neurons of the first hidden layer simulated in SPICE
    spice_samples : test samples whose input spikes drive them
    energy_samples : test samples of the energy report
    """

    out: Path = Path("runs/demo")
    dataset: str = "mnist"
    hidden: tuple = (100,)
    epochs: int = 1
    train_samples: int = 10000
    test_samples: int = 1000
    weight_bits: int = 8
    steps: int = 64
    cosim_samples: int = 3
    simulators: tuple = SIMULATOR_STAGES
    spice_neurons: int = 16
    spice_samples: int = 1
    energy_samples: int = 1000

    def __post_init__(self):
        for name in ("epochs", "train_samples", "test_samples", "weight_bits", "steps",
                     "cosim_samples", "spice_neurons", "spice_samples", "energy_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive layer sizes, not {self.hidden!r}")
        unknown = [s for s in self.simulators if s not in SIMULATOR_STAGES]
        if unknown:
            raise ValueError(f"simulators must be among {', '.join(SIMULATOR_STAGES)}, "
                             f"not {unknown[0]!r}")


def stages(config):
    """The pipeline: ``(label, argv)`` pairs, in order."""
    run = str(config.out)
    plan = [
        ("data", ["data", config.dataset]),
        ("train", ["train", "--dataset", config.dataset,
                   "--arch", "-".join(map(str, (784, *config.hidden, 10))),
                   "--epochs", str(config.epochs), "--train-subset", str(config.train_samples),
                   "--test-subset", str(config.test_samples), "--out", run, "--no-progress"]),
        ("quantize", ["quantize", run, "--weight-bits", str(config.weight_bits),
                      "--steps", str(config.steps), "--test-samples", str(config.test_samples)]),
        ("export-verilog", ["export-verilog", run, "--out", str(config.out / "verilog")]),
    ]
    for sim in config.simulators:
        plan.append((f"cosim ({sim})", ["cosim", run, "--sim", sim,
                                        "--samples", str(config.cosim_samples),
                                        "--out", str(config.out / f"cosim_{sim}.json")]))
    plan += [
        ("spice", ["spice", run, "--neurons", str(config.spice_neurons),
                   "--samples", str(config.spice_samples)]),
        ("energy", ["energy", run, "--samples", str(config.energy_samples)]),
    ]
    return plan


def required_simulators(config):
    """Simulators the flow needs: the chosen RTL simulators and ngspice."""
    return tuple(config.simulators) + ("ngspice",)


def _snapshot(directory):
    if not directory.is_dir():
        return {}
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


def run_pipeline(config, *, report=print):
    """Run every stage of ``config``; returns ``(status, artifacts)``.

    ``artifacts`` maps each stage label to the files it wrote or changed in the run
    directory. ``report`` receives one line per stage as it finishes. A stage whose check
    fails (exit status 1, for example a co-simulation mismatch) does not stop the flow, so
    that the report still gets written; the flow then ends with status 1. Any other
    non-zero status stops it at once.

    Raises
    ------
    hardware.tools.SimulatorMissing
        before any stage runs, if a simulator the flow needs is not installed.
    RuntimeError
        if a stage of the flow is not part of this installation of ``ttfs``.
    """
    from . import cli
    for name in required_simulators(config):
        tools.require(name)
    parser = cli.build_parser()
    commands = {a.dest: a for a in parser._actions if a.dest == "command"}["command"].choices
    plan = stages(config)
    absent = [argv[0] for _, argv in plan if argv[0] not in commands]
    if absent:
        raise RuntimeError(f"stage `ttfs {absent[0]}` is not part of this installation, so "
                           f"`ttfs run` cannot chain it: install the complete project")
    artifacts, failed = {}, []
    for label, argv in plan:
        before = _snapshot(config.out)
        start = time.perf_counter()
        args = parser.parse_args(argv)
        try:
            status = args.handler(args)
        except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
            raise RuntimeError(f"stage {label} (`ttfs {' '.join(argv)}`): {exc}") from exc
        after = _snapshot(config.out)
        artifacts[label] = sorted(p for p, t in after.items() if before.get(p) != t)
        report(f"[{label}] `ttfs {' '.join(argv)}` finished in "
               f"{time.perf_counter() - start:.1f} s with status {status}")
        if status == 1:
            failed.append(label)
            report(f"[{label}] a check failed; continuing, so that later artifacts exist")
        elif status != 0:
            report(f"ttfs run: stage {label} failed (status {status}); later stages not run")
            return status, artifacts
    if failed:
        report(f"ttfs run: checks failed in: {', '.join(failed)}")
        return 1, artifacts
    return 0, artifacts


def _collapse(paths, root):
    """Files directly in ``root`` or one folder below it; deeper ones as their folder."""
    shown = []
    for path in paths:
        parts = path.relative_to(root).parts
        item = str(root.joinpath(*parts[:2])) + ("/" if len(parts) > 2 else "")
        if item not in shown:
            shown.append(item)
    return shown


def _run(args):
    config = DemoConfig(out=Path(args.out), dataset=args.dataset, hidden=tuple(args.hidden),
                        epochs=args.epochs, train_samples=args.train_samples,
                        test_samples=args.test_samples,
                        weight_bits=args.weight_bits, steps=args.steps,
                        cosim_samples=args.cosim_samples, simulators=tuple(args.simulators),
                        spice_neurons=args.spice_neurons, spice_samples=args.spice_samples,
                        energy_samples=args.energy_samples)
    status, artifacts = run_pipeline(config)
    print("artifacts:")
    for label, paths in artifacts.items():
        shown = _collapse(paths, config.out)
        print(f"  {label}: {', '.join(shown) if shown else '(nothing new)'}")
    if status == 0:
        print(f"report: {config.out / 'report.md'}")
    return status


def add_parser(subparsers):
    d = DemoConfig()
    p = subparsers.add_parser("run", help="the whole flow on a small default (train to energy)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(d.out), help=f"run directory (default {d.out})")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=d.dataset)
    p.add_argument("--hidden", type=int, nargs="+", default=list(d.hidden),
                   help=f"hidden layer sizes (default {' '.join(map(str, d.hidden))})")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--train-samples", type=int, default=d.train_samples)
    p.add_argument("--test-samples", type=int, default=d.test_samples)
    p.add_argument("--weight-bits", type=int, default=d.weight_bits)
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--cosim-samples", type=int, default=d.cosim_samples)
    p.add_argument("--simulators", nargs="+", choices=SIMULATOR_STAGES, default=list(d.simulators))
    p.add_argument("--spice-neurons", type=int, default=d.spice_neurons)
    p.add_argument("--spice-samples", type=int, default=d.spice_samples)
    p.add_argument("--energy-samples", type=int, default=d.energy_samples)
    p.set_defaults(handler=_run)
