"""Training and evaluation of TTFS networks, run directories and their loading.

A run directory ``runs/NAME/`` holds ``config.json`` (every :class:`TrainConfig` field),
``checkpoint.pt`` (model, optimizer and history after the last finished epoch, written
atomically, used by ``resume``), ``model.pt`` (state dict of the latest epoch) and
``metrics.json`` (``test_accuracy`` in [0, 1], ``firing_rate``: spikes per neuron per sample
for each hidden layer on the test set, ``firing_rate_mean`` over hidden layers, ``history``
per epoch, ``epochs_done`` and ``complete``). ``model.pt`` and ``metrics.json`` are rewritten
after every epoch, so an unfinished run can be read at any time.
"""
import io
import json
import math
import pickle
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from . import data
from .energy import PJ_PER_UJ, EnergyCoefficients
from .energy_analog import ANALOG_FIELDS, AnalogCoefficients
from .files import write_bytes, write_text
from .network import NetworkConfig, TTFSNetwork, parse_arch, predict
from .neuron import T_MAX
from .regularizer import REGULARIZERS, hidden_penalty, loss_terms

SCHEMA_VERSION = 1
#: What the energy term of the loss can price.
ENERGY_TARGETS = ("digital", "analog")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Members
    -------
    dataset : ``mnist`` or ``fashion-mnist``
    arch, threshold, t_max, tau_in, zero_silent, input_threshold, init_mean, init_std : see
        NetworkConfig (``input_threshold``: pixels below it never spike)
    reg : sparse-firing regularizer: ``none``, ``m-ssr``, ``f-ssr`` or ``vhat``
    gamma1 : weight of the window term (label neuron must fire before t_max)
    gamma2 : weight of the sparse-firing regularizer
    v_hat : reference potential of ``vhat`` (0 <= v_hat <= threshold), else unused
    tau_soft : softmax temperature on -t_out (time units)
    lr : Adam learning rate; lr_decay : factor per epoch
    batch_size, epochs, seed : the usual
    train_subset, test_subset : use only the first N samples (0 = all)
    augment_shift : translate each training image by a random whole number of pixels in
        [-augment_shift, augment_shift] along each axis, zero filled, every time it is drawn
        (0 = off; the test set is never shifted)
    energy_weight : weight of the estimated energy per inference in uJ, added to the loss
        beside ``gamma2`` times ``reg``; 0 = off
    energy_target : what that estimate prices: ``digital`` (the core, :mod:`model.energy`)
        or ``analog`` (the analog neuron, :mod:`model.energy_analog`)
    energy_analog : the analog neuron's per-event energies, in the order of
        :data:`model.energy_analog.ANALOG_FIELDS` (empty = not set; ``ttfs train
        --energy-analog-model FILE`` reads them from an ``analog_energy.json``); with
        ``energy_steps``, ``energy_weight_bits`` and ``energy_softness`` they make the
        :class:`model.energy_analog.AnalogCoefficients`
    energy_spike_pJ, energy_fixed_pJ, energy_steps, energy_softness : the
        :class:`model.energy.EnergyCoefficients` (pJ per delivered spike of each layer,
        input first, and per inference); empty = not set (``ttfs train`` and
        ``flow.api.train`` compute them from the 45 nm cost table)
    energy_lanes, energy_bank_bytes, energy_weight_bits : the core the coefficients were
        computed for (a record; training reads only the coefficients)
    """

    dataset: str = "mnist"
    arch: tuple = (784, 400, 10)
    threshold: float = 1.0
    t_max: float = T_MAX
    tau_in: float = 1.0
    zero_silent: bool = True
    input_threshold: float = 0.0
    init_mean: float = 4.0
    init_std: float = 1.0
    reg: str = "none"
    gamma1: float = 1.0
    gamma2: float = 0.0
    v_hat: float = 0.5
    tau_soft: float = 0.5
    lr: float = 1e-3
    lr_decay: float = 0.9
    batch_size: int = 128
    epochs: int = 10
    seed: int = 0
    train_subset: int = 0
    test_subset: int = 0
    augment_shift: int = 0
    energy_weight: float = 0.0
    energy_spike_pJ: tuple = ()
    energy_fixed_pJ: float = 0.0
    energy_steps: int = 256
    energy_softness: float = 2.0
    energy_lanes: int = 8
    energy_bank_bytes: int = 8192
    energy_weight_bits: int = 8
    energy_target: str = "digital"
    energy_analog: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "arch", parse_arch(self.arch))
        analog = self.energy_analog
        if isinstance(analog, dict) and analog:
            unknown = sorted(set(analog) - set(ANALOG_FIELDS))
            if unknown or len(analog) != len(ANALOG_FIELDS):
                raise ValueError(f"energy_analog must hold exactly {', '.join(ANALOG_FIELDS)}, "
                                 f"not {', '.join(sorted(analog))}")
            analog = [analog[name] for name in ANALOG_FIELDS]
        elif isinstance(analog, dict):
            analog = ()
        object.__setattr__(self, "energy_analog", tuple(float(v) for v in analog))
        object.__setattr__(self, "energy_spike_pJ", tuple(float(v) for v in self.energy_spike_pJ))
        if self.dataset not in data.DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(data.DATASETS)}, "
                             f"not {self.dataset!r}")
        if self.reg not in REGULARIZERS:
            raise ValueError(f"reg must be one of {', '.join(REGULARIZERS)}, not {self.reg!r}")
        if self.reg == "vhat" and not 0 <= self.v_hat <= self.threshold:
            raise ValueError(f"v_hat must lie in [0, threshold={self.threshold}], "
                             f"not {self.v_hat}")
        if self.arch[0] != data.PIXELS or self.arch[-1] < data.CLASSES:
            raise ValueError(f"arch must take {data.PIXELS} inputs and have at least "
                             f"{data.CLASSES} outputs (one per class of {self.dataset}), not "
                             f"{'-'.join(map(str, self.arch))}")
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{field.name} must be finite, not {value}")
        for name in ("gamma1", "gamma2", "seed", "train_subset", "test_subset", "energy_weight",
                     "augment_shift"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, not {getattr(self, name)}")
        for name in ("tau_soft", "lr", "lr_decay", "batch_size", "epochs"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        if not isinstance(self.augment_shift, int) or self.augment_shift >= data.SIDE // 2:
            raise ValueError(f"augment_shift must be a whole number of pixels below "
                             f"{data.SIDE // 2}, not {self.augment_shift!r}")
        NetworkConfig.from_dict(asdict(self))
        self._check_energy()

    def _check_energy(self):
        if self.energy_target not in ENERGY_TARGETS:
            raise ValueError(f"energy_target must be one of {', '.join(ENERGY_TARGETS)}, "
                             f"not {self.energy_target!r}")
        if self.energy_analog:
            if len(self.energy_analog) != len(ANALOG_FIELDS):
                raise ValueError(f"energy_analog must hold {len(ANALOG_FIELDS)} numbers "
                                 f"({', '.join(ANALOG_FIELDS)}), not {len(self.energy_analog)}")
            self._analog()
        if self.energy_spike_pJ:
            if len(self.energy_spike_pJ) != len(self.arch):
                raise ValueError(f"energy_spike_pJ must hold one energy per layer of arch "
                                 f"{'-'.join(map(str, self.arch))} (input first), not "
                                 f"{len(self.energy_spike_pJ)}")
            EnergyCoefficients(self.energy_spike_pJ, self.energy_fixed_pJ,
                               steps=self.energy_steps, softness=self.energy_softness)
        for name in ("energy_lanes", "energy_bank_bytes", "energy_weight_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

    def _analog(self):
        return AnalogCoefficients.from_values(
            self.energy_analog, steps=self.energy_steps, weight_bits=self.energy_weight_bits,
            softness=self.energy_softness)

    @property
    def energy(self):
        """The coefficients of the energy term's target (:class:`model.energy.
        EnergyCoefficients` or :class:`model.energy_analog.AnalogCoefficients`), or None
        when they are not set."""
        if self.energy_target == "analog":
            return self._analog() if self.energy_analog else None
        if not self.energy_spike_pJ:
            return None
        return EnergyCoefficients(self.energy_spike_pJ, self.energy_fixed_pJ,
                                  steps=self.energy_steps, softness=self.energy_softness)

    @property
    def network(self):
        """The :class:`NetworkConfig` part."""
        return NetworkConfig.from_dict(asdict(self))

    def to_json(self):
        values = asdict(self)
        values["arch"] = list(self.arch)
        values["energy_spike_pJ"] = list(self.energy_spike_pJ)
        values["energy_analog"] = (dict(zip(ANALOG_FIELDS, self.energy_analog))
                                   if self.energy_analog else {})
        values["schema_version"] = SCHEMA_VERSION
        return values

    @classmethod
    def from_json(cls, values):
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def _write_json(path, values):
    write_text(path, json.dumps(values, indent=2) + "\n")


def _estimate_pJ(coefficients, network, times):
    """The energy term's estimate per sample, pJ, on ``network``'s spike ``times``."""
    return coefficients.estimate_pJ(times, [layer.weight for layer in network.layers],
                                    t_max=network.config.t_max,
                                    threshold=network.config.threshold)


def _subset(split, n):
    if n and n < len(split.labels):
        return split.images[:n], split.labels[:n]
    return split.images, split.labels


@torch.no_grad()
def evaluate(network, images, labels, *, batch_size=500, energy=None):
    """Accuracy and firing rate per hidden layer (spikes per neuron per sample).

    Returns a dict with ``accuracy`` (0 to 1), ``firing_rate`` (list over hidden layers)
    and ``firing_rate_mean``; with ``energy`` (the coefficients of
    :attr:`TrainConfig.energy`) also ``energy_estimate_uJ``, the mean estimated energy per
    inference.
    """
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    n_hidden = len(network.layers) - 1
    correct, spikes, energy_pJ = 0, [0.0] * n_hidden, 0.0
    for start in range(0, len(labels), batch_size):
        times = network(network.encode(images[start:start + batch_size]))
        final = network.final_potentials(times[-2])
        correct += int((predict(times[-1], final) == labels[start:start + batch_size]).sum())
        for layer in range(n_hidden):
            spikes[layer] += float(torch.isfinite(times[layer + 1]).float().mean(dim=1).sum())
        if energy is not None:
            energy_pJ += float(_estimate_pJ(energy, network, times).sum())
    n = max(len(labels), 1)
    rates = [s / n for s in spikes]
    result = {"accuracy": correct / n, "firing_rate": rates,
              "firing_rate_mean": sum(rates) / len(rates) if rates else 0.0}
    if energy is not None:
        result["energy_estimate_uJ"] = energy_pJ / n / PJ_PER_UJ
    return result


def train(config, out_dir, *, resume=False, progress=None, root=None):
    """Train a network as ``config`` says, writing the run into ``out_dir``.

    Parameters
    ----------
    config : :class:`TrainConfig`
    out_dir : run directory (created)
    resume : continue from ``out_dir/checkpoint.pt``; its config must equal ``config`` except
        for ``epochs``, so a finished run can be extended
    progress : optional ``progress(iterable, total=..., desc=...)`` wrapping the batch loop
        (for example ``tqdm.tqdm``); it may have ``set_postfix``
    root : data directory (see :mod:`model.data`)

    Returns
    -------
    The metrics dict also written to ``metrics.json``.
    """
    if config.energy_weight > 0 and config.energy is None:
        if config.energy_target == "analog":
            raise ValueError("energy_target analog needs energy_analog: `ttfs train "
                             "--energy-analog-model FILE` reads them from an analog_energy.json")
        raise ValueError("energy_weight needs energy_spike_pJ and energy_fixed_pJ: `ttfs train` "
                         "and flow.api.train compute them, or use "
                         "flow.codesign.energy_coefficients")
    out_dir = Path(out_dir)
    train_images, train_labels = _subset(data.load(config.dataset, "train", root=root),
                                         config.train_subset)
    test_images, test_labels = _subset(data.load(config.dataset, "test", root=root),
                                       config.test_subset)
    generator = torch.Generator().manual_seed(config.seed)
    network = TTFSNetwork(config.network).reset_parameters(generator)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_decay)
    history, start_epoch = [], 0
    checkpoint_path = out_dir / "checkpoint.pt"
    if resume and checkpoint_path.is_file():
        state = _load_checkpoint(checkpoint_path, config)
        _restore(state, checkpoint_path, network, optimizer, scheduler, generator)
        history, start_epoch = state["history"], state["epoch"]
    if start_epoch >= config.epochs:
        raise ValueError(f"{checkpoint_path} already holds all {config.epochs} epochs")
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: a rejected run leaves nothing
    _write_json(out_dir / "config.json", config.to_json())
    labels_all = torch.from_numpy(train_labels.astype(np.int64))
    energy = config.energy
    n_batches = math.ceil(len(labels_all) / config.batch_size)
    metrics = {}
    for epoch in range(start_epoch, config.epochs):
        network.train()
        started = time.perf_counter()
        permutation = torch.randperm(len(labels_all), generator=generator)
        batches = range(n_batches)
        if progress is not None:
            batches = progress(batches, total=n_batches, desc=f"epoch {epoch + 1}/{config.epochs}")
        sums = {"loss": 0.0, "cross_entropy": 0.0, "window": 0.0, "penalty": 0.0, "correct": 0}
        if energy is not None:
            sums["energy_uJ"] = 0.0
        for batch in batches:
            index = permutation[batch * config.batch_size:(batch + 1) * config.batch_size]
            images = train_images[index.numpy()]
            if config.augment_shift:
                images = data.random_shift(images, config.augment_shift, generator)
            input_times = network.encode(images)
            labels = labels_all[index]
            scans = network.scans(input_times)
            cross_entropy, window = loss_terms(network, input_times, labels, scans,
                                               tau_soft=config.tau_soft, gamma1=config.gamma1)
            penalty = (hidden_penalty(config.reg, network, input_times, scans, v_hat=config.v_hat)
                       if config.gamma2 > 0 else cross_entropy.new_zeros(()))
            loss = cross_entropy + config.gamma1 * window + config.gamma2 * penalty
            if energy is not None:
                times = [input_times] + [layer_scan.times for layer_scan in scans]
                energy_uJ = _estimate_pJ(energy, network, times).mean() / PJ_PER_UJ
                sums["energy_uJ"] += float(energy_uJ.detach()) * len(labels)
                if config.energy_weight > 0:
                    loss = loss + config.energy_weight * energy_uJ
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss became {loss.item()} in epoch {epoch + 1}, batch "
                                   f"{batch}: lower lr or gamma2")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                final = network.final_potentials(scans[-2].times if len(scans) > 1
                                                 else input_times)
                sums["correct"] += int((predict(scans[-1].times, final) == labels).sum())
            for key, value in (("loss", loss), ("cross_entropy", cross_entropy),
                               ("window", window), ("penalty", penalty)):
                sums[key] += float(value.detach()) * len(labels)
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(loss=f"{loss.item():.4f}")
        scheduler.step()
        n = len(labels_all)
        record = {key: value / n for key, value in sums.items() if key != "correct"}
        record.update(epoch=epoch + 1, train_accuracy=sums["correct"] / n,
                      train_seconds=time.perf_counter() - started)
        network.eval()
        test = evaluate(network, test_images, test_labels, energy=energy)
        record.update(test_accuracy=test["accuracy"], firing_rate=test["firing_rate"],
                      firing_rate_mean=test["firing_rate_mean"])
        if energy is not None:
            record["test_energy_estimate_uJ"] = test["energy_estimate_uJ"]
        history.append(record)
        _save_epoch(out_dir, network, optimizer, scheduler, generator, history, config)
        metrics = _metrics(history, test, len(test_labels), config)
        _write_json(out_dir / "metrics.json", metrics)
    return metrics


