"""The whole flow as a library function: from a data set to an energy report.

The pipeline is an explicit, ordered list of :class:`Step`: each names a stage function of
:mod:`flow.api`, the run directory and the stage's typed config, so a step is exactly the
library call a user would write. Each stage reads only the artifacts of earlier stages in
the run directory, so running the flow again redoes it from the start without harm. A
failed check (a co-simulation mismatch, a SPICE firing time out of bounds, RTL counters that
disagree with the reference in the energy report) is reported and the flow goes on, so that
later artifacts exist; the flow then ends with status 1. Bad input stops it with an error
naming the step.
"""
import time
from dataclasses import dataclass
from pathlib import Path

from hardware import tools

from . import data_cmd
from .energy_stage import EnergyConfig, energy
from .quantize_stage import QuantizeConfig, quantize
from .rtl_stage import CosimConfig, ExportConfig, cosimulate, export_verilog
from .spice_stage import SpiceConfig, simulate_spice

__all__ = ["FlowConfig", "Step", "stages", "run_flow", "required_simulators"]

SIMULATORS = ("icarus", "verilator")


@dataclass(frozen=True)
class FlowConfig:
    """What :func:`run_flow` (and ``ttfs run``) builds; the defaults finish in a few minutes
    on two cores.

    Members
    -------
    out : the run directory
    dataset : ``mnist`` or ``fashion-mnist``
    hidden : hidden layer sizes
    epochs : training epochs
    train_samples : training images used (the first ones of the split)
    test_samples : test images the training and quantization stages evaluate on
    weight_bits : signed weight width of the integer network
    steps : time steps K of the integer network
    cosim_samples : test samples co-simulated on each RTL simulator
    simulators : RTL simulators to co-simulate on
    spice_neurons : neurons of the first hidden layer simulated in SPICE
    spice_samples : test samples whose input spikes drive them
    energy_samples : test samples of the energy report
    """

    out: Path = Path("runs/demo")
    dataset: str = "mnist"
    hidden: tuple = (100,)
    epochs: int = 1
    train_samples: int = 10000
    test_samples: int = 1000
    weight_bits: int = 8
    steps: int = 64
    cosim_samples: int = 3
    simulators: tuple = SIMULATORS
    spice_neurons: int = 16
    spice_samples: int = 1
    energy_samples: int = 1000

    def __post_init__(self):
        object.__setattr__(self, "out", Path(self.out))
        for name in ("epochs", "train_samples", "test_samples", "weight_bits", "steps",
                     "cosim_samples", "spice_neurons", "spice_samples", "energy_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive layer sizes, not {self.hidden!r}")
        unknown = [s for s in self.simulators if s not in SIMULATORS]
        if unknown:
            raise ValueError(f"simulators must be among {', '.join(SIMULATORS)}, "
                             f"not {unknown[0]!r}")


@dataclass(frozen=True)
class Step:
    """One stage call of the flow: ``function(*args, config)``.

    Members
    -------
    label : the step's name in reports (``"cosim (icarus)"``)
    function : the stage function
    args : its positional arguments before the config (the run directory)
    config : its config object
    """

    label: str
    function: object
    args: tuple
    config: object

    def call(self):
        return self.function(*self.args, self.config)


def _data(dataset, _config):
    return data_cmd.ensure(dataset)


def _train(run, config):
    from .train_stage import train

    return train(run, config, threads=1)


def stages(config):
    """The pipeline of ``config``: a list of :class:`Step`, in order."""
    from model.train import TrainConfig

    run = config.out
    train_config = TrainConfig(dataset=config.dataset, arch=(784, *config.hidden, 10),
                               epochs=config.epochs, train_subset=config.train_samples,
                               test_subset=config.test_samples)
    plan = [
        Step("data", _data, (config.dataset,), None),
        Step("train", _train, (run,), train_config),
        Step("quantize", quantize, (run,), QuantizeConfig(
            weight_bits=config.weight_bits, steps=config.steps,
            test_samples=config.test_samples)),
        Step("export-verilog", export_verilog, (run,), ExportConfig(out=run / "verilog")),
    ]
    plan += [Step(f"cosim ({sim})", cosimulate, (run,), CosimConfig(
        sim=sim, samples=config.cosim_samples, out=run / f"cosim_{sim}.json"))
        for sim in config.simulators]
    plan += [
        Step("spice", simulate_spice, (run,), SpiceConfig(
            neurons=str(config.spice_neurons), samples=config.spice_samples)),
        Step("energy", energy, (run,), EnergyConfig(samples=config.energy_samples)),
    ]
    return plan


def required_simulators(config):
    """Simulators the flow needs: the chosen RTL simulators and ngspice."""
    return tuple(config.simulators) + ("ngspice",)


def _snapshot(directory):
    if not directory.is_dir():
        return {}
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


@dataclass(frozen=True)
class FlowResult:
    """``status`` (0, or 1 when a check failed), ``failed`` (labels of the steps whose
    check failed), ``results`` (each step's return value by label) and ``artifacts`` (the
    files each step wrote or changed in the run directory, by label)."""

    status: int
    failed: tuple
    results: dict
    artifacts: dict


def run_flow(config=FlowConfig(), *, report=None):
    """Run every step of ``config``; returns a :class:`FlowResult`.

    ``report``, when given, receives one line per step as it finishes (library code never
    prints). A step whose check fails does not stop the flow.

    Raises
    ------
    hardware.tools.SimulatorMissing
        before any step runs, if a simulator the flow needs is not installed.
    RuntimeError
        naming the step, when a step meets bad input or a missing artifact.
    """
    for name in required_simulators(config):
        tools.require(name)
    report = report or (lambda line: None)
    results, artifacts, failed = {}, {}, []
    for step in stages(config):
        before = _snapshot(config.out)
        start = time.perf_counter()
        try:
            result = step.call()
        except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
            raise RuntimeError(f"step {step.label}: {exc}") from exc
        after = _snapshot(config.out)
        results[step.label] = result
        artifacts[step.label] = sorted(p for p, t in after.items() if before.get(p) != t)
        failures = tuple(getattr(result, "failures", ()))
        report(f"[{step.label}] finished in {time.perf_counter() - start:.1f} s"
               + (f"; check failed: {failures[0]}" if failures else ""))
        if failures:
            failed.append(step.label)
    if failed:
        report(f"ttfs run: checks failed in: {', '.join(failed)}")
    return FlowResult(1 if failed else 0, tuple(failed), results, artifacts)
