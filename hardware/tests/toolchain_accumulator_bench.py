"""cocotb bench of the saturating accumulator's Verilog, run by ``test_toolchain_cocotb.py``.

The launcher passes the parameters in the environment: ``TOOLCHAIN_WIDTH`` and
``TOOLCHAIN_ADDEND_WIDTH`` (the widths the model assumes), ``TOOLCHAIN_COUNT`` (transactions)
and ``TOOLCHAIN_SEED``. The driver applies one transaction per clock on the falling edge; the
monitor samples the outputs on the next falling edge, after the rising edge has taken the
transaction in; the scoreboard compares them in order with :func:`model_trace`.
"""
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from toolchain_accumulator import model_trace, random_stimulus

CLOCK_PERIOD_NS = 10


class Scoreboard:
    """In-order comparison of observed outputs with the expected ones."""

    def __init__(self, expected):
        self._expected = list(expected)
        self._index = 0
        self.mismatches = []

    def check(self, observed):
        if self._index >= len(self._expected):
            raise AssertionError(f"output {self._index} observed but only "
                                 f"{len(self._expected)} expected")
        if observed != self._expected[self._index]:
            self.mismatches.append((self._index, observed, self._expected[self._index]))
        self._index += 1

    def finish(self):
        assert self._index == len(self._expected), (
            f"{self._index} outputs observed, {len(self._expected)} expected")
        assert not self.mismatches, (
            f"{len(self.mismatches)} mismatches (index, (total, saturated) observed, expected), "
            f"first: {self.mismatches[:3]}")


def _sample(dut):
    return dut.total.value.to_signed(), int(dut.saturated.value)


@cocotb.test(timeout_time=1, timeout_unit="ms")
async def accumulator_matches_model(dut):
    """Random transactions, both ends of the range reached, outputs equal to the model's."""
    width = int(os.environ["TOOLCHAIN_WIDTH"])
    addend_width = int(os.environ["TOOLCHAIN_ADDEND_WIDTH"])
    stimulus = random_stimulus(int(os.environ["TOOLCHAIN_COUNT"]), addend_width=addend_width,
                               seed=int(os.environ["TOOLCHAIN_SEED"]))
    scoreboard = Scoreboard(model_trace(stimulus, width=width))

    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    dut.clear.value = 0
    dut.valid.value = 0
    dut.addend.value = 0
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    assert _sample(dut) == (0, 0), f"after reset: (total, saturated) = {_sample(dut)}"

    for clear, valid, addend in stimulus:
        dut.clear.value = clear
        dut.valid.value = valid
        dut.addend.value = addend
        await FallingEdge(dut.clk)
        scoreboard.check(_sample(dut))
    scoreboard.finish()
