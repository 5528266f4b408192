"""Design-space search on Ray Tune (``ttfs explore``; docs/explore.md).

Each point of a :class:`~flow.explore_space.SearchSpace` is one Ray Tune trial that calls
the stages of :mod:`flow.api` in order: train, quantize, optionally co-simulate, energy.
The search directory ``OUT`` holds:

``search.json``
    the settings every trial shares (the training config apart from the regularizer,
    the sample counts, the co-simulation); a later search into ``OUT`` must use the same.
``train/<train>/``
    one ``ttfs train`` run per distinct training (``none``, ``m-ssr-g0.1``, ...), shared
    by the points that differ only in quantization or core.
``quant/<train>_w<bits>-k<K>/``
    one quantization per distinct integer network, shared by the points that differ only
    in the core (lanes, bank size).
``trials/<trial>/``
    one complete run directory per point (the files of its training and its integer
    network, then its energy report), which ``ttfs compare`` can read; ``trial.json``,
    written last, holds the point's row and marks it finished
    (:mod:`flow.explore_trial`).
``tune/<run>/``
    Ray Tune's record of each search run (experiment state, per-trial logs, errors).
``explore.csv``, ``explore.md``, ``pareto.png``
    the table of every point and the Pareto fronts (:mod:`flow.explore_report`).

A search resumes by running it again: finished trials (``trial.json`` present for the same
point) are read, not run; an unfinished training continues after its last finished epoch.
Only the unfinished points go to Tune, so a rerun costs nothing for what is done, and a
search with more values reuses every point and training the earlier one finished.
"""
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from model.train import TrainConfig

from . import runs
from .energy_stage import EnergyConfig
from .explore_space import TRAINING, SearchSpace, subset
from .explore_trial import adopt, digest, finished_row, read_training
from .quantize_stage import QuantizeConfig
from .rtl_stage import SIMULATORS

__all__ = ["ExploreConfig", "ExploreResult", "run_explore", "match_trained", "ray_tmp_dir"]

SCHEMA_VERSION = 1
SEARCH_FILE = "search.json"
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
    prune_samples : training images the pruning of points with ``prune`` looks at (0: all)
    energy_samples : test images the energy report runs (from the first)
    cosim : co-simulate each trial's core on this simulator (``icarus``, ``verilator``)
        before the energy report checks its counters; None: no co-simulation
    cosim_samples : test images co-simulated
    threads : CPU threads of a trial, also the CPUs Ray reserves for it
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``, made absolute)
    analog_model : an ``analog_energy.json`` (``ttfs spice``) that every trial's energy
        report also prices the analog neuron with (None: digital only). The per-event
        model belongs to the technology, not to a network, so one file serves every point;
        a trial priced with another file (or none) is priced again, its training and
        integer network reused.
    """

    base: TrainConfig = TrainConfig()
    space: SearchSpace = SearchSpace()
    samples: int = 0
    seed: int = 0
    test_samples: int = 1000
    calibration_samples: int = 1024
    prune_samples: int = 0
    energy_samples: int = 1000
    cosim: object = None
    cosim_samples: int = 2
    threads: int = 1
    data_dir: object = None
    analog_model: object = None

    def __post_init__(self):
        if not isinstance(self.base, TrainConfig):
            raise ValueError(f"base must be a TrainConfig, not {type(self.base).__name__}")
        if not isinstance(self.space, SearchSpace):
            raise ValueError(f"space must be a SearchSpace, not {type(self.space).__name__}")
        for name, minimum in (("samples", 0), ("seed", 0), ("test_samples", 0),
                              ("calibration_samples", 1), ("prune_samples", 0),
                              ("energy_samples", 1),
                              ("cosim_samples", 1), ("threads", 1)):
            _positive(name, getattr(self, name), minimum)
        if self.cosim is not None and self.cosim not in SIMULATORS:
            raise ValueError(f"cosim must be one of {', '.join(SIMULATORS)} or None, not "
                             f"{self.cosim!r}")
        from model import data

        object.__setattr__(self, "data_dir", data.data_root(self.data_dir).resolve())
        if self.analog_model is not None:
            from hardware.spice import energy_model

            path = Path(self.analog_model).absolute()
            if path.is_dir():
                path = path / energy_model.ENERGY_FILE
            energy_model.load(path)  # a precise error now rather than in every trial
            object.__setattr__(self, "analog_model", path)
        for point in self.points():  # every stage config of every point, checked now
            point.train_config(self.base)
        QuantizeConfig(test_samples=self.test_samples,
                       calibration_samples=self.calibration_samples)
        EnergyConfig(samples=self.energy_samples)

    @property
    def analog_digest(self):
        """:func:`flow.explore_trial.digest` of ``analog_model`` (None without one): what
        a trial's row records of the model it was priced with."""
        return None if self.analog_model is None else digest(self.analog_model)

    def points(self):
        """The points searched, in order."""
        return subset(self.space.points(self.base), self.samples, self.seed)

    def shared(self):
        """What every trial of a search directory shares (``search.json``)."""
        base = self.base.to_json()
        for name in (*TRAINING, "schema_version"):
            base.pop(name)
        return {"schema_version": SCHEMA_VERSION, "train": base,
                "test_samples": self.test_samples,
                "calibration_samples": self.calibration_samples,
                "prune_samples": self.prune_samples,
                "energy_samples": self.energy_samples, "cosim": self.cosim,
                "cosim_samples": self.cosim_samples if self.cosim else None}