def _metrics(history, test, test_samples, config):
    metrics = {"test_accuracy": test["accuracy"], "firing_rate": test["firing_rate"],
               "firing_rate_mean": test["firing_rate_mean"], "test_samples": test_samples,
               "epochs_done": len(history), "complete": len(history) >= config.epochs,
               "history": history, "schema_version": SCHEMA_VERSION}
    if "energy_estimate_uJ" in test:
        metrics["energy_estimate_uJ"] = test["energy_estimate_uJ"]
    return metrics


def _save_epoch(out_dir, network, optimizer, scheduler, generator, history, config):
    state = {"model": network.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
             "history": history, "epoch": len(history), "config": config.to_json()}
    write_bytes(out_dir / "checkpoint.pt", _serialized(state))
    weights = _serialized(network.state_dict())
    write_bytes(out_dir / f"checkpoint_epoch{len(history)}.pt", weights)
    write_bytes(out_dir / "model.pt", weights)


def _serialized(state):
    # torch.save reports a failed write (a full disk, a file-size limit) as an opaque
    # RuntimeError; serialized first, the write fails with the OSError that names the cause
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


#: What a checkpoint holds besides the state dicts, with the type of each member.
_CHECKPOINT_MEMBERS = {"model": dict, "optimizer": dict, "scheduler": dict,
                       "generator": torch.Tensor, "history": list, "epoch": int, "config": dict}


