"""A saturating accumulator: the small block the toolchain tests carry through every tool.

It is built in Amaranth, simulated there, converted to Verilog and driven by cocotb on
Icarus Verilog and Verilator; :func:`accumulate` is the Python model all of them must match.
"""
import random

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


def accumulate(total, addend, *, width):
    """One accumulation step of the model: return ``(new_total, clamped)``.

    ``new_total`` is ``total + addend`` clamped to the signed range of ``width`` bits;
    ``clamped`` says whether the clamp changed the sum.
    """
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    raw = total + addend
    new_total = min(max(raw, low), high)
    return new_total, new_total != raw


def model_trace(stimulus, *, width):
    """The model's ``(total, saturated)`` after each clock edge of ``stimulus``."""
    total, saturated, trace = 0, 0, []
    for clear, valid, addend in stimulus:
        if clear:
            total, saturated = 0, 0
        elif valid:
            total, clamped = accumulate(total, addend, width=width)
            saturated |= clamped
        trace.append((total, int(saturated)))
    return trace


def random_stimulus(count, *, addend_width, seed):
    """Random ``(clear, valid, addend)`` triples with long runs of one sign, so that both ends
    of the range are reached."""
    rng = random.Random(seed)
    half = 1 << (addend_width - 1)
    stimulus, sign = [], 1
    for i in range(count):
        if i % 40 == 0:
            sign = -sign
        if rng.random() < 0.8:
            addend = sign * rng.randrange(0, half)
        else:
            addend = rng.randrange(-half, half)
        stimulus.append((int(rng.random() < 0.03), int(rng.random() < 0.9), addend))
    return stimulus


class SaturatingAccumulator(wiring.Component):
    """Signed accumulator that clamps at the ends of its range instead of wrapping.

    On a clock edge with ``clear`` high, ``total`` becomes 0 and ``saturated`` low. Otherwise,
    with ``valid`` high, ``total`` becomes ``total + addend`` clamped to the signed range of
    ``width`` bits, and ``saturated`` goes high if the clamp acted; it stays high until the
    next ``clear`` or reset.

    Parameters
    ----------
    width : int
        Width of ``total`` in bits, in [2, 32].
    addend_width : int
        Width of ``addend`` in bits, in [1, ``width``].

    Members
    -------
    clear : In(1)
    valid : In(1)
    addend : In(signed(addend_width))
    total : Out(signed(width))
    saturated : Out(1)

    Raises
    ------
    TypeError
        if a width is not an integer.
    ValueError
        if a width is out of range.
    """

    def __init__(self, *, width, addend_width):
        if not isinstance(width, int) or isinstance(width, bool):
            raise TypeError(f"width must be an integer, not {width!r}")
        if not 2 <= width <= 32:
            raise ValueError(f"width must be an integer in [2, 32], not {width}")
        if not isinstance(addend_width, int) or isinstance(addend_width, bool):
            raise TypeError(f"addend_width must be an integer, not {addend_width!r}")
        if not 1 <= addend_width <= width:
            raise ValueError(f"addend_width must be an integer in [1, {width}], not {addend_width}")
        self._width = width
        self._addend_width = addend_width
        super().__init__({
            "clear": In(1),
            "valid": In(1),
            "addend": In(signed(addend_width)),
            "total": Out(signed(width)),
            "saturated": Out(1),
        })

    @property
    def width(self):
        return self._width

    @property
    def addend_width(self):
        return self._addend_width

    def elaborate(self, platform):
        m = Module()
        low, high = -(1 << (self._width - 1)), (1 << (self._width - 1)) - 1
        raw = Signal(signed(self._width + 1))
        m.d.comb += raw.eq(self.total + self.addend)
        clamped = Signal()
        m.d.comb += clamped.eq((raw > high) | (raw < low))
        with m.If(self.clear):
            m.d.sync += [self.total.eq(0), self.saturated.eq(0)]
        with m.Elif(self.valid):
            m.d.sync += self.total.eq(Mux(raw > high, high, Mux(raw < low, low, raw)))
            with m.If(clamped):
                m.d.sync += self.saturated.eq(1)
        return m