@dataclass(frozen=True)
class ExploreResult:
    """The table of a search.

    Members
    -------
    rows : one dict per point, in search order (``status`` ``done``, ``failed`` or
        ``not run``; see :func:`flow.explore_trial.run_trial` for the fields of a finished one)
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
    if isinstance(held, dict) and isinstance(held.get("train"), dict):
        # a training option added since the search was recorded has its default there:
        # the earlier code trained as that default does
        defaults = TrainConfig().to_json()
        held["train"] = {**{k: defaults[k] for k in wanted["train"] if k not in held["train"]},
                         **held["train"]}
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
                trained=(), report=None):
    """Run the search of ``config`` into the folder ``out`` and write its table and plot.

    Parameters
    ----------
    out : the search directory (created)
    config : an :class:`ExploreConfig`
    address : a running Ray cluster to connect to (``auto``, ``host:port`` or
        ``ray://host:port``); None starts a local Ray instance for this search
    cpus : CPUs of the local instance (None: the CPUs this process may run on)
    ray_tmp : the local instance's temporary folder (see :func:`ray_tmp_dir`)
    trained : finished ``ttfs train`` runs to take as the trainings of the points they
        match (each must equal one training of the search, see :func:`match_trained`)
    report : called with one line per trial as it finishes or fails (library code never
        prints)

    Returns an :class:`ExploreResult`. Raises ``ValueError`` before anything is written
    when ``out`` holds a search with other shared settings, a trained run matches no
    training of the search, or an option is invalid; a failing trial does not raise (its
    row says why).
    """
    if not isinstance(config, ExploreConfig):
        raise ValueError(f"config must be an ExploreConfig, not {type(config).__name__}")
    out = Path(out).absolute()
    points = config.points()
    local = _local_options(address, cpus, ray_tmp, config.threads)
    done = _prepare(out, config, match_trained(trained, config))
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
    rows = [done.get(p.name) or finished_row(out / "trials" / p.name, p, config.analog_digest)
            or _unfinished_row(p, errors.get(p.name)) for p in points]
    from .explore_report import write_report

    paths = write_report(rows, out, title=f"{config.base.dataset} "
                                          f"{'-'.join(map(str, config.base.arch))}")
    return ExploreResult(tuple(rows), tuple(paths), tuple(done))


def _prepare(out, config, matched):
    """Check ``out`` against ``config``, record the shared settings, take over the
    ``matched`` trainings; returns {name: row} of the points finished before."""
    _check_shared(out, config)
    (out / "trials").mkdir(parents=True, exist_ok=True)
    runs.write_json(out / SEARCH_FILE, config.shared())
    for run_dir, point in matched:
        adopt(run_dir, out / "train" / point.train_name, point.train_config(config.base))
    return {p.name: row for p in config.points()
            if (row := finished_row(out / "trials" / p.name, p, config.analog_digest))
            is not None}


def match_trained(run_dirs, config):
    """``[(run directory, point)]``: each finished training run of ``run_dirs`` with a
    point whose training it equals (its ``config.json`` is the search's training
    config with a regularizer and ``gamma2`` of a searched point).

    Raises
    ------
    ValueError
        naming the run, if it is not a finished training or matches no training.
    """
    from .codesign import with_energy_coefficients

    trainings = {p.train_config(config.base): p for p in config.points()}
    wanted = {with_energy_coefficients(train): p for train, p in trainings.items()}
    base = config.base.to_json()
    matched = []
    for run_dir in map(Path, run_dirs):
        held = read_training(run_dir)
        if held not in wanted:
            differ = [f"{k} ({v!r}, not {base[k]!r})" for k, v in held.to_json().items()
                      if k not in (*TRAINING, *_COEFFICIENTS) and v != base[k]]
            searched = ", ".join(f"{name} {getattr(held, name)}" for name in TRAINING)
            why = (f"differs from the search's training in {', '.join(differ)}" if differ
                   else f"its training ({searched}) is not searched")
            raise ValueError(f"{run_dir}: matches no training of this search: {why}")
        matched.append((run_dir, wanted[held]))
    return matched


#: TrainConfig fields computed from the others when a training starts.
_COEFFICIENTS = ("energy_spike_pJ", "energy_fixed_pJ")


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
