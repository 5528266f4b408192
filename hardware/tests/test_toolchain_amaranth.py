# amaranth: UnusedElaboratable=no
"""Amaranth 0.5 end to end: a parameterised component, its simulation and its Verilog."""
import re

import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from toolchain_accumulator import SaturatingAccumulator, model_trace, random_stimulus


@pytest.mark.amaranth
@pytest.mark.parametrize("width, addend_width", [(4, 3), (8, 5), (12, 12)])
def test_toolchain_amaranth_accumulator_matches_model(width, addend_width):
    dut = SaturatingAccumulator(width=width, addend_width=addend_width)
    stimulus = random_stimulus(300, addend_width=addend_width, seed=width)
    expected = model_trace(stimulus, width=width)
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    assert {low, high} <= {total for total, _ in expected}, "stimulus must reach both ends"
    seen = []

    async def bench(ctx):
        for clear, valid, addend in stimulus:
            ctx.set(dut.clear, clear)
            ctx.set(dut.valid, valid)
            ctx.set(dut.addend, addend)
            await ctx.tick()
            seen.append((ctx.get(dut.total), ctx.get(dut.saturated)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == expected


@pytest.mark.amaranth
def test_toolchain_amaranth_accumulator_converts_to_verilog():
    text = verilog.convert(SaturatingAccumulator(width=8, addend_width=5), name="sat_acc_8")
    header = re.search(r"^module sat_acc_8\((.*)\);$", text, re.MULTILINE)
    assert header is not None
    assert sorted(header.group(1).split(", ")) == [
        "addend", "clear", "clk", "rst", "saturated", "total", "valid"]
    assert re.search(r"^\s*input \[4:0\] addend;$", text, re.MULTILINE)
    assert re.search(r"^\s*output \[7:0\] total;$", text, re.MULTILINE)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"width": 40, "addend_width": 4}, ValueError, "width must be an integer in [2, 32], not 40"),
    ({"width": 8, "addend_width": 9}, ValueError, "addend_width must be an integer in [1, 8], not 9"),
    ({"width": 8.0, "addend_width": 4}, TypeError, "width must be an integer, not 8.0"),
    ({"width": 8, "addend_width": True}, TypeError, "addend_width must be an integer, not True"),
])
def test_toolchain_amaranth_accumulator_rejects_bad_widths(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        SaturatingAccumulator(**kwargs)


def test_toolchain_amaranth_accumulator_exposes_parameters():
    dut = SaturatingAccumulator(width=10, addend_width=6)
    assert (dut.width, dut.addend_width) == (10, 6)
    with pytest.raises(AttributeError):
        dut.width = 11
