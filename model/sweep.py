"""Sweeps of ``gamma2`` per regularizer: trainings in parallel processes, a table and plots.

Each point of the sweep is an ordinary run directory under the sweep directory, named
``<reg>-g<gamma2>`` (``vhat<v_hat>-g<gamma2>`` for the baseline, ``none`` once), so a
stopped sweep resumes where it left off. The sweep writes ``sweep.json`` (one row per run),
``sweep.md`` (the same as a table), ``tradeoff.png`` (accuracy against firing rate per
hidden layer and averaged for ``none``, ``m-ssr``, ``f-ssr``, like the paper's Fig. 3) and,
when ``vhat`` ran, ``vhat.png`` (``vhat`` at each ``v_hat`` against ``m-ssr``, its Fig. 4).
"""
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from .figure import plot_tradeoff
from .regularizer import REGULARIZERS


def plan(base, *, regs, gamma2s, v_hats=()):
    """The (run name, config) pairs of a sweep, in a fixed order."""
    for reg in regs:
        if reg not in REGULARIZERS:
            raise ValueError(f"regularizers must be among {', '.join(REGULARIZERS)}, not {reg!r}")
    if any(reg != "none" for reg in regs) and not gamma2s:
        raise ValueError("a sweep over regularizers needs at least one gamma2")
    if "vhat" in regs and not v_hats:
        raise ValueError("a sweep with vhat needs at least one v_hat")
    points = []
    for reg in regs:
        if reg == "none":
            points.append(("none", replace(base, reg="none", gamma2=0.0)))
            continue
        for v_hat in (v_hats if reg == "vhat" else (base.v_hat,)):
            for gamma2 in gamma2s:
                name = f"{reg}-g{gamma2:g}" if reg != "vhat" else f"vhat{v_hat:g}-g{gamma2:g}"
                points.append((name, replace(base, reg=reg, gamma2=gamma2, v_hat=v_hat)))
    return points


def _run_point(out_dir, config, threads):
    import torch

    from .train import train

    torch.set_num_threads(threads)
    metrics_path = Path(out_dir) / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        if metrics.get("complete") and metrics.get("epochs_done") == config.epochs:
            return metrics
    return train(config, out_dir, resume=True)


def _label(config):
    return f"vhat v_hat={config.v_hat:g}" if config.reg == "vhat" else config.reg


def run_sweep(base, out_dir, *, regs, gamma2s, v_hats=(), jobs=2, threads=1):
    """Train every point of the sweep (``jobs`` processes of ``threads`` threads each), then
    write the table and plots. Returns the rows (also in ``sweep.json``)."""
    points = plan(base, regs=regs, gamma2s=gamma2s, v_hats=v_hats)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [(name, config, pool.submit(_run_point, out_dir / name, config, threads))
                   for name, config in points]
        rows = []
        for name, config, future in futures:
            metrics = future.result()
            rows.append({"run": name, "label": _label(config), "reg": config.reg,
                         "gamma2": config.gamma2, "v_hat": config.v_hat,
                         "test_accuracy": metrics["test_accuracy"],
                         "firing_rate": metrics["firing_rate"],
                         "firing_rate_mean": metrics["firing_rate_mean"]})
    write_report(rows, out_dir)
    return rows


def write_report(rows, out_dir):
    """Write ``sweep.json``, ``sweep.md`` and the plots of ``rows`` into ``out_dir``."""
    out_dir = Path(out_dir)
    (out_dir / "sweep.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| run | reg | gamma2 | v_hat | test accuracy (%) | firing rate per hidden layer "
             "| mean firing rate |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        rates = ", ".join(f"{rate:.3f}" for rate in row["firing_rate"])
        v_hat = f"{row['v_hat']:g}" if row["reg"] == "vhat" else ""
        lines.append(f"| {row['run']} | {row['reg']} | {row['gamma2']:g} | {v_hat} | "
                     f"{100 * row['test_accuracy']:.2f} | {rates} | "
                     f"{row['firing_rate_mean']:.3f} |")
    (out_dir / "sweep.md").write_text("\n".join(lines) + "\n")
    main = [row for row in rows if row["reg"] in ("none", "m-ssr", "f-ssr")]
    if main:
        plot_tradeoff(main, out_dir / "tradeoff.png", title="accuracy against firing rate")
    baseline = [row for row in rows if row["reg"] in ("vhat", "m-ssr")]
    if any(row["reg"] == "vhat" for row in baseline):
        plot_tradeoff(baseline, out_dir / "vhat.png", title="v_hat baseline against M-SSR")
