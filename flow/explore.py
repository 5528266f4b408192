"""Design-space search on Ray Tune (``ttfs explore``; docs/explore.md).

Each point of a :class:`~flow.explore_space.SearchSpace` is one Ray Tune trial that calls
the stages of :mod:`flow.api` in order: train, quantize, optionally co-simulate, energy.
The search directory ``OUT`` holds:

``search.json``
    the settings every trial shares (the training config apart from the regularizer,
    the sample counts, the co-simulation); a later search into ``OUT`` must use the same.
``train/<train>/``
    one ``ttfs train`` run per distinct training (``none``, ``m-ssr-g0.1``, ...), shared
    by the points that differ only in quantization or core; a lock file beside it lets
    one trial train while the others that need it wait.
``trials/<trial>/``
    one complete run directory per point (``config.json``, ``model.pt`` and
    ``metrics.json`` copied from its training, then the integer network, the energy
    report), ``ttfs compare`` can read it; ``trial.json``, written last, holds the point's
    row and marks it finished.
``tune/<run>/``
    Ray Tune's record of each search run (experiment state, per-trial logs, errors).
``explore.csv``, ``explore.md``, ``pareto.png``
    the table of every point and the Pareto fronts (:mod:`flow.explore_report`).

A search resumes by running it again: finished trials (``trial.json`` present for the same
point) are read, not run; an unfinished training continues after its last finished epoch.
Only the unfinished points go to Tune, so a rerun costs nothing for what is done, and a
search with more values reuses every point and training the earlier one finished.
"""
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from model.train import TrainConfig

from . import runs
from .energy_stage import EnergyConfig
from .explore_space import Point, SearchSpace, subset
from .quantize_stage import QuantizeConfig
from .rtl_stage import SIMULATORS

__all__ = ["ExploreConfig", "ExploreResult", "run_explore", "run_trial", "finished_row"]

SCHEMA_VERSION = 1
SEARCH_FILE = "search.json"
TRIAL_FILE = "trial.json"
#: Files of a training run that a trial's run directory takes over.
TRAINING_FILES = ("config.json", "model.pt", "metrics.json")
#: Ray's sockets live under its temporary folder; AF_UNIX paths end at 107 bytes and Ray
#: appends about 65 (``/session_<date>_<time>_<us>_<pid>/sockets/plasma_store``).
RAY_TMP_MAX_CHARS = 40
#: Ray's object store holds only the search settings here; 100 MB is above its minimum.
OBJECT_STORE_BYTES = 100 * 2**20


