"""The analog neuron's cells as PySpice subcircuits, and the MOSFET helper that gives every
device the junctions of its diffusions. The builders of :mod:`hardware.spice.netlist`
assemble them into a neuron.
"""
from PySpice.Spice.Netlist import SubCircuitFactory

from .technology import DEFAULT

#: Unit synapse cells served by one unit of a bias-line gate.
BIAS_UNITS_PER_GATE = 32


def num(x):
    """A float rounded to 9 significant digits, so decks are stable text."""
    return float(f"{x:.9g}")




def mos(owner, name, d, g, s, b, model, w, l, tech, m=None):
    """A MOSFET with the junctions of a contacted drain and source: ``AD = AS = w *
    l_diff_m``, ``PD = PS = 2 (w + l_diff_m)`` (every unit of ``m`` its own diffusions)."""
    area, perimeter = num(w * tech.l_diff_m), num(2 * (w + tech.l_diff_m))
    extra = {} if m is None else {"m": m}
    owner.M(name, d, g, s, b, model=model, w=num(w), l=num(l), drain_area=area,
            source_area=area, drain_perimeter=perimeter, source_perimeter=perimeter, **extra)


class Inverter(SubCircuitFactory):
    """CMOS inverter of minimum-length devices, ``units`` in parallel."""

    NAME = "inv"
    NODES = ("vdd", "a", "y")

    def __init__(self, tech=DEFAULT):
        super().__init__(units=1)
        mos(self, "n", "y", "a", self.gnd, self.gnd, "nsw", tech.w_min_m, tech.l_min_m, tech,
             "{units}")
        mos(self, "p", "y", "a", "vdd", "vdd", "psw", 4 * tech.w_min_m, tech.l_min_m, tech,
             "{units}")


class Nor2(SubCircuitFactory):
    """Two-input CMOS NOR gate."""

    NAME = "nor2"
    NODES = ("vdd", "a", "b", "y")

    def __init__(self, tech=DEFAULT):
        super().__init__()
        wn, wp, l = tech.w_min_m, 4 * tech.w_min_m, tech.l_min_m
        mos(self, "na", "y", "a", self.gnd, self.gnd, "nsw", wn, l, tech)
        mos(self, "nb", "y", "b", self.gnd, self.gnd, "nsw", wn, l, tech)
        mos(self, "pa", "mid", "a", "vdd", "vdd", "psw", wp, l, tech)
        mos(self, "pb", "y", "b", "mid", "vdd", "psw", wp, l, tech)


class Latch(SubCircuitFactory):
    """Set-reset latch of two NOR gates: ``q`` rises on ``set`` and holds until ``reset``."""

    NAME = "latch"
    NODES = ("vdd", "set", "reset", "q", "qb")

    def __init__(self):
        super().__init__()
        self.X("r", Nor2.NAME, "vdd", "reset", "qb", "q")
        self.X("s", Nor2.NAME, "vdd", "set", "q", "qb")


class Comparator(SubCircuitFactory):
    """Two-stage comparator: ``outb`` is low while ``inp > inn``.

    Stage one is an NMOS differential pair with a tail of ``i_tail_A`` set by ``bias`` and a
    PMOS mirror whose diode sits on the ``inn`` side: while ``inp`` is well below ``inn`` the
    whole tail current flows through that side and ``o1`` rests at ``vdd``, so the waiting
    comparator draws exactly ``i_tail_A`` whatever the membrane voltage. Stage two, a PMOS
    common-source amplifier with an NMOS load on the same bias, is off while waiting; an
    inverter buffers ``o2`` (the window gate, a NOR in
    :func:`hardware.spice.netlist.transistor`, is the second stage of the buffer). Cutting
    ``bias`` and lowering ``sleepb`` turns it off with ``outb`` held low: the sleep device
    must only ever reinforce a decision to fire, or the latch could hang half-way.

    The pair (``w_pair_m x l_pair_m``) and the mirror (``w_mirror_m x l_mirror_m``) are
    minimum devices: their offset (:func:`hardware.spice.mismatch.comparator_offset_V`) is
    18.7 mV, and larger ones change the comparator's dynamics (see ``docs/spice.md``).

    With a ``suffix`` the subcircuit ``comparator<suffix>`` gives each of its eight devices
    ``1`` to ``8`` its own model card, ``<model><suffix><device>`` (``nsw_c1``, ...).
    """

    NAME = "comparator"
    NODES = ("vdd", "inp", "inn", "bias", "sleepb", "outb")

    def __init__(self, tech=DEFAULT, suffix=""):
        self.NAME = "comparator" + suffix
        super().__init__()
        w, l = 2 * tech.w_min_m, tech.l_min_m
        wi, li, wm, lm = tech.w_pair_m, tech.l_pair_m, tech.w_mirror_m, tech.l_mirror_m
        for name, d, g, s, b, model, width, length in (
                ("1", "o1", "inp", "tail", self.gnd, "nsw", wi, li),
                ("2", "d2", "inn", "tail", self.gnd, "nsw", wi, li),
                ("3", "d2", "d2", "vdd", "vdd", "psw", wm, lm),
                ("4", "o1", "d2", "vdd", "vdd", "psw", wm, lm),
                ("5", "tail", "bias", self.gnd, self.gnd, "nsw", w, l),
                ("6", "o2", "o1", "vdd", "vdd", "psw", 2 * w, l),
                ("7", "o2", "bias", self.gnd, self.gnd, "nsw", w, l),
                ("8", "o2", "sleepb", "vdd", "vdd", "psw", w, l)):
            card = model + suffix + name if suffix else model
            mos(self, name, d, g, s, b, card, width, length, tech)
        self.X("inv", Inverter.NAME, "vdd", "o2", "outb")


