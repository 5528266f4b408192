"""One trial of ``ttfs explore``: a point of the search trained, quantized, optionally
co-simulated and priced through :mod:`flow.api` (see :mod:`flow.explore` for the layout of
the search directory).

What trials share is computed once, under a file lock, by the first trial that needs it:
the training of a (regularizer, ``gamma2``) pair in ``OUT/train/<training>/`` and the
integer network of a (training, weight bits, K) in ``OUT/quant/<training>_w<bits>-k<K>/``.
A trial's own run directory receives their files (hard links where the file system allows,
else copies; every artifact is written by atomic rename, so a link never sees a later
change) and runs what depends on the core (co-simulation, energy report) itself.
"""
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from model.train import TrainConfig

from . import runs
from .energy_stage import EnergyConfig
from .explore_space import PRUNING
from .quantize_stage import QuantizeConfig

__all__ = ["run_trial", "finished_row", "read_training", "adopt", "digest", "TRIAL_FILE"]

TRIAL_FILE = "trial.json"
#: Files of a training run that a trial's run directory takes over.
TRAINING_FILES = ("config.json", "model.pt", "metrics.json")
#: Files of a quantization that a trial's run directory takes over (metrics last: it
#: marks the quantization finished).
QUANT_FILES = ("network.json", "weights.npz", "allocation.json", "quant_metrics.json")


def read_training(run_dir):
    """The :class:`TrainConfig` of the finished training run ``run_dir``.

    Raises
    ------
    ValueError
        naming the run, if it lacks a file, holds a corrupt one, or has not finished.
    """
    from .sweep import check_metrics

    run_dir = Path(run_dir)
    try:
        held = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text()))
        metrics = json.loads((run_dir / "metrics.json").read_text())
        check_metrics(metrics, run_dir / "metrics.json")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{run_dir}: not a finished training run ({exc})") from None
    if not (run_dir / "model.pt").is_file():
        raise ValueError(f"{run_dir}: not a finished training run (no model.pt)")
    if not metrics.get("complete", True) or metrics.get("epochs_done", held.epochs) \
            != held.epochs:
        raise ValueError(f"{run_dir}: its training is not finished "
                         f"({metrics.get('epochs_done')} of {held.epochs} epochs)")
    return held


def adopt(run_dir, train_dir, config):
    """Copy the finished training run ``run_dir`` of ``config`` into ``train_dir`` unless
    that holds it finished already (copies, never links: the run is not the search's)."""
    if finished_training(train_dir, config) is not None:
        return
    train_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.pt", "config.json", "metrics.json"):  # metrics.json last: it marks
        _copy(run_dir / name, train_dir / name, link=False)    # the training as finished


def digest(path):
    """The first 16 hex digits of the SHA-256 of the file at ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def finished_row(trial_dir, point, analog=None):
    """The row in ``trial_dir/trial.json`` if it holds a finished trial of ``point`` (priced
    with the analog model of digest ``analog`` when one is given), else None (absent,
    unreadable, another point, or priced without that analog model)."""
    path = Path(trial_dir) / TRIAL_FILE
    try:
        row = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(row, dict) or row.get("status") != "done" or any(
            row.get(key) != value for key, value in point.to_json().items()):
        return None
    if analog is not None and row.get("analog_model") != analog:
        return None
    return row


def finished_training(train_dir, config):
    """The metrics of a complete training of ``config`` in ``train_dir``, else None (its
    ``config.json`` holds the energy coefficients the training computed)."""
    from .codesign import with_energy_coefficients
    from .sweep import check_metrics

    config = with_energy_coefficients(config)
    try:
        held = TrainConfig.from_json(json.loads((train_dir / "config.json").read_text()))
        metrics = json.loads((train_dir / "metrics.json").read_text())
        check_metrics(metrics, train_dir / "metrics.json")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return None
    if held != config:
        raise ValueError(f"{train_dir} holds a training with another config; remove it or "
                         f"use another --out")
    if metrics.get("complete") and metrics.get("epochs_done") == config.epochs:
        return metrics
    return None


@contextlib.contextmanager
def _locked(folder):
    """Hold an exclusive lock on ``folder`` (a lock file beside it) while inside."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _train(train_dir, config, threads, data_dir):
    """(metrics, whether this call trained): the shared training of ``config``, trained
    (or resumed after its last finished epoch) unless it is complete."""
    from .train_stage import train

    with _locked(train_dir):
        metrics = finished_training(train_dir, config)
        if metrics is not None:
            return metrics, False
        return train(train_dir, config, resume=True, threads=threads, data_dir=data_dir), True