def _positive(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")


@dataclass(frozen=True)
class ExploreConfig:
    """What :func:`run_explore` searches and how each trial runs.

    Members
    -------
    base : the :class:`model.train.TrainConfig` of every training; ``reg`` and ``gamma2``
        come from each point
    space : the :class:`~flow.explore_space.SearchSpace`
    samples : search this many points of the grid, drawn with ``seed`` (0: all of them)
    seed : seed of that draw
    test_samples : test images the quantization stage measures accuracy on (0: all)
    calibration_samples : training images that calibrate the quantization
    energy_samples : test images the energy report runs (from the first)
    cosim : co-simulate each trial's core on this simulator (``icarus``, ``verilator``)
        before the energy report checks its counters; None: no co-simulation
    cosim_samples : test images co-simulated
    threads : CPU threads of a trial, also the CPUs Ray reserves for it
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``, made absolute)
    """

    base: TrainConfig = TrainConfig()
    space: SearchSpace = SearchSpace()
    samples: int = 0
    seed: int = 0
    test_samples: int = 1000
    calibration_samples: int = 1024
    energy_samples: int = 1000
    cosim: object = None
    cosim_samples: int = 2
    threads: int = 1
    data_dir: object = None

    def __post_init__(self):
        if not isinstance(self.base, TrainConfig):
            raise ValueError(f"base must be a TrainConfig, not {type(self.base).__name__}")
        if not isinstance(self.space, SearchSpace):
            raise ValueError(f"space must be a SearchSpace, not {type(self.space).__name__}")
        for name, minimum in (("samples", 0), ("seed", 0), ("test_samples", 0),
                              ("calibration_samples", 1), ("energy_samples", 1),
                              ("cosim_samples", 1), ("threads", 1)):
            _positive(name, getattr(self, name), minimum)
        if self.cosim is not None and self.cosim not in SIMULATORS:
            raise ValueError(f"cosim must be one of {', '.join(SIMULATORS)} or None, not "
                             f"{self.cosim!r}")
        from model import data

        object.__setattr__(self, "data_dir", data.data_root(self.data_dir).resolve())
        for point in self.points():  # every stage config of every point, checked now
            point.train_config(self.base)
        QuantizeConfig(test_samples=self.test_samples,
                       calibration_samples=self.calibration_samples)
        EnergyConfig(samples=self.energy_samples)

    def points(self):
        """The points searched, in order."""
        return subset(self.space.points(self.base), self.samples, self.seed)

    def shared(self):
        """What every trial of a search directory shares (``search.json``)."""
        base = self.base.to_json()
        for name in ("reg", "gamma2", "schema_version"):
            base.pop(name)
        return {"schema_version": SCHEMA_VERSION, "train": base,
                "test_samples": self.test_samples,
                "calibration_samples": self.calibration_samples,
                "energy_samples": self.energy_samples, "cosim": self.cosim,
                "cosim_samples": self.cosim_samples if self.cosim else None}


@dataclass(frozen=True)
class ExploreResult:
    """The table of a search.

    Members
    -------
    rows : one dict per point, in search order (``status`` ``done``, ``failed`` or
        ``not run``; see :func:`run_trial` for the fields of a finished one)
    paths : the files written (table, plot)
    reused : names of the points finished before this search started
    """

    rows: tuple
    paths: tuple
    reused: tuple

    @property
    def failed(self):
        """Rows of points that raised or whose co-simulation disagreed with the reference."""
        return tuple(row for row in self.rows
                     if row["status"] != "done" or row.get("cosim") == "failed")


def _check_shared(out, config):
    """Raise ``ValueError`` if ``out`` holds a search with other shared settings."""
    path = out / SEARCH_FILE
    if not path.is_file():
        return
    try:
        held = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}): remove it or use another "
                         f"--out") from None
    wanted = config.shared()
    if held == wanted:
        return
    diffs = [(f"{key}.{k}", held.get(key, {}).get(k), v) for key in ("train",)
             for k, v in wanted["train"].items()
             if isinstance(held.get(key), dict) and held[key].get(k) != v]
    diffs += [(k, held.get(k), v) for k, v in wanted.items()
              if k != "train" and held.get(k) != v]
    name, had, want = diffs[0] if diffs else ("its format", "?", "?")
    raise ValueError(f"{out} holds a search with {name} = {had!r}, not {want!r}: its trials "
                     f"cannot join this one; use another --out")


def ray_tmp_dir(path=None):
    """The folder for Ray's session files: ``path``, else ``$TTFS_RAY_TMP``, else
    ``<temporary folder>/ttfs-ray``. Raises ``ValueError`` when it is longer than
    :data:`RAY_TMP_MAX_CHARS` characters (Ray's sockets would not fit an AF_UNIX path)."""
    path = Path(path or os.environ.get("TTFS_RAY_TMP")
                or Path(tempfile.gettempdir()) / "ttfs-ray").absolute()
    if len(str(path)) > RAY_TMP_MAX_CHARS:
        raise ValueError(f"Ray's temporary folder {path} is {len(str(path))} characters long; "
                         f"Ray's socket paths need it at most {RAY_TMP_MAX_CHARS}: pass a "
                         f"shorter --ray-tmp")
    return path


