"""``ttfs compare``: several runs' energy reports side by side, with ratios to the first.

Each run needs a ``report.json`` (``ttfs energy``). The comparison is written as
``compare.json``, ``compare.md`` (one table) and ``compare.png`` (energy and firing rate
against accuracy) into ``--out``, by default ``compare/`` beside the first run.
"""
from pathlib import Path

from . import report


def compare(runs, out=None):
    """Compare the reports of ``runs`` (first = baseline); returns (comparison, paths)."""
    if not runs:
        raise ValueError("name at least one run directory")
    docs = [report.load_report(run) for run in runs]
    out = Path(out) if out is not None else Path(runs[0]).resolve().parent / "compare"
    return report.write_comparison(docs, out)


def stale_analog(run):
    """A note when ``run`` holds an ``analog_energy.json`` that its ``report.json`` was not
    priced with (added or changed after it), else None."""
    run = Path(run)
    model, doc = run / "analog_energy.json", run / report.REPORT_FILE
    if model.is_file() and model.stat().st_mtime_ns > doc.stat().st_mtime_ns:
        return (f"{run}: analog_energy.json is newer than report.json: rerun `ttfs energy "
                f"{run}` to price the analog neuron with it")
    return None


def _run(args):
    comp, paths = compare(args.runs, args.out)
    print(report.comparison_markdown(comp).split("\n\nRatios")[0])
    for note in filter(None, map(stale_analog, args.runs)):
        print(note)
    for path in paths:
        print(f"wrote {path}")
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser("compare", help="compare the energy reports of several runs",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run directories with report.json; the first is the baseline")
    p.add_argument("--out", default=None,
                   help="output directory (default: compare/ beside the first run)")
    p.set_defaults(handler=_run)
