"""The digital-core stages as library functions: export the Verilog (with an optional
self-checking testbench) and co-simulate it.

Each takes a run directory and a frozen, validated config and returns a result object;
``ttfs export-verilog`` / ``ttfs cosim`` and :func:`flow.api.run_flow` call them. Nothing
here prints.
"""
import json
import time
from dataclasses import dataclass
from pathlib import Path

from hardware import tools
from mapping import allocation as allocation_io
from mapping import network as network_io
from mapping import reference
from mapping.files import write_text

from . import runs

__all__ = ["ExportConfig", "ExportResult", "CosimConfig", "CosimResult", "export_verilog",
           "cosimulate", "load_network", "image_inputs"]

DEFAULT_LANES = 8
COSIM_SCHEMA_VERSION = 1
SIMULATORS = ("icarus", "verilator")


def _lanes(value, name="lanes"):
    """An int or a tuple of positive ints (one per computing layer), checked."""
    values = value if isinstance(value, tuple) else (value,)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                         for v in values):
        raise ValueError(f"{name} must be a positive integer or a tuple of them (one per "
                         f"layer), not {value!r}")


def _count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")


@dataclass(frozen=True)
class ExportConfig:
    """How :func:`export_verilog` exports a run's network.

    Members
    -------
    out : output directory (None: ``RUN/verilog``)
    lanes : neurons per core and cycle, one value or a tuple with one per computing layer
    testbench : also write a self-checking testbench of this many test images (0: none)
    offset : the testbench's first test image
    lint : lint the Verilog with Verilator when it is installed
    dataset : data set of the test images (None: the run's)
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``)
    """

    out: object = None
    lanes: object = DEFAULT_LANES
    testbench: int = 0
    offset: int = 0
    lint: bool = True
    dataset: object = None
    data_dir: object = None

    def __post_init__(self):
        _lanes(self.lanes)
        _count("testbench", self.testbench, 0)
        _count("offset", self.offset, 0)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_verilog` wrote and found.

    Members
    -------
    verilog, sidecar : paths of ``ttfs_top.v`` and ``ttfs_top.json``
    parameters : the top's parameters (as in the sidecar)
    lint : Verilator's count per waived warning, or None when Verilator is absent
    testbench : the :class:`hardware.rtl.testbench.Testbench`, or None
    indices : the test images of the testbench (empty without one)
    """

    verilog: Path
    sidecar: Path
    parameters: dict
    lint: object
    testbench: object
    indices: tuple


@dataclass(frozen=True)
class CosimConfig:
    """How :func:`cosimulate` co-simulates a run's Verilog.

    Members
    -------
    sim : "icarus" or "verilator"
    samples : test images, from ``offset``
    offset : the first test image
    lanes : as for :class:`ExportConfig`
    out : the record to write (None: ``RUN/cosim.json``)
    waves : dump waveforms into the build directory (large)
    dataset, data_dir : as for :class:`ExportConfig`
    """

    sim: str = "icarus"
    samples: int = 10
    offset: int = 0
    lanes: object = DEFAULT_LANES
    out: object = None
    waves: bool = False
    dataset: object = None
    data_dir: object = None

    def __post_init__(self):
        if self.sim not in SIMULATORS:
            raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {self.sim!r}")
        _count("samples", self.samples, 1)
        _count("offset", self.offset, 0)
        _lanes(self.lanes)


@dataclass(frozen=True)
class CosimResult:
    """The co-simulation ``record`` (as written to ``cosim.json``: per-sample observations,
    ``mismatches``, ``first_mismatch``, timings) and its ``path``."""

    record: dict
    path: Path

    @property
    def passed(self):
        """Every sample equalled the reference."""
        return self.record["mismatches"] == 0

    @property
    def failures(self):
        """The failed check, in one message (empty when it passed)."""
        return () if self.passed else (
            f"{self.record['mismatches']} of {self.record['samples']} samples differ from "
            f"the reference; first: {self.record['first_mismatch']}",)


def load_network(run_dir):
    """The run's integer network and its allocation (allocated with default limits if the
    run has no ``allocation.json``)."""
    network = network_io.load(run_dir)
    if (Path(run_dir) / allocation_io.ALLOCATION_FILE).is_file():
        allocation = allocation_io.load(run_dir, network)
    else:
        allocation = allocation_io.allocate(network)
    return network, allocation


def image_inputs(run_dir, network, *, samples, offset=0, dataset=None, data_dir=None):
    """``(input spike steps [n, n_in], test image indices, labels)`` of test images
    ``offset .. offset + samples - 1`` of the run's data set (fewer at the split's end).

    Raises ValueError when ``offset`` leaves no image."""
    from model import data

    dataset = dataset or runs.dataset_of(run_dir, network, hint="pass a dataset")
    split = data.load(dataset, "test", root=data_dir)
    runs.check_classes(network, split, dataset)
    stop = min(offset + samples, len(split.labels))
    if offset >= stop:
        raise ValueError(f"offset {offset} leaves no sample of the {len(split.labels)} "
                         f"{dataset} test images")
    indices = tuple(range(offset, stop))
    steps = reference.encode(network, split.images[offset:stop])
    return steps, indices, [int(split.labels[i]) for i in indices]


def export_verilog(run_dir, config=ExportConfig()):
    """Export the run's network top as Verilog + sidecar (and a testbench if asked).

    Returns an :class:`ExportResult`. Raises FileNotFoundError / ValueError for a run
    without a quantized network or a bad config.
    """
    from hardware.rtl.export import lint, write_verilog
    from hardware.rtl.testbench import write_testbench
    from hardware.rtl.top import NetworkTop

    run_dir = Path(run_dir)
    network, allocation = load_network(run_dir)
    out = Path(config.out) if config.out is not None else run_dir / "verilog"
    top = NetworkTop(network, allocation, lanes=config.lanes)
    verilog_path, sidecar_path = write_verilog(top, out)
    counts = lint(verilog_path) if config.lint and tools.available()["verilator"] else None
    bench, indices = None, ()
    if config.testbench:
        steps, indices, _ = image_inputs(run_dir, network, samples=config.testbench,
                                        offset=config.offset, dataset=config.dataset,
                                        data_dir=config.data_dir)
        sidecar = json.loads(sidecar_path.read_text())
        bench = write_testbench(network, sidecar, steps, out, indices=indices)
    return ExportResult(verilog_path, sidecar_path, top.parameters(), counts, bench, indices)


def cosimulate(run_dir, config=CosimConfig()):
    """Co-simulate test images on the run's exported Verilog against the reference and write
    the record (``RUN/cosim.json`` or ``config.out``). Returns a :class:`CosimResult`.

    Raises
    ------
    hardware.tools.SimulatorMissing
        if the simulator is not installed.
    hardware.rtl.cosim.CosimError
        if the simulator cannot build or run the bench (a mismatch is a result, not this).
    """
    from hardware.rtl.cosim import run_cosim

    if config.out is not None and not Path(config.out).parent.is_dir():
        raise FileNotFoundError(f"out {config.out}: folder {Path(config.out).parent} does not "
                                f"exist")
    run_dir = Path(run_dir)
    network, allocation = load_network(run_dir)
    dataset = config.dataset or network.meta.get("dataset", "mnist")
    steps, indices, labels = image_inputs(run_dir, network, samples=config.samples,
                                         offset=config.offset, dataset=dataset,
                                         data_dir=config.data_dir)
    began = time.perf_counter()
    results = run_cosim(network, steps, run_dir / "cosim_build" / config.sim, sim=config.sim,
                        allocation=allocation, lanes=config.lanes, waves=config.waves)
    wall = time.perf_counter() - began
    for record, index, label in zip(results["per_sample"], indices, labels):
        record["index"], record["label"] = index, label
    doc = {"schema_version": COSIM_SCHEMA_VERSION, "simulator": config.sim,
           "dataset": dataset, "indices": list(indices), "wall_s": wall,
           "inferences_per_s": len(indices) / results["simulation_s"], **results}
    out = Path(config.out) if config.out is not None else run_dir / "cosim.json"
    write_text(out, json.dumps(doc, indent=1) + "\n")
    return CosimResult(doc, out)
