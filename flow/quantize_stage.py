"""The quantization stage as a library function: a trained run to an integer network, its
core allocation and its metrics.

:func:`quantize` writes ``network.json`` + ``weights.npz``, ``allocation.json`` and
``quant_metrics.json`` into the run directory (as ``ttfs quantize`` describes) and returns a
:class:`QuantizeResult`; ``ttfs quantize`` and :func:`flow.api.run_flow` call it. Nothing
here prints.
"""
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mapping import allocation as alloc
from mapping import network as netmod
from mapping.quantize import QuantConfig

from . import runs

__all__ = ["QuantizeConfig", "QuantizeResult", "quantize"]


@dataclass(frozen=True)
class QuantizeConfig:
    """How :func:`quantize` maps a trained run to integers.

    Members
    -------
    weight_bits : signed weight width (2 .. 16)
    steps : time steps K (2 .. 65536)
    qat_epochs : epochs of quantization-aware fine-tuning (0: none)
    qat_lr : fine-tuning learning rate
    qat_samples : training samples for fine-tuning
    calibration_samples : training samples for calibration
    test_samples : evaluate on the first N test samples (0: all)
    input_threshold : pixels below it never spike (in [0, 1]); None: the run's own
        (``ttfs train --input-threshold``); another value is applied to the float model too
    prune_inputs : drop inputs without fan-out or never delivered on the pruning samples
    prune_dead : drop hidden neurons that deliver no spike on the pruning samples (or have
        no fan-out), with their weights
    prune_samples : training samples the pruning looks at (0: the whole training split)
    limits : the cores' :class:`mapping.allocation.CoreLimits`
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``)
    """

    weight_bits: int = 8
    steps: int = 256
    qat_epochs: int = 0
    qat_lr: float = 1e-4
    qat_samples: int = 10000
    calibration_samples: int = 1024
    test_samples: int = 0
    input_threshold: float = None
    prune_inputs: bool = False
    prune_dead: bool = False
    prune_samples: int = 0
    limits: alloc.CoreLimits = alloc.CoreLimits()
    data_dir: object = None

    def __post_init__(self):
        QuantConfig(weight_bits=self.weight_bits, steps=self.steps)
        for name, minimum in (("qat_epochs", 0), ("qat_samples", 1),
                              ("calibration_samples", 1), ("test_samples", 0),
                              ("prune_samples", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
        if self.input_threshold is not None and (
                isinstance(self.input_threshold, bool)
                or not isinstance(self.input_threshold, (int, float))
                or not 0 <= self.input_threshold <= 1):
            raise ValueError(f"input_threshold must be a number in [0, 1], not "
                             f"{self.input_threshold!r}")
        for name in ("prune_inputs", "prune_dead"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if not self.qat_lr > 0:
            raise ValueError(f"qat_lr must be positive, not {self.qat_lr!r}")
        if not isinstance(self.limits, alloc.CoreLimits):
            raise ValueError(f"limits must be a CoreLimits, not {type(self.limits).__name__}")


@dataclass(frozen=True)
class QuantizeResult:
    """The integer ``network``, its ``allocation`` and the ``quant_metrics.json`` document
    (``metrics``: float and integer accuracy, event counts per sample, cores)."""

    network: netmod.IntNetwork
    allocation: alloc.Allocation
    metrics: dict


def quantize(run_dir, config=QuantizeConfig()):
    """Quantize the trained run in ``run_dir`` and write its integer network, allocation and
    metrics there. Raises FileNotFoundError / ValueError for a run without a checkpoint."""
    from mapping import from_model  # torch: imported only once the config is valid

    run_dir = Path(run_dir)
    net, trained = from_model.load_run(run_dir)
    if config.input_threshold is not None:
        net.config = dataclasses.replace(net.config, input_threshold=float(config.input_threshold))
    dataset = trained.get("dataset", "mnist")
    data = from_model.run_data(dataset, calibration_samples=config.calibration_samples,
                               test_samples=config.test_samples,
                               finetune_samples=config.qat_samples if config.qat_epochs else 0,
                               root=config.data_dir)
    qat = from_model.FinetuneConfig(epochs=config.qat_epochs, lr=config.qat_lr,
                                    tau_soft=float(trained.get("tau_soft", 0.5)))
    network, metrics = from_model.quantize_run(
        net, data, QuantConfig(weight_bits=config.weight_bits, steps=config.steps), qat=qat,
        meta={"run": str(run_dir), "dataset": dataset})
    if config.prune_inputs or config.prune_dead:
        network, metrics = _prune(network, metrics, data, config, dataset)
    allocation = alloc.allocate(network, config.limits)
    netmod.save(network, run_dir)
    alloc.save(allocation, run_dir)
    metrics["cores"] = len(allocation.cores)
    runs.write_json(run_dir / from_model.METRICS_FILE, metrics)
    return QuantizeResult(network, allocation, metrics)


def _prune(network, metrics, data, config, dataset):
    """Prune as ``config`` asks; the metrics of the pruned network, with the test accuracy
    before and after each removal under ``pruning``."""
    from mapping import from_model, prune, reference
    from model import data as datasets

    train = datasets.load(dataset, "train", root=config.data_dir).images
    images = train[:config.prune_samples] if config.prune_samples else train
    record = {"samples": len(images), "int_accuracy_unpruned": metrics["int_accuracy"],
              "sizes_unpruned": network.sizes}
    result = None
    if config.prune_inputs:
        network, kept = prune.prune_inputs(network, _encode(network, images))
        result = reference.evaluate(network, data.test, data.test_labels)
        record["inputs"] = {"removed": int(metrics["layer_sizes"][0] - len(kept)),
                            "kept": int(len(kept)), "int_accuracy": result.accuracy}
    if config.prune_dead:
        network, kept = prune.prune_dead(network, _encode(network, images))
        result = reference.evaluate(network, data.test, data.test_labels)
        record["neurons"] = {"removed": network.meta["pruned_neurons"],
                             "kept": [int(len(k)) for k in kept], "int_accuracy": result.accuracy}
    pruned = from_model.metrics(network, result, float_accuracy=metrics["float_accuracy"],
                                finetuned_float_accuracy=metrics["finetuned_float_accuracy"],
                                qat_epochs=metrics["qat_epochs"])
    pruned["pruning"] = record
    return network, pruned


def _encode(network, images, chunk=10000):
    """Input steps of many images, in chunks (the float64 pixels of 60,000 are 376 MB)."""
    from mapping import reference

    flat = np.asarray(images).reshape(len(images), -1)
    return np.concatenate([reference.encode(network, flat[start:start + chunk])
                           for start in range(0, len(flat), chunk)])
