"""Sweeps of ``gamma2`` per regularizer: trainings in parallel processes, a table and plots.

Each point of the sweep is an ordinary run directory under the sweep directory, named
``<reg>-g<gamma2>`` (``vhat<v_hat>-g<gamma2>`` for the baseline, ``none`` once), with
``-s<seed>`` appended when the sweep repeats each point over several seeds, so a stopped
sweep resumes where it left off. The sweep writes ``sweep.json`` (one row per run),
``sweep.md`` (the runs as a table and, per point, the mean and sample standard deviation
over its seeds with the accuracy change against ``none``), ``tradeoff.png`` (accuracy
against firing rate per hidden layer and averaged for ``none``, ``m-ssr``, ``f-ssr``, like
the paper's Fig. 3; error bars of one standard deviation over seeds) and, when ``vhat`` ran,
``vhat.png`` (``vhat`` at each ``v_hat`` against ``m-ssr`` and ``none``, its Fig. 4).

:func:`collect` builds the same rows from run directories trained one by one with
``ttfs train``, so ``ttfs summarize`` can write the same report for them.
"""
import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

from model.files import write_text
from model.regularizer import REGULARIZERS

from .figure import plot_tradeoff


def plan(base, *, regs, gamma2s, v_hats=(), seeds=None):
    """The (run name, config) pairs of a sweep, in a fixed order.

    ``seeds=None`` trains each point once with ``base.seed`` under its plain name; a
    sequence of seeds trains each point once per seed, named ``<point>-s<seed>``.
    """
    if seeds is not None:
        seeds = tuple(seeds)
        if not seeds or len(set(seeds)) != len(seeds) or any(
                isinstance(seed, bool) or not isinstance(seed, int) or seed < 0
                for seed in seeds):
            raise ValueError(f"seeds must be distinct integers >= 0, not {seeds!r}")
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
    if seeds is None:
        return points
    return [(f"{name}-s{seed}", replace(config, seed=seed))
            for name, config in points for seed in seeds]


def _run_point(out_dir, config, threads):
    import torch

    from model.train import train

    from .codesign import with_energy_coefficients

    config = with_energy_coefficients(config)
    torch.set_num_threads(threads)
    metrics_path = Path(out_dir) / "metrics.json"
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text())
            check_metrics(metrics, metrics_path)
        except ValueError:  # unreadable: train (or resume) the point again
            metrics = {}
        if metrics.get("complete") and metrics.get("epochs_done") == config.epochs:
            return metrics
    return train(config, out_dir, resume=True)


def _label(config):
    return f"vhat v_hat={config.v_hat:g}" if config.reg == "vhat" else config.reg


def _row(name, config, metrics):
    return {"run": name, "label": _label(config), "dataset": config.dataset,
            "arch": "-".join(map(str, config.arch)), "reg": config.reg,
            "gamma2": config.gamma2, "v_hat": config.v_hat, "seed": config.seed,
            "epochs_done": metrics.get("epochs_done", config.epochs),
            "complete": metrics.get("complete", True),
            "test_accuracy": metrics["test_accuracy"],
            "firing_rate": metrics["firing_rate"],
            "firing_rate_mean": metrics["firing_rate_mean"]}