def _load_checkpoint(path, config):
    """The checkpoint at ``path``, read without running code from it (``weights_only``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"{path}: refusing to resume: the checkpoint holds objects other than "
                         f"tensors and plain data, which could run code when loaded; only "
                         f"checkpoints written by `ttfs train` can be resumed") from None
    except Exception as exc:  # torch raises several types for a corrupt file
        raise ValueError(f"{path}: cannot read checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a checkpoint of `ttfs train` (a {type(state).__name__})")
    for name, kind in _CHECKPOINT_MEMBERS.items():
        if not isinstance(state.get(name), kind) or isinstance(state.get(name), bool):
            raise ValueError(f"{path}: not a checkpoint of `ttfs train` ('{name}' is missing or "
                             f"not a {kind.__name__})")
    if not 0 <= state["epoch"] == len(state["history"]):
        raise ValueError(f"{path}: corrupt checkpoint (epoch {state['epoch']} with "
                         f"{len(state['history'])} epochs of history)")
    try:
        saved = TrainConfig.from_json(state["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: corrupt config in checkpoint ({exc})") from None
    if replace(saved, epochs=config.epochs) != config:
        raise ValueError(f"{path}: checkpoint was trained with another config; resume with "
                         f"the same options (only --epochs may change) or a new --out")
    return state


def _restore(state, path, network, optimizer, scheduler, generator):
    try:
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise ValueError(f"{path}: checkpoint does not fit the network "
                         f"({exc.__class__.__name__})") from None


def load_run(run_dir):
    """Load a trained run: ``(network in eval mode, config dict)``.

    Raises
    ------
    FileNotFoundError
        if ``config.json`` or ``model.pt`` is missing (the message names the file).
    ValueError
        if either is corrupt or does not match the other.
    """
    run_dir = Path(run_dir)
    config_path, model_path = run_dir / "config.json", run_dir / "model.pt"
    for path in (config_path, model_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: not a training run directory")
    try:
        values = json.loads(config_path.read_text())
        network_config = NetworkConfig.from_dict(values)
    except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{config_path}: corrupt config ({exc})") from None
    network = TTFSNetwork(network_config)
    try:
        state = torch.load(model_path, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
    except Exception as exc:  # torch raises several types for a corrupt file
        raise ValueError(f"{model_path}: corrupt or mismatched state dict "
                         f"({exc.__class__.__name__})") from None
    return network.eval(), values
