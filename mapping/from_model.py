"""The bridge from trained float checkpoints to integer networks: the one module of
:mod:`mapping` that imports :mod:`model` and torch.

It reads a run directory (``model.load_run``), turns the network into a
:class:`~mapping.quantize.FloatNetwork`, computes the float model's spike times on
calibration samples and its accuracy, and fine-tunes with quantization in the loop
(:func:`finetune`): weights fake-quantized to the integer network's grid and spike times
fake-quantized to the step grid, both with a straight-through estimator, so that the
forward pass is the integer network's and the gradient is the float model's.
"""
import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

import model
from model import data as datasets

from . import quantize as q
from . import reference
from .network import InputEncoding


def load_run(run_dir):
    """The trained network (eval mode) and its config dict from ``runs/NAME``."""
    return model.load_run(run_dir)


def float_network(net):
    """The :class:`FloatNetwork` of a ``model.TTFSNetwork``."""
    config = net.config
    return q.FloatNetwork(
        weights=tuple(layer.weight.detach().to(torch.float64).cpu().numpy() for layer in net.layers),
        threshold=float(config.threshold), t_max=float(config.t_max),
        encoding=InputEncoding(float(config.tau_in), bool(config.zero_silent),
                               threshold=float(config.input_threshold)))


@torch.no_grad()
def spike_times(net, images, *, batch_size=1000):
    """The float model's spike times of every computing layer, NumPy float64, ``inf`` = silent."""
    chunks = []
    for start in range(0, len(images), batch_size):
        times = net(net.encode(images[start:start + batch_size]))[1:]
        chunks.append([t.to(torch.float64).cpu().numpy() for t in times])
    return [np.concatenate(layer) for layer in zip(*chunks)]


@torch.no_grad()
def float_predictions(net, images, *, batch_size=1000):
    """Predicted classes of the float model (``model.predict``: first spike, else potential)."""
    out = []
    for start in range(0, len(images), batch_size):
        times = net(net.encode(images[start:start + batch_size]))
        out.append(model.predict(times[-1], net.final_potentials(times[-2])).cpu().numpy())
    return np.concatenate(out).astype(np.int64)


def calibration(net, images):
    """A :class:`Calibration` from ``images`` (uint8 [n, 28, 28] or [n, 784])."""
    pixels = np.asarray(images).reshape(len(images), -1)
    return q.Calibration(pixels, spike_times(net, pixels))


@dataclass(frozen=True)
class FinetuneConfig:
    """Options of :func:`finetune`.

    Members
    -------
    epochs : passes over the training samples
    batch_size : samples per step
    lr : Adam learning rate
    tau_soft : temperature of the softmax over ``-t_out / tau_soft`` (model time units)
    seed : seed of the sample order
    """

    epochs: int = 1
    batch_size: int = 128
    lr: float = 1e-4
    tau_soft: float = 0.5
    seed: int = 0

    def __post_init__(self):
        if not (isinstance(self.epochs, int) and self.epochs >= 0):
            raise ValueError(f"epochs must be a non-negative integer, not {self.epochs!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, not {self.batch_size!r}")
        if not (self.lr > 0 and self.tau_soft > 0):
            raise ValueError(f"lr and tau_soft must be positive, not {self.lr}, {self.tau_soft}")


class _RoundSTE(torch.autograd.Function):
    """``round`` (or ``ceil``) in the forward pass, the identity in the backward pass."""

    @staticmethod
    def forward(ctx, x, mode):
        return torch.ceil(x - 1e-9) if mode == "ceil" else torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def fake_weight(weight, scale, bits):
    """Weights on the integer grid ``scale * round(clip(w / scale))``, straight-through."""
    top = (1 << (bits - 1)) - 1
    return _RoundSTE.apply(torch.clamp(weight / scale, -top, top), "round") * scale


def fake_times(times, dt, steps):
    """Spike times on the step grid ``dt * ceil(t / dt)``, silent beyond step ``K - 1``."""
    finite = torch.isfinite(times)
    safe = torch.where(finite, times, torch.zeros_like(times))
    k = _RoundSTE.apply(safe / dt, "ceil")
    silent = ~finite | (k > steps - 1)
    return torch.where(silent, torch.full_like(times, math.inf), k * dt)


def fake_forward(net, input_steps, network):
    """Output spike times of ``net`` with weights and times fake-quantized as ``network``."""
    K, dt = network.steps, network.dt
    steps = torch.as_tensor(input_steps)
    times = torch.where(steps < K, steps.to(torch.float64) * dt,
                        torch.full(steps.shape, math.inf, dtype=torch.float64))
    for layer, int_layer in zip(net.layers, network.layers):
        weight = fake_weight(layer.weight.to(torch.float64), int_layer.weight_scale,
                             network.weight_bits)
        out = model.first_spike_times(times, weight, threshold=float(net.config.threshold),
                                      t_max=float(net.config.t_max))
        times = fake_times(out, dt, K)
    return times


