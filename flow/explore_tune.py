"""The Ray side of ``ttfs explore``: the points of a search as the trials of one Ray Tune
experiment (imported only when a search runs, since it imports Ray).

Tune schedules the trials on the CPUs of the local instance or the cluster (``threads``
CPUs each), retries a trial whose worker died once (the trial resumes from what its run
folder holds), and keeps its record of the experiment under ``OUT/tune/<run>/``. Ray's own
messages stay out of the terminal (``log_to_driver=False``, ``logging_level=ERROR``, Tune
at ``verbose=0``); what a failed trial raised is in its ``error.txt`` there.
"""
import os
import time
from pathlib import Path

# The default output engine prints the experiment's table to stdout even at verbose=0;
# the legacy one is silent there (library code prints nothing). Read when Tune is imported.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

import ray  # noqa: E402
from ray import tune  # noqa: E402

from .explore_trial import run_trial  # noqa: E402
from .explore_space import Point  # noqa: E402

__all__ = ["tune_points"]


def _trainable(tune_config, out, config):
    """One trial: run its point and report the row (its numbers and strings) to Tune."""
    row = run_trial(out, Point.from_json(tune_config["point"]), config)
    tune.report({key: value for key, value in row.items()
                 if not isinstance(value, (dict, list))})


def _trial_dirname(trial):
    return Point.from_json(trial.config["point"]).name


def _error_line(error, path):
    cause = getattr(error, "cause", None) or error
    lines = str(cause).strip().splitlines()
    return (f"{type(cause).__name__}: {lines[-1] if lines else ''} "
            f"(traceback: {Path(path) / 'error.txt'})")


class _Progress(tune.Callback):
    """Passes one line per finished or failed trial to ``report``."""

    def __init__(self, report, total):
        self.report, self.total, self.ended = report, total, 0

    def _line(self, trial, what):
        self.ended += 1
        name = _trial_dirname(trial)
        self.report(f"[{self.ended}/{self.total}] {name}: {what}")

    def on_trial_complete(self, iteration, trials, trial, **info):
        r = trial.last_result or {}
        if "int_accuracy" not in r:
            return self._line(trial, "finished without a result")
        seconds = sum(r.get(k, 0.0) for k in ("train_s", "quantize_s", "cosim_s", "energy_s"))
        self._line(trial, f"integer accuracy {100 * r['int_accuracy']:.2f} %, "
                          f"{r['energy_J'] * 1e9:.4g} nJ, {r['latency_s'] * 1e6:.4g} us per "
                          f"inference ({seconds:.0f} s"
                          f"{', trained' if r.get('trained') else ''})")

    def on_trial_error(self, iteration, trials, trial, **info):
        self._line(trial, "failed")


def tune_points(out, points, config, *, address, local, report):
    """Run ``points`` as the trials of one Tune experiment in ``out/tune``; returns
    ``{trial name: one-line error}`` for the trials that failed (twice).

    ``local`` holds the ``ray.init`` options of a local instance (None: connect to the
    cluster at ``address``). Ray is shut down on the way out, whatever happens.
    """
    options = {"log_to_driver": False, "logging_level": "ERROR"}
    if local is None:
        ray.init(address=address, **options)
    else:
        Path(local["_temp_dir"]).mkdir(parents=True, exist_ok=True)
        ray.init(address="local", **local, **options)
    try:
        trainable = tune.with_resources(
            tune.with_parameters(_trainable, out=str(out), config=config),
            {"cpu": config.threads})
        tuner = tune.Tuner(
            trainable,
            param_space={"point": tune.grid_search([p.to_json() for p in points])},
            # a reused actor keeps its imports (torch alone takes seconds to import)
            tune_config=tune.TuneConfig(trial_dirname_creator=_trial_dirname,
                                        reuse_actors=True),
            run_config=tune.RunConfig(
                name=time.strftime("run-%Y%m%d-%H%M%S", time.gmtime()),
                storage_path=str(out / "tune"), verbose=0,
                callbacks=[_Progress(report, len(points))],
                failure_config=tune.FailureConfig(max_failures=1)))
        grid = tuner.fit()
        return {_trial_dirname_of(result): _error_line(result.error, result.path)
                for result in grid if result.error is not None}
    finally:
        ray.shutdown()


def _trial_dirname_of(result):
    return Point.from_json(result.config["point"]).name
