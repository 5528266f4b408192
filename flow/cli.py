"""The ``ttfs`` command: one subcommand per stage of the flow.

Each stage lives in its own module of :mod:`flow` and exposes ``add_parser(subparsers)``,
which registers a subcommand whose ``handler`` takes the parsed arguments and returns an
exit status. Exit statuses: 0 on success, 1 when a check fails (for example a
co-simulation mismatch), 2 on a usage error or bad input, reported in one line on stderr
without a traceback.
"""
import argparse
import sys

from . import (compare_cmd, data_cmd, energy_cmd, explore_cmd, nir_cmd, quantize_cmd, rtl_cmd,
               run_cmd, spice_cmd, sweep_cmd, synth_cmd, train_cmd)

#: Stage modules in pipeline order; each registers one or more subcommands.
STAGES = [data_cmd, train_cmd, sweep_cmd, explore_cmd, nir_cmd, quantize_cmd, rtl_cmd, synth_cmd, spice_cmd, energy_cmd,
          compare_cmd, run_cmd]


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def build_parser():
    parser = _Parser(
        prog="ttfs",
        description="TTFS spiking networks from training to Verilog, SPICE and energy reports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="STAGE", parser_class=_Parser)
    sub.required = True
    for stage in STAGES:
        stage.add_parser(sub)
    return parser


def main(argv=None):
    """Run the command line; returns (and exits with) the stage's status."""
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        status = 2
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
        print(f"ttfs: error: {exc}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print("ttfs: interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)