def finetune(net, network, images, labels, config=FinetuneConfig()):
    """Quantization-aware fine-tuning; returns a fine-tuned copy of ``net`` (``net`` is kept).

    The weight scales and thresholds of ``network`` (an integer network quantized from
    ``net``) stay fixed; quantize the result with ``clips=quantize.grid_clips(network)`` to
    get the integer network whose forward pass this training used.
    """
    tuned = copy.deepcopy(net).train()
    pixels = np.asarray(images).reshape(len(images), -1)
    input_steps = reference.encode(network, pixels)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    optimizer = torch.optim.Adam(tuned.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        for batch in torch.randperm(len(labels), generator=generator).split(config.batch_size):
            out = fake_forward(tuned, input_steps[batch.numpy()], network)
            out = torch.where(torch.isfinite(out), out, torch.full_like(out, tuned.config.t_max))
            loss = torch.nn.functional.cross_entropy(-out / config.tau_soft, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return tuned.eval()


METRICS_FILE = "quant_metrics.json"
SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class RunData:
    """The samples a quantization of a run uses.

    Members
    -------
    calibration : uint8 images [n, ...] from the training split, for pass 2
    calibration_labels : their labels
    test, test_labels : the test split (or its first samples)
    finetune, finetune_labels : training images and labels for fine-tuning
    """

    calibration: np.ndarray
    calibration_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    finetune: np.ndarray = None
    finetune_labels: np.ndarray = None


def run_data(dataset, *, calibration_samples=1024, test_samples=0, finetune_samples=0,
             root=None, seed=0):
    """Samples for :func:`quantize_run`.

    ``calibration_samples`` and ``finetune_samples`` training samples are drawn with ``seed``
    (the calibration samples are the first of the fine-tuning ones); the test samples are
    the first ``test_samples`` of the test split (0 = all).
    """
    train = datasets.load(dataset, "train", root=root)
    test = datasets.load(dataset, "test", root=root)
    if calibration_samples < 1:
        raise ValueError(f"calibration_samples must be at least 1, not {calibration_samples}")
    for name, value in (("test_samples", test_samples), ("finetune_samples", finetune_samples)):
        if value < 0:
            raise ValueError(f"{name} must be at least 0, not {value}")
    order = np.random.default_rng(seed).permutation(len(train.labels))
    pick = np.sort(order[:calibration_samples])
    tune = np.sort(order[:finetune_samples])
    n_test = test_samples or len(test.labels)
    return RunData(train.images[pick], train.labels[pick], test.images[:n_test].copy(),
                   test.labels[:n_test].copy(), train.images[tune], train.labels[tune])


def quantize_run(net, data, config, *, qat=None, meta=None):
    """Quantize ``net`` (fine-tuned when ``qat`` is a :class:`FinetuneConfig` with epochs).

    Returns ``(network, metrics)``: the :class:`IntNetwork` and the ``quant_metrics.json``
    document (accuracies on ``data.test``, event counts per layer averaged per sample).
    """
    float_accuracy = float((float_predictions(net, data.test) == data.test_labels).mean())
    network = q.quantize(float_network(net), config, calibration=calibration(net, data.calibration),
                         meta=meta)
    tuned_accuracy = None
    if qat is not None and qat.epochs > 0:
        if data.finetune is None or not len(data.finetune):
            raise ValueError("fine-tuning needs training samples: set finetune_samples")
        net = finetune(net, network, data.finetune, data.finetune_labels, qat)
        tuned_accuracy = float((float_predictions(net, data.test) == data.test_labels).mean())
        network = q.quantize(float_network(net), config, clips=q.grid_clips(network),
                             meta={**(meta or {}), "qat_epochs": qat.epochs,
                                   "qat_samples": len(data.finetune_labels)})
    result = reference.evaluate(network, data.test, data.test_labels)
    return network, metrics(network, result, float_accuracy=float_accuracy,
                            finetuned_float_accuracy=tuned_accuracy,
                            qat_epochs=0 if qat is None else qat.epochs)


def metrics(network, result, *, float_accuracy, finetuned_float_accuracy=None, qat_epochs=0):
    """The ``quant_metrics.json`` document of an integer network and its evaluation."""
    sizes = network.sizes
    return {
        "schema_version": 1,
        "weight_bits": network.weight_bits, "steps": network.steps, "dt": network.dt,
        "qat_epochs": qat_epochs,
        "test_samples": result.samples,
        "float_accuracy": float_accuracy,
        "finetuned_float_accuracy": finetuned_float_accuracy,
        "int_accuracy": result.accuracy,
        "accuracy_drop_points": 100.0 * (float_accuracy - result.accuracy),
        "thresholds": [layer.threshold for layer in network.layers],
        "weight_scales": [layer.weight_scale for layer in network.layers],
        "clip_percentiles": network.meta.get("clip_percentiles"),
        "layer_sizes": sizes,
        "events_per_sample": {"spikes": result.spikes, "synops": result.synops,
                              "membrane_updates": result.membrane_updates,
                              "steps": result.steps},
        "firing_rate": [s / n for s, n in zip(result.spikes, sizes)],
    }


def sweep(net, data, *, weight_bits, steps):
    """Integer accuracy for every pair of ``weight_bits`` and ``steps``; a list of rows."""
    float_accuracy = float((float_predictions(net, data.test) == data.test_labels).mean())
    source, cal = float_network(net), calibration(net, data.calibration)
    rows = []
    for bits in weight_bits:
        for K in steps:
            network = q.quantize(source, q.QuantConfig(weight_bits=bits, steps=K), calibration=cal)
            result = reference.evaluate(network, data.test, data.test_labels)
            rows.append({"weight_bits": bits, "steps": K, "int_accuracy": result.accuracy,
                         "float_accuracy": float_accuracy, "test_samples": result.samples,
                         "spikes_per_sample": sum(result.spikes[1:]),
                         "synops_per_sample": sum(result.synops)})
    return rows
