"""The energy stage as a library function: price a run's event counts and write its report
(``report.json``, ``report.md`` and plots); ``ttfs energy`` and :func:`flow.api.run_flow`
call it. Nothing here prints."""
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EnergyConfig", "EnergyResult", "energy"]

DEFAULT_SAMPLES = 1000


@dataclass(frozen=True)
class EnergyConfig:
    """What :func:`energy` evaluates.

    Members
    -------
    samples : test samples, from the first
    costs : path of a cost table (None: :data:`hardware.costs.DEFAULT_COSTS`)
    dataset : data set of the samples (None: the run's)
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``)
    lanes : neurons per core word, one int or one per computing layer (as ``ttfs cosim``)
    bank_bytes : largest SRAM bank a memory is built from, in bytes
    """

    samples: int = DEFAULT_SAMPLES
    costs: object = None
    dataset: object = None
    data_dir: object = None
    lanes: object = 8
    bank_bytes: int = 8192

    def __post_init__(self):
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) \
                or self.samples < 1:
            raise ValueError(f"samples must be a positive integer, not {self.samples!r}")


@dataclass(frozen=True)
class EnergyResult:
    """The report document (``doc``, as in ``report.json``) and the files written
    (``paths``); ``passed`` is false when the co-simulation counters disagree with the
    reference."""

    doc: dict
    paths: tuple

    @property
    def passed(self):
        return self.doc["checks"]["cosim"]["status"] != "failed"

    @property
    def failures(self):
        """The failed check, in one message (empty when it passed)."""
        cosim = self.doc["checks"]["cosim"]
        return () if self.passed else (f"co-simulation counters: {cosim['detail']}",)


def energy(run_dir, config=EnergyConfig()):
    """Evaluate the energy per inference of the run and write its report there; returns an
    :class:`EnergyResult`. Raises FileNotFoundError / ValueError as
    :func:`flow.energy_cmd.evaluate` does."""
    from . import energy_cmd, report

    doc = energy_cmd.evaluate(run_dir, samples=config.samples, costs=config.costs,
                              dataset=config.dataset, data_dir=config.data_dir,
                              lanes=config.lanes, bank_bytes=config.bank_bytes)
    return EnergyResult(doc, tuple(report.write_report(doc, Path(run_dir))))
