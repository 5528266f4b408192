"""``ttfs sweep``: train over ``gamma2`` for each regularizer (and over seeds) in parallel
processes and write a table and accuracy-against-firing-rate plots; ``ttfs summarize``: the
same table and plots for runs trained one by one (see :mod:`flow.sweep`)."""
import sys
from pathlib import Path

from . import train_cmd


def _values(text, convert, kind):
    """``text`` split at commas (empty parts skipped), each part passed to ``convert``."""
    try:
        return tuple(convert(part) for part in text.split(",") if part)
    except ValueError:
        raise ValueError(f"expected comma-separated {kind}, not {text!r}") from None


def add_parser(subparsers):
    parser = subparsers.add_parser("sweep", help="sweep gamma2 per regularizer; table and "
                                                 "accuracy-vs-firing-rate plots")
    parser.add_argument("--regs", default="none,m-ssr,f-ssr",
                        help="comma-separated regularizers (none, m-ssr, f-ssr, vhat)")
    parser.add_argument("--gamma2s", default="0.01,0.03,0.1", help="comma-separated gamma2")
    parser.add_argument("--v-hats", default="0.25,0.5,0.75",
                        help="comma-separated v_hat for vhat")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds: train every point once per seed (runs "
                             "named <point>-s<seed>) and report mean and standard deviation; "
                             "default: once, with --seed")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    train_cmd.add_config_options(parser, regularizer=False)
    parser.add_argument("--out", required=True, type=Path, help="sweep directory")
    parser.set_defaults(handler=run, reg="none", gamma2=0.0, v_hat=0.5)
    summary = subparsers.add_parser(
        "summarize", help="table and accuracy-vs-firing-rate plots of finished training runs")
    summary.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                         help="run directories of `ttfs train`, differing only in reg, gamma2, "
                              "v_hat, seed and epochs")
    summary.add_argument("--out", required=True, type=Path,
                         help="directory for sweep.json, sweep.md and the plots")
    summary.set_defaults(handler=summarize)


def run(args):
    from .sweep import run_sweep

    if args.jobs < 1 or args.threads < 1:
        raise ValueError(f"--jobs and --threads must be at least 1, not {args.jobs} and "
                         f"{args.threads}")
    regs = tuple(part for part in args.regs.split(",") if part)
    base = train_cmd.config_from_args(args)
    seeds = None if args.seeds is None else _values(args.seeds, int, "integers")
    rows = run_sweep(base, args.out, regs=regs,
                     gamma2s=_values(args.gamma2s, float, "numbers"),
                     v_hats=_values(args.v_hats, float, "numbers"), seeds=seeds,
                     jobs=args.jobs, threads=args.threads)
    _print(rows, args.out)
    return 0


def summarize(args):
    from .sweep import collect, write_report

    rows = collect(args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    write_report(rows, args.out)
    _print(rows, args.out)
    unfinished = [f"{row['run']} ({row['epochs_done']} epochs)" for row in rows
                  if not row["complete"]]
    if unfinished:
        print(f"ttfs: warning: not finished (still training or stopped): "
              f"{', '.join(unfinished)}", file=sys.stderr)
    return 0


def _print(rows, out):
    from .sweep import aggregate

    for point in aggregate(rows):
        name = point["label"] if point["reg"] == "none" else \
            f"{point['label']} gamma2={point['gamma2']:g}"
        spread = (f" ± {100 * point['test_accuracy_std']:.2f}"
                  if len(point["runs"]) > 1 else "")
        change = ("" if point["accuracy_change"] is None or point["reg"] == "none"
                  else f" ({point['accuracy_change']:+.2f} points vs none)")
        epochs = ", ".join(str(epochs) for epochs in point["epochs_done"])
        print(f"{name}: accuracy {100 * point['test_accuracy']:.2f}{spread} %{change}, "
              f"mean firing rate {point['firing_rate_mean']:.3f} over {len(point['runs'])} "
              f"run(s) after {epochs} epochs")
    print(f"wrote {out / 'sweep.md'} and plots")