def run_sweep(base, out_dir, *, regs, gamma2s, v_hats=(), seeds=None, jobs=2, threads=1):
    """Train every point of the sweep (``jobs`` processes of ``threads`` threads each), then
    write the table and plots. Returns the rows (also in ``sweep.json``)."""
    points = plan(base, regs=regs, gamma2s=gamma2s, v_hats=v_hats, seeds=seeds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [(name, config, pool.submit(_run_point, out_dir / name, config, threads))
                   for name, config in points]
        rows = []
        for name, config, future in futures:
            rows.append(_row(name, config, future.result()))
    write_report(rows, out_dir)
    return rows


#: Config fields that may differ between the runs of one summary.
_PER_POINT = ("reg", "gamma2", "v_hat", "seed", "epochs")


def collect(run_dirs):
    """Rows like a sweep's from finished training runs (each a ``ttfs train`` directory).

    Raises ``ValueError`` naming the directory when one is missing its ``config.json`` or
    ``metrics.json``, holds corrupt ones, or has not finished an epoch; and when the runs
    differ in anything but the regularizer, ``gamma2``, ``v_hat``, seed and epochs (data
    set, architecture, learning rate, ...), which one table and plot cannot compare.
    """
    from model.train import TrainConfig

    rows, first = [], None
    for run_dir in map(Path, run_dirs):
        values = {}
        for name in ("config.json", "metrics.json"):
            path = run_dir / name
            if not path.is_file():
                raise ValueError(f"{path} not found: not a finished training run")
            try:
                values[name] = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: corrupt JSON ({exc})") from None
        metrics = values["metrics.json"]
        try:
            config = TrainConfig.from_json(values["config.json"])
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{run_dir / 'config.json'}: corrupt config ({exc})") from None
        check_metrics(metrics, run_dir / "metrics.json")
        shared = {key: value for key, value in asdict(config).items() if key not in _PER_POINT}
        if first is None:
            first = shared
        elif shared != first:
            differing = ", ".join(f"{key} ({first[key]} against {shared[key]})"
                                  for key in first if shared[key] != first[key])
            raise ValueError(f"{run_dir} differs from {rows[0]['run']} in {differing}: runs "
                             "to summarize may differ only in reg, gamma2, v_hat, seed and "
                             "epochs")
        rows.append(_row(run_dir.name, config, metrics))
    if not rows:
        raise ValueError("no run directories given")
    return rows


def _finite(value, low):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= low)


def check_metrics(metrics, path):
    """Raise ``ValueError`` naming ``path`` unless ``metrics`` is a ``metrics.json`` document
    of a run that finished an epoch: an accuracy in [0, 1], firing rates (finite, at least
    0) per hidden layer and their mean, and, when present, the epochs done and whether the
    run is complete."""
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: not a JSON object: not a finished training run")
    missing = [key for key in ("test_accuracy", "firing_rate", "firing_rate_mean")
               if key not in metrics]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: not a finished training run")
    rates = metrics["firing_rate"]
    if not (_finite(metrics["test_accuracy"], 0) and metrics["test_accuracy"] <= 1):
        raise ValueError(f"{path}: test_accuracy must be a number in [0, 1], not "
                         f"{metrics['test_accuracy']!r}")
    if not (isinstance(rates, list) and all(_finite(rate, 0) for rate in rates)
            and _finite(metrics["firing_rate_mean"], 0)):
        raise ValueError(f"{path}: firing_rate must be a list of numbers >= 0 and "
                         f"firing_rate_mean a number >= 0, not {rates!r} and "
                         f"{metrics['firing_rate_mean']!r}")
    epochs = metrics.get("epochs_done", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"{path}: epochs_done must be an integer >= 0, not {epochs!r}")
    if not isinstance(metrics.get("complete", True), bool):
        raise ValueError(f"{path}: complete must be true or false, not "
                         f"{metrics['complete']!r}")


def _mean_std(values):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def aggregate(rows):
    """One row per point (regularizer, ``gamma2``, ``v_hat``): means over its seeds, with
    sample standard deviations in ``*_std`` keys (0 for a single seed), the seeds and
    epochs that went in, and ``accuracy_change`` in points against the mean of ``none``
    (``None`` when no ``none`` run is among ``rows``). Points keep the order of ``rows``."""
    groups = {}
    for row in rows:
        key = (row["reg"], 0.0 if row["reg"] == "none" else row["gamma2"],
               row["v_hat"] if row["reg"] == "vhat" else None)
        groups.setdefault(key, []).append(row)
    points = []
    for (reg, gamma2, v_hat), members in groups.items():
        accuracy, accuracy_std = _mean_std([row["test_accuracy"] for row in members])
        mean_rate, mean_rate_std = _mean_std([row["firing_rate_mean"] for row in members])
        layers = [_mean_std(rates) for rates in zip(*(row["firing_rate"] for row in members))]
        points.append({"label": members[0]["label"], "reg": reg, "gamma2": gamma2,
                       "v_hat": v_hat, "runs": [row["run"] for row in members],
                       "seeds": [row.get("seed") for row in members],
                       "epochs_done": sorted({row.get("epochs_done") for row in members},
                                             key=lambda epochs: (epochs is None, epochs or 0)),
                       "test_accuracy": accuracy, "test_accuracy_std": accuracy_std,
                       "firing_rate": [mean for mean, _ in layers],
                       "firing_rate_std": [std for _, std in layers],
                       "firing_rate_mean": mean_rate, "firing_rate_mean_std": mean_rate_std})
    baseline = next((point for point in points if point["reg"] == "none"), None)
    for point in points:
        point["accuracy_change"] = (None if baseline is None else
                                    100 * (point["test_accuracy"] - baseline["test_accuracy"]))
    return points