class SourcingSynapse(SubCircuitFactory):
    """The positive DACs of ``switches`` synapses that spike together, ``units`` weight
    units in all. The DAC's unit current sources (a branch of bit ``b`` is ``2^b`` of them;
    the weight bits select branches statically, and their select switches, on through the
    window, are not modelled) have their sources ``s`` connected to ``vdd`` by PMOS spike
    switches (on while ``gate`` is low) scaled with the branch, one ``w_spike_m`` device per
    unit: every unit then sees the same drop ``I_unit R_on`` in its source, a gain error the
    same for every weight that the per-layer trim takes out (one switch per synapse, whose
    drop grows with the weight, made a 127-unit DAC 0.5 % weaker per unit than an 8-unit
    one). Their drains ``x`` meet at the source of one PMOS output cascode (gate ``cbias``)
    on the membrane. Switching the sources keeps the switch's charge
    on the supply side: when the switch opens the DAC and the cascode cut off with ``x`` a
    few tens of millivolts below its working point, so closing it dumps next to nothing on
    the membrane.

    With a ``suffix`` the subcircuit ``syn_p<suffix>`` uses the model cards ``psw<suffix>``,
    ``pcs<suffix>`` and ``pcas<suffix>``: one synapse's own devices (device mismatch)."""

    NAME = "syn_p"
    NODES = ("vdd", "bias", "cbias", "gate", "mem")

    def __init__(self, tech=DEFAULT, suffix=""):
        self.NAME = "syn_p" + suffix
        super().__init__(units=1, switches=1)
        mos(self, "sw", "s", "gate", "vdd", "vdd", "psw" + suffix, tech.w_spike_m,
            tech.l_min_m, tech, "{units}")
        mos(self, "cs", "x", "bias", "s", "vdd", "pcs" + suffix, tech.w_cs_m, tech.l_cs_m,
            tech, "{units}")
        mos(self, "cas", "mem", "cbias", "x", "vdd", "pcas" + suffix, tech.w_cas_m,
            tech.l_cas_m, tech, "{switches}")


class SinkingSynapse(SubCircuitFactory):
    """The negative DACs of ``switches`` synapses: NMOS spike switches (on while ``gate`` is
    high, one per unit) from ground to the NMOS unit current sources, and per synapse one NMOS
    output cascode on the membrane (``suffix`` as for :class:`SourcingSynapse`)."""

    NAME = "syn_n"
    NODES = ("bias", "cbias", "gate", "mem")

    def __init__(self, tech=DEFAULT, suffix=""):
        self.NAME = "syn_n" + suffix
        super().__init__(units=1, switches=1)
        mos(self, "sw", "s", "gate", self.gnd, self.gnd, "nsw" + suffix, tech.w_spike_m,
            tech.l_min_m, tech, "{units}")
        mos(self, "cs", "x", "bias", "s", self.gnd, "ncs" + suffix, tech.w_cs_m, tech.l_cs_m,
            tech, "{units}")
        mos(self, "cas", "mem", "cbias", "x", self.gnd, "ncas" + suffix, tech.w_cas_m,
            tech.l_cas_m, tech, "{switches}")


class BiasGate(SubCircuitFactory):
    """Passes bias ``src`` to ``out`` until the neuron fires, then pulls ``out`` to the
    rail that turns the biased devices off: ground for NMOS biases (``polarity`` "n"),
    ``vdd`` for PMOS biases ("p"). Its ``units`` scale with the synapse cells on the line
    (:data:`BIAS_UNITS_PER_GATE` each). ``fire``/``enable`` must be buffered copies of the
    latch output ``fire`` and its inverse derived from it alone (not the latch's other
    output): during reset both latch outputs may sit low if the comparator starts high, and a
    comparator disabled by that would keep it so."""

    NODES = ("vdd", "src", "out", "fire", "enable")

    def __init__(self, polarity, tech=DEFAULT):
        self.NAME = f"biasgate_{polarity}"
        super().__init__(units=1)
        w, l, m = 20 * tech.w_min_m, tech.l_min_m, "{units}"
        if polarity == "n":
            mos(self, "pass", "out", "enable", "src", self.gnd, "nsw", w, l, tech, m)
            mos(self, "off", "out", "fire", self.gnd, self.gnd, "nsw", w, l, tech, m)
        elif polarity == "p":
            mos(self, "pass", "out", "fire", "src", "vdd", "psw", w, l, tech, m)
            mos(self, "off", "out", "enable", "vdd", "vdd", "psw", w, l, tech, m)
        else:
            raise ValueError(f"polarity must be 'n' or 'p', not {polarity!r}")