def run_explore(out, config=ExploreConfig(), *, address=None, cpus=None, ray_tmp=None,
                report=None):
    """Run the search of ``config`` into the folder ``out`` and write its table and plot.

    Parameters
    ----------
    out : the search directory (created)
    config : an :class:`ExploreConfig`
    address : a running Ray cluster to connect to (``auto``, ``host:port`` or
        ``ray://host:port``); None starts a local Ray instance for this search
    cpus : CPUs of the local instance (None: the CPUs this process may run on)
    ray_tmp : the local instance's temporary folder (see :func:`ray_tmp_dir`)
    report : called with one line per trial as it finishes or fails (library code never
        prints)

    Returns an :class:`ExploreResult`. Raises ``ValueError`` before anything is written
    when ``out`` holds a search with other shared settings or an option is invalid; a
    failing trial does not raise (its row says why).
    """
    if not isinstance(config, ExploreConfig):
        raise ValueError(f"config must be an ExploreConfig, not {type(config).__name__}")
    out = Path(out).absolute()
    points = config.points()
    local = _local_options(address, cpus, ray_tmp, config.threads)
    _check_shared(out, config)
    (out / "trials").mkdir(parents=True, exist_ok=True)
    runs.write_json(out / SEARCH_FILE, config.shared())
    done = {p.name: row for p in points
            if (row := finished_row(out / "trials" / p.name, p)) is not None}
    todo = [p for p in points if p.name not in done]
    report = report or (lambda line: None)
    where = f"the Ray cluster at {address}" if local is None else (
        f"a local Ray instance of {local['num_cpus']} CPUs")
    report(f"{len(points)} points, {len(done)} finished before; running {len(todo)} on "
           f"{where}, {config.threads} CPU(s) per trial" if todo else
           f"{len(points)} points, all finished before")
    errors = {}
    if todo:
        from .explore_tune import tune_points

        errors = tune_points(out, todo, config, address=address, local=local,
                             report=report)
    rows = []
    for point in points:
        row = done.get(point.name) or finished_row(out / "trials" / point.name, point)
        rows.append(row or _unfinished_row(point, errors.get(point.name)))
    from .explore_report import write_report

    paths = write_report(rows, out, title=f"{config.base.dataset} "
                                          f"{'-'.join(map(str, config.base.arch))}")
    return ExploreResult(tuple(rows), tuple(paths), tuple(done))


def _local_options(address, cpus, ray_tmp, threads):
    """``ray.init`` options of a local instance (None when connecting to ``address``)."""
    if address is not None:
        if cpus is not None or ray_tmp is not None:
            raise ValueError("cpus and ray_tmp set up a local Ray instance; a cluster at "
                             "--address has its own")
        return None
    available = len(os.sched_getaffinity(0))
    cpus = available if cpus is None else cpus
    _positive("cpus", cpus)
    if cpus < threads:
        raise ValueError(f"a trial takes {threads} CPUs (threads), more than the {cpus} of "
                         f"the local Ray instance")
    return {"num_cpus": cpus, "include_dashboard": False,
            "object_store_memory": OBJECT_STORE_BYTES, "_temp_dir": str(ray_tmp_dir(ray_tmp))}


def _unfinished_row(point, error):
    status = "failed" if error else "not run"
    return {"trial": point.name, **point.to_json(), "status": status,
            "error": error or "the search stopped before this trial finished"}


def finished_row(trial_dir, point):
    """The row in ``trial_dir/trial.json`` if it holds a finished trial of ``point``, else
    None (absent, unreadable, or another point)."""
    path = Path(trial_dir) / TRIAL_FILE
    try:
        row = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(row, dict) or row.get("status") != "done" or any(
            row.get(key) != value for key, value in point.to_json().items()):
        return None
    return row


def _finished_training(train_dir, config):
    """The metrics of a complete training of ``config`` in ``train_dir``, else None."""
    from .sweep import check_metrics

    try:
        held = TrainConfig.from_json(json.loads((train_dir / "config.json").read_text()))
        metrics = json.loads((train_dir / "metrics.json").read_text())
        check_metrics(metrics, train_dir / "metrics.json")
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        return None
    if held != config:
        raise ValueError(f"{train_dir} holds a training with another config; remove it or "
                         f"use another --out")
    if metrics.get("complete") and metrics.get("epochs_done") == config.epochs:
        return metrics
    return None


