"""``ttfs sweep``: train over ``gamma2`` for each regularizer in parallel processes and write
a table and accuracy-against-firing-rate plots (see :mod:`model.sweep`)."""
from pathlib import Path

from . import train_cmd


def _floats(text):
    try:
        return tuple(float(part) for part in text.split(",") if part)
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, not {text!r}") from None


def add_parser(subparsers):
    parser = subparsers.add_parser("sweep", help="sweep gamma2 per regularizer; table and "
                                                 "accuracy-vs-firing-rate plots")
    parser.add_argument("--regs", default="none,m-ssr,f-ssr",
                        help="comma-separated regularizers (none, m-ssr, f-ssr, vhat)")
    parser.add_argument("--gamma2s", default="0.01,0.03,0.1", help="comma-separated gamma2")
    parser.add_argument("--v-hats", default="0.25,0.5,0.75",
                        help="comma-separated v_hat for vhat")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    train_cmd.add_config_options(parser, regularizer=False)
    parser.add_argument("--out", required=True, type=Path, help="sweep directory")
    parser.set_defaults(handler=run, reg="none", gamma2=0.0, v_hat=0.5)


def run(args):
    from model.sweep import run_sweep

    if args.jobs < 1 or args.threads < 1:
        raise ValueError(f"--jobs and --threads must be at least 1, not {args.jobs} and "
                         f"{args.threads}")
    regs = tuple(part for part in args.regs.split(",") if part)
    base = train_cmd.config_from_args(args)
    rows = run_sweep(base, args.out, regs=regs, gamma2s=_floats(args.gamma2s),
                     v_hats=_floats(args.v_hats), jobs=args.jobs, threads=args.threads)
    for row in rows:
        print(f"{row['run']}: accuracy {100 * row['test_accuracy']:.2f} %, mean firing rate "
              f"{row['firing_rate_mean']:.3f}")
    print(f"wrote {args.out / 'sweep.md'} and plots")
    return 0
