"""``ttfs run``: the whole flow on a small default, from MNIST to an energy report.

The command builds a :class:`flow.pipeline.FlowConfig` from its options and calls
:func:`flow.pipeline.run_flow`, the same library function a Python user calls: fetch the
data, train, quantize, export Verilog, co-simulate some test samples on Icarus Verilog and
on Verilator, simulate some neurons in SPICE, and write the energy report. The simulators
are checked before anything runs. A failed check (exit status 1) is reported and the flow
goes on, ending with status 1; bad input stops it with a one-line error naming the step.
"""
from pathlib import Path

from .pipeline import SIMULATORS, FlowConfig, run_flow


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
    config = FlowConfig(out=Path(args.out), dataset=args.dataset, hidden=tuple(args.hidden),
                        epochs=args.epochs, train_samples=args.train_samples,
                        test_samples=args.test_samples,
                        weight_bits=args.weight_bits, steps=args.steps,
                        cosim_samples=args.cosim_samples, simulators=tuple(args.simulators),
                        spice_neurons=args.spice_neurons, spice_samples=args.spice_samples,
                        energy_samples=args.energy_samples)
    result = run_flow(config, report=print)
    print("artifacts:")
    for label, paths in result.artifacts.items():
        shown = _collapse(paths, config.out)
        print(f"  {label}: {', '.join(shown) if shown else '(nothing new)'}")
    if result.status == 0:
        print(f"report: {config.out / 'report.md'}")
    return result.status


def add_parser(subparsers):
    d = FlowConfig()
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
    p.add_argument("--simulators", nargs="+", choices=SIMULATORS, default=list(d.simulators))
    p.add_argument("--spice-neurons", type=int, default=d.spice_neurons)
    p.add_argument("--spice-samples", type=int, default=d.spice_samples)
    p.add_argument("--energy-samples", type=int, default=d.energy_samples)
    p.set_defaults(handler=_run)