def _train(train_dir, config, threads, data_dir):
    """(metrics, whether this call trained): the shared training of ``config``, trained
    (or resumed) under a lock unless it is complete."""
    from .train_stage import train

    train_dir.mkdir(parents=True, exist_ok=True)
    with open(train_dir.parent / f"{train_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        metrics = _finished_training(train_dir, config)
        if metrics is not None:
            return metrics, False
        return train(train_dir, config, resume=True, threads=threads, data_dir=data_dir), True


def _copy(source, target):
    """Copy ``source`` to ``target`` atomically."""
    from model.files import atomic_write

    atomic_write(target, lambda staged: shutil.copyfile(source, staged))


def run_trial(out, point, config):
    """Run one point of a search in ``out`` (train, quantize, co-simulate if asked, energy)
    unless it is finished, and return its row, also written to ``trial.json``.

    The row holds the point's values and: ``float_accuracy`` (the trained float model on
    its test subset), ``int_accuracy`` (the integer network on ``test_samples`` test
    images), ``energy_J`` / ``static_J`` (the digital energy report's mean per inference
    and its static part), ``latency_s`` / ``latency_cycles`` (mean per inference),
    ``firing_rate`` (the integer network's spikes per hidden neuron on the energy
    samples), ``synops`` (synaptic operations per inference), ``cosim`` (the counter
    check: ``passed``, ``failed`` or ``missing``), ``trained`` (whether this trial trained
    its network or found it trained) and the seconds of each stage.
    """
    from . import api

    out = Path(out)
    trial_dir = out / "trials" / point.name
    row = finished_row(trial_dir, point)
    if row is not None:
        return row
    seconds, began = {}, time.perf_counter()
    metrics, trained = _train(out / "train" / point.train_name, point.train_config(config.base),
                              config.threads, config.data_dir)
    seconds["train_s"], began = time.perf_counter() - began, time.perf_counter()
    trial_dir.mkdir(parents=True, exist_ok=True)
    for name in TRAINING_FILES:
        _copy(out / "train" / point.train_name / name, trial_dir / name)
    quantized = api.quantize(trial_dir, QuantizeConfig(
        weight_bits=point.weight_bits, steps=point.steps, test_samples=config.test_samples,
        calibration_samples=config.calibration_samples, data_dir=config.data_dir))
    seconds["quantize_s"], began = time.perf_counter() - began, time.perf_counter()
    if config.cosim is not None:
        api.cosimulate(trial_dir, api.CosimConfig(
            sim=config.cosim, samples=config.cosim_samples, lanes=point.lanes,
            out=trial_dir / f"cosim_{config.cosim}.json", data_dir=config.data_dir))
        seconds["cosim_s"], began = time.perf_counter() - began, time.perf_counter()
    report = api.energy(trial_dir, EnergyConfig(
        samples=config.energy_samples, lanes=point.lanes, bank_bytes=point.bank_bytes,
        data_dir=config.data_dir)).doc
    seconds["energy_s"] = time.perf_counter() - began
    row = _row(point, metrics, quantized.metrics, report, trained, seconds)
    runs.write_json(trial_dir / TRIAL_FILE, row)
    return row


def _row(point, metrics, quantized, report, trained, seconds):
    digital = report["digital"]
    return {"trial": point.name, **point.to_json(), "status": "done",
            "float_accuracy": metrics["test_accuracy"],
            "int_accuracy": quantized["int_accuracy"],
            "test_samples": quantized["test_samples"],
            "energy_J": digital["energy_J"]["mean"],
            "static_J": digital["static_J"]["mean"],
            "latency_s": digital["latency_s"]["mean"],
            "latency_cycles": digital["latency_cycles"]["mean"],
            "firing_rate": report["firing_rate"],
            "synops": digital["synaptic_operations"],
            "energy_samples": report["samples"],
            "cosim": report["checks"]["cosim"]["status"],
            "trained": trained, **seconds}