def _quantize(train_dir, quant_dir, point, config):
    """The ``quant_metrics.json`` document of the shared quantization of ``point``,
    quantized from ``train_dir`` unless it is finished."""
    from .quantize_stage import quantize

    with _locked(quant_dir):
        try:
            return json.loads((quant_dir / QUANT_FILES[-1]).read_text())
        except (OSError, UnicodeDecodeError, ValueError):
            pass
        quant_dir.mkdir(exist_ok=True)
        for name in TRAINING_FILES:
            _copy(train_dir / name, quant_dir / name)
        prune_inputs, prune_dead = PRUNING[point.prune]
        return quantize(quant_dir, QuantizeConfig(
            weight_bits=point.weight_bits, steps=point.steps,
            test_samples=config.test_samples, calibration_samples=config.calibration_samples,
            prune_inputs=prune_inputs, prune_dead=prune_dead,
            prune_samples=config.prune_samples, data_dir=config.data_dir)).metrics


def _copy(source, target, *, link=True):
    """Put ``source`` at ``target`` atomically: a hard link if ``link`` and the file system
    allows (files of the search only: a link shares the file's mode), else a copy."""
    from model.files import atomic_write

    def place(staged):
        if link:
            try:
                staged.unlink()
                os.link(source, staged)
                return
            except OSError:  # another file system: copy
                pass
        shutil.copyfile(source, staged)

    atomic_write(target, place)


def _timed(seconds, key, function, *args):
    began = time.perf_counter()
    result = function(*args)
    seconds[key] = time.perf_counter() - began
    return result


def run_trial(out, point, config):
    """Run one point of a search in ``out`` (train, quantize, co-simulate if asked, energy)
    unless it is finished, and return its row, also written to ``trial.json``.

    The row holds the point's values and: ``float_accuracy`` (the trained float model on
    its test subset), ``int_accuracy`` (the integer network on ``test_samples`` test
    images), ``energy_J`` / ``static_J`` (the digital energy report's mean per inference
    and its static part), ``latency_s`` / ``latency_cycles`` (mean per inference),
    ``firing_rate`` (the integer network's spikes per hidden neuron on the energy
    samples), ``synops`` (synaptic operations per inference), ``analog_energy_J`` (the
    analog neuron's mean energy per inference, None when the trial folder holds no
    ``analog_energy.json``) with ``analog_model`` (:func:`digest` of that file),
    ``cosim`` (the counter check: ``passed``, ``failed`` or ``missing``), ``trained``
    (whether this trial trained its network or found it trained) and the seconds each
    stage took in this trial (``train_s`` and ``quantize_s`` include waiting for a trial
    that computes them).
    """
    from . import api

    out = Path(out)
    trial_dir = out / "trials" / point.name
    row = finished_row(trial_dir, point, config.analog_digest)
    if row is not None:
        return row
    train_dir, quant_dir = out / "train" / point.train_name, out / "quant" / point.quant_name
    seconds = {}
    metrics, trained = _timed(seconds, "train_s", _train, train_dir,
                              point.train_config(config.base), config.threads, config.data_dir)
    quantized = _timed(seconds, "quantize_s", _quantize, train_dir, quant_dir, point, config)
    trial_dir.mkdir(parents=True, exist_ok=True)
    for folder, names in ((train_dir, TRAINING_FILES), (quant_dir, QUANT_FILES)):
        for name in names:
            _copy(folder / name, trial_dir / name)
    if config.cosim is not None:
        _timed(seconds, "cosim_s", api.cosimulate, trial_dir, api.CosimConfig(
            sim=config.cosim, samples=config.cosim_samples, lanes=point.lanes,
            out=trial_dir / f"cosim_{config.cosim}.json", data_dir=config.data_dir))
    if config.analog_model is not None:
        _copy(config.analog_model, trial_dir / "analog_energy.json", link=False)
    report = _timed(seconds, "energy_s", api.energy, trial_dir, EnergyConfig(
        samples=config.energy_samples, lanes=point.lanes, bank_bytes=point.bank_bytes,
        data_dir=config.data_dir)).doc
    row = _row(point, metrics, quantized, report, trained, seconds)
    priced = "energy_J" in report["analog"]
    row.update(analog_energy_J=report["analog"]["energy_J"]["mean"] if priced else None,
               analog_model=digest(trial_dir / "analog_energy.json") if priced else None)
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
