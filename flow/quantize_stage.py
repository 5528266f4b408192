"""The quantization stage as a library function: a trained run to an integer network, its
core allocation and its metrics.

:func:`quantize` writes ``network.json`` + ``weights.npz``, ``allocation.json`` and
``quant_metrics.json`` into the run directory (as ``ttfs quantize`` describes) and returns a
:class:`QuantizeResult`; ``ttfs quantize`` and :func:`flow.api.run_flow` call it. Nothing
here prints.
"""
from dataclasses import dataclass
from pathlib import Path

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
    limits: alloc.CoreLimits = alloc.CoreLimits()
    data_dir: object = None

    def __post_init__(self):
        QuantConfig(weight_bits=self.weight_bits, steps=self.steps)
        for name, minimum in (("qat_epochs", 0), ("qat_samples", 1),
                              ("calibration_samples", 1), ("test_samples", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
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
    allocation = alloc.allocate(network, config.limits)
    netmod.save(network, run_dir)
    alloc.save(allocation, run_dir)
    metrics["cores"] = len(allocation.cores)
    runs.write_json(run_dir / from_model.METRICS_FILE, metrics)
    return QuantizeResult(network, allocation, metrics)