def _spread(mean, std, several, digits=3):
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if several else f"{mean:.{digits}f}"


def write_report(rows, out_dir):
    """Write ``sweep.json``, ``sweep.md`` and the plots of ``rows`` into ``out_dir``."""
    out_dir = Path(out_dir)
    write_text(out_dir / "sweep.json", json.dumps(rows, indent=2) + "\n")
    lines = ["| run | reg | gamma2 | v_hat | seed | epochs | test accuracy (%) "
             "| firing rate per hidden layer | mean firing rate |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        rates = ", ".join(f"{rate:.3f}" for rate in row["firing_rate"])
        v_hat = f"{row['v_hat']:g}" if row["reg"] == "vhat" else ""
        lines.append(f"| {row['run']} | {row['reg']} | {row['gamma2']:g} | {v_hat} | "
                     f"{row.get('seed', '')} | {row.get('epochs_done', '')} | "
                     f"{100 * row['test_accuracy']:.2f} | {rates} | "
                     f"{row['firing_rate_mean']:.3f} |")
    points = aggregate(rows)
    lines += ["", "Per point (mean ± sample standard deviation where a point ran with "
              "several seeds):", "",
              "| reg | gamma2 | v_hat | runs | epochs | test accuracy (%) | firing rate per "
              "hidden layer | mean firing rate | accuracy change vs none (points) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for point in points:
        several = len(point["runs"]) > 1
        rates = ", ".join(_spread(mean, std, several) for mean, std in
                          zip(point["firing_rate"], point["firing_rate_std"]))
        accuracy = _spread(100 * point["test_accuracy"], 100 * point["test_accuracy_std"],
                           several, digits=2)
        mean_rate = _spread(point["firing_rate_mean"], point["firing_rate_mean_std"], several)
        v_hat = "" if point["v_hat"] is None else f"{point['v_hat']:g}"
        change = "" if point["accuracy_change"] is None else f"{point['accuracy_change']:+.2f}"
        epochs = ", ".join(str(epochs) for epochs in point["epochs_done"])
        lines.append(f"| {point['reg']} | {point['gamma2']:g} | {v_hat} | {len(point['runs'])} "
                     f"| {epochs} | {accuracy} | {rates} | {mean_rate} | {change} |")
    write_text(out_dir / "sweep.md", "\n".join(lines) + "\n")
    kinds = sorted({f"{row['dataset']} {row['arch']}: " for row in rows if "dataset" in row})
    prefix = kinds[0] if len(kinds) == 1 else ""
    main = [point for point in points if point["reg"] in ("none", "m-ssr", "f-ssr")]
    if main:
        plot_tradeoff(main, out_dir / "tradeoff.png",
                      title=f"{prefix}accuracy against firing rate")
    # the unregularized point (when it ran) is drawn too, as the reference both start from
    baseline = [point for point in points if point["reg"] in ("none", "vhat", "m-ssr")]
    if any(point["reg"] == "vhat" for point in baseline):
        plot_tradeoff(baseline, out_dir / "vhat.png",
                      title=f"{prefix}v_hat baseline against M-SSR")
