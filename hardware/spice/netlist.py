"""PySpice netlists of the analog TTFS neuron, at two levels.

Both levels compute the ramp of :mod:`hardware.spice.ramp` with the mapping of
:mod:`hardware.spice.technology`: an input spike at step ``s`` switches its synapse on at
``(s + 1) * dt_s`` (a spike driver edge centred on that instant) until the end of the window
(model time ``K - 1``), the synapse drives ``w * I_unit`` into the fixed membrane capacitor,
and the neuron fires when the membrane reaches ``v_rest_V + v_swing_V``; then a latch stops
every synapse, so it fires once. ``I_unit`` delivers the charge to fire in ``theta``
unit-steps (:func:`neuron_unit_current_A`).

* :func:`behavioral`: ideal switched current sources (one per spike step and sign, which is
  exact for ideal sources) proportional to the spike driver's voltage (so its edge, centred
  on the switching instant, delivers exactly the charge of an instant step) and cut by the
  latch; an ideal clamp at the floor ``v_floor_V``; an ideal comparator whose output charges
  a load ``c_load_F`` from the supply; it latches because the membrane, with every source
  cut, stays above the trip point, :data:`BEHAVIORAL_TRIP` of the swing above the
  threshold. The firing time of this level is the membrane's crossing of the threshold.
  The membrane starts at ``v_rest_V`` (transient with ``uic``).
* :func:`transistor`: per synapse and polarity a binary-weighted current DAC (unit current
  sources whose sources a spike switch connects to the rail, one output cascode on the
  membrane), DACs of a step merged; the bias lines are cut and pulled off by the latch after
  firing; a two-stage comparator that draws a constant ``i_tail_A`` while it waits and whose
  bias is cut after firing; a NOR latch; a reset transmission gate that holds the membrane
  at ``v_rest_V`` for ``reset_s``. The latch output ``fire`` (where the firing time is
  measured) drives the bias-line gates through a buffer chain sized for them. Gate biases
  come from ideal sources at the level-1 values of :func:`bias_voltages`; the per-fan-in
  :class:`Trim` (:mod:`hardware.spice.calibration`) sets the unit current, the comparator
  offset, the polarities' bias ratios and the spike drivers' advance. Every device has the
  junctions of its drain and source diffusions.

Node names shared by both levels: ``vdd``, ``mem`` (membrane), ``fire`` (latch output).
The supply sources are ``Vdd`` (everything) and, at the transistor level, ``Vdrv`` (spike
drivers), ``Vrest`` and the bias sources; :func:`supplies` lists them.
"""
from dataclasses import dataclass

import numpy as np
from PySpice.Spice.Netlist import Circuit, SubCircuitFactory

from . import ramp
from .technology import DEFAULT

LEVELS = ("behavioral", "transistor")

#: Unit synapse cells served by one unit of a bias-line gate.
BIAS_UNITS_PER_GATE = 32

#: The behavioral latch trips this fraction of the swing above the threshold, so that the
#: membrane's crossing of the threshold itself lies on the unperturbed ramp.
BEHAVIORAL_TRIP = 1e-3

#: Conductance of the behavioral floor clamp (S): the membrane settles 0.5 mV below the
#: floor against 5 uA of sinking current.
BEHAVIORAL_FLOOR_S = 1e-2


def _num(x):
    """A float rounded to 9 significant digits, so decks are stable text."""
    return float(f"{x:.9g}")


@dataclass(frozen=True)
class Neuron:
    """One neuron and its input spikes, in the integer model's units.

    Members
    -------
    weights : int64 [n_in] weights of the neuron
    input_steps : int64 [n_in] input spike steps (``steps`` = no spike)
    threshold : integer threshold, at least 1
    steps : K, the number of steps of the window
    """

    weights: np.ndarray
    input_steps: np.ndarray
    threshold: int
    steps: int

    def __post_init__(self):
        w, s = ramp._check(self.weights, self.input_steps, self.threshold, self.steps)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "input_steps", s)
        object.__setattr__(self, "threshold", int(self.threshold))
        object.__setattr__(self, "steps", int(self.steps))

    @classmethod
    def from_layer(cls, network, layer, neuron, layer_input_steps):
        """Neuron ``neuron`` of ``network.layers[layer]`` fed by one sample's spike steps."""
        lay = network.layers[layer]
        return cls(lay.weight[neuron], np.asarray(layer_input_steps), lay.threshold,
                   network.steps)

    @property
    def delivered(self):
        """Mask of inputs whose spike reaches the neuron inside the window (``s <= K - 2``)."""
        return self.input_steps <= self.steps - 2

    def crossing(self):
        """Closed-form crossing in model steps (``math.inf`` if it never fires)."""
        return ramp.crossing_step(self.weights, self.input_steps, self.threshold, self.steps)


def _spike_wave(tech, step, active_high, steps, advance_s=0.0):
    """PWL points of a spike driver whose edge is centred on ``tech.time_s(step) -
    advance_s`` and which switches back at the end of the window, model time ``steps - 1``
    (its falling edge ends one edge time later, so that a crossing exactly at the end is
    reached): from then on no synapse drives the membrane, and the comparator and latch
    have the readout latency to decide on it."""
    t = tech.time_s(step) - advance_s
    end = tech.time_s(steps - 1) - advance_s + tech.edge_s
    lo, hi = (0.0, tech.vdd_V) if active_high else (tech.vdd_V, 0.0)
    half = tech.edge_s / 2
    return [(0.0, lo), (_num(t - half), lo), (_num(t + half), hi), (_num(end - half), hi),
            (_num(end + half), lo)]


def behavioral(neuron, tech=DEFAULT):
    """Behavioral netlist of ``neuron``: ideal sources, ideal comparator and latch."""
    i_unit = tech.i_unit_A(neuron.threshold)
    half = _num(tech.vdd_V / 2)
    c = Circuit("ttfs neuron behavioral")
    c.V("dd", "vdd", c.gnd, tech.vdd_V)
    c.C("mem", "mem", c.gnd, _num(tech.c_mem_F), initial_condition=tech.v_rest_V)
    # the floor: an ideal clamp returns what the sinks draw below v_floor_V (from ground,
    # so that it is not counted as supply energy); a conductance, which Newton's method
    # handles where a sink current cut by a step function lets the membrane overshoot
    c.B("floor", c.gnd, "mem",
        i=f"{BEHAVIORAL_FLOOR_S}*max(0,{_num(tech.v_floor_V)}-V(mem))")
    w, s = neuron.weights[neuron.delivered], neuron.input_steps[neuron.delivered]
    for step in np.unique(s):
        on = s == step
        pos, neg = int(w[on & (w > 0)].sum()), int(-w[on & (w < 0)].sum())
        if not (pos or neg):
            continue
        c.PieceWiseLinearVoltageSource(f"s{step}", f"s{step}", c.gnd,
                                       values=_spike_wave(tech, step, True, neuron.steps))
        gate = f"V(s{step})/{_num(tech.vdd_V)}*(V(fire)<{half})"
        if pos:
            c.B(f"p{step}", "vdd", "mem", i=f"{_num(pos * i_unit)}*{gate}")
        if neg:
            c.B(f"n{step}", "mem", c.gnd, i=f"{_num(neg * i_unit)}*{gate}")
    g_cmp = _num(tech.c_load_F / (tech.edge_s / 10))
    trip = _num(tech.v_fire_V + BEHAVIORAL_TRIP * tech.v_swing_V)
    c.B("cmp", "vdd", "fire",
        i=f"{g_cmp}*({_num(tech.vdd_V)}*(V(mem)>{trip})-V(fire))")
    c.C("load", "fire", c.gnd, tech.c_load_F, initial_condition=0)
    return c


def _mos(owner, name, d, g, s, b, model, w, l, tech, m=None):
    """A MOSFET with the junctions of a contacted drain and source: ``AD = AS = w *
    l_diff_m``, ``PD = PS = 2 (w + l_diff_m)`` (every unit of ``m`` its own diffusions)."""
    area, perimeter = _num(w * tech.l_diff_m), _num(2 * (w + tech.l_diff_m))
    extra = {} if m is None else {"m": m}
    owner.M(name, d, g, s, b, model=model, w=_num(w), l=_num(l), drain_area=area,
            source_area=area, drain_perimeter=perimeter, source_perimeter=perimeter, **extra)


class Inverter(SubCircuitFactory):
    """CMOS inverter of minimum-length devices, ``units`` in parallel."""

    NAME = "inv"
    NODES = ("vdd", "a", "y")

    def __init__(self, tech=DEFAULT):
        super().__init__(units=1)
        _mos(self, "n", "y", "a", self.gnd, self.gnd, "nsw", tech.w_min_m, tech.l_min_m, tech,
             "{units}")
        _mos(self, "p", "y", "a", "vdd", "vdd", "psw", 4 * tech.w_min_m, tech.l_min_m, tech,
             "{units}")


class Nor2(SubCircuitFactory):
    """Two-input CMOS NOR gate."""

    NAME = "nor2"
    NODES = ("vdd", "a", "b", "y")

    def __init__(self, tech=DEFAULT):
        super().__init__()
        wn, wp, l = tech.w_min_m, 4 * tech.w_min_m, tech.l_min_m
        _mos(self, "na", "y", "a", self.gnd, self.gnd, "nsw", wn, l, tech)
        _mos(self, "nb", "y", "b", self.gnd, self.gnd, "nsw", wn, l, tech)
        _mos(self, "pa", "mid", "a", "vdd", "vdd", "psw", wp, l, tech)
        _mos(self, "pb", "y", "b", "mid", "vdd", "psw", wp, l, tech)


class Latch(SubCircuitFactory):
    """Set-reset latch of two NOR gates: ``q`` rises on ``set`` and holds until ``reset``."""

    NAME = "latch"
    NODES = ("vdd", "set", "reset", "q", "qb")

    def __init__(self):
        super().__init__()
        self.X("r", Nor2.NAME, "vdd", "reset", "qb", "q")
        self.X("s", Nor2.NAME, "vdd", "set", "q", "qb")


class Comparator(SubCircuitFactory):
    """Two-stage comparator: ``out`` is high while ``inp > inn``.

    Stage one is an NMOS differential pair with a tail of ``i_tail_A`` set by ``bias`` and a
    PMOS mirror whose diode sits on the ``inn`` side: while ``inp`` is well below ``inn`` the
    whole tail current flows through that side and ``o1`` rests at ``vdd``, so the waiting
    comparator draws exactly ``i_tail_A`` whatever the membrane voltage. Stage two, a PMOS
    common-source amplifier with an NMOS load on the same bias, is off while waiting; two
    inverters buffer ``o2``. Cutting ``bias`` and lowering ``sleepb`` turns it off with
    ``out`` held high: the sleep device must only ever reinforce a decision to fire, or the
    latch could hang half-way.
    """

    NAME = "comparator"
    NODES = ("vdd", "inp", "inn", "bias", "sleepb", "out")

    def __init__(self, tech=DEFAULT):
        super().__init__()
        w, l = 2 * tech.w_min_m, tech.l_min_m
        for name, d, g, s, b, model, width, length in (
                ("1", "o1", "inp", "tail", self.gnd, "nsw", w, l),
                ("2", "d2", "inn", "tail", self.gnd, "nsw", w, l),
                ("3", "d2", "d2", "vdd", "vdd", "psw", w, l),
                ("4", "o1", "d2", "vdd", "vdd", "psw", w, l),
                ("5", "tail", "bias", self.gnd, self.gnd, "nsw", w, l),
                ("6", "o2", "o1", "vdd", "vdd", "psw", 2 * w, l),
                ("7", "o2", "bias", self.gnd, self.gnd, "nsw", w, l),
                ("8", "o2", "sleepb", "vdd", "vdd", "psw", w, l)):
            _mos(self, name, d, g, s, b, model, width, length, tech)
        self.X("inv1", Inverter.NAME, "vdd", "o2", "o3")
        self.X("inv2", Inverter.NAME, "vdd", "o3", "out")


class SourcingSynapse(SubCircuitFactory):
    """The positive DACs of ``switches`` synapses that spike together, ``units`` weight
    units in all. Per synapse a PMOS spike switch (on while ``gate`` is low) from ``vdd`` to
    the sources ``s`` of its DAC's unit current sources (a branch of bit ``b`` is ``2^b`` of
    them; the weight bits select branches statically, and their select switches, on through
    the window, are not modelled), whose drains ``x`` meet at the source of one PMOS output
    cascode (gate ``cbias``) on the membrane. Switching the sources keeps the switch's charge
    on the supply side: when the switch opens the DAC and the cascode cut off with ``x`` a
    few tens of millivolts below its working point, so closing it dumps next to nothing on
    the membrane."""

    NAME = "syn_p"
    NODES = ("vdd", "bias", "cbias", "gate", "mem")

    def __init__(self, tech=DEFAULT):
        super().__init__(units=1, switches=1)
        _mos(self, "sw", "s", "gate", "vdd", "vdd", "psw", tech.w_spike_m, tech.l_min_m, tech,
             "{switches}")
        _mos(self, "cs", "x", "bias", "s", "vdd", "pcs", tech.w_cs_m, tech.l_cs_m, tech,
             "{units}")
        _mos(self, "cas", "mem", "cbias", "x", "vdd", "pcas", tech.w_cas_m, tech.l_cas_m,
             tech, "{switches}")


class SinkingSynapse(SubCircuitFactory):
    """The negative DACs of ``switches`` synapses: per synapse an NMOS spike switch (on while
    ``gate`` is high) from ground to its NMOS unit current sources and one NMOS output
    cascode on the membrane."""

    NAME = "syn_n"
    NODES = ("bias", "cbias", "gate", "mem")

    def __init__(self, tech=DEFAULT):
        super().__init__(units=1, switches=1)
        _mos(self, "sw", "s", "gate", self.gnd, self.gnd, "nsw", tech.w_spike_m, tech.l_min_m,
             tech, "{switches}")
        _mos(self, "cs", "x", "bias", "s", self.gnd, "ncs", tech.w_cs_m, tech.l_cs_m,
             tech, "{units}")
        _mos(self, "cas", "mem", "cbias", "x", self.gnd, "ncas", tech.w_cas_m, tech.l_cas_m,
             tech, "{switches}")


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
            _mos(self, "pass", "out", "enable", "src", self.gnd, "nsw", w, l, tech, m)
            _mos(self, "off", "out", "fire", self.gnd, self.gnd, "nsw", w, l, tech, m)
        elif polarity == "p":
            _mos(self, "pass", "out", "fire", "src", "vdd", "psw", w, l, tech, m)
            _mos(self, "off", "out", "enable", "vdd", "vdd", "psw", w, l, tech, m)
        else:
            raise ValueError(f"polarity must be 'n' or 'p', not {polarity!r}")


def bias_voltages(tech, i_unit_A, max_units=1):
    """Ideal bias voltages (level-1 square law with ``lambda`` and body effect):

    ``vbp``/``vbn`` set ``i_unit_A`` in the PMOS/NMOS unit source devices, saturated with
    ``cascode_margin_V`` to spare; ``vcp``/``vcn`` are the gates of the synapse cascodes that
    hold the DAC's node there while the largest synapse (``max_units`` units) conducts (a
    smaller one needs less gate drive, so its DAC node sits deeper in saturation); ``vbt``
    sets the comparator tail current ``i_tail_A``. The spike switch between DAC and cascode
    drops well under a millivolt at these currents and is neglected."""
    w, l = tech.w_cs_m, tech.l_cs_m
    wc, lc = tech.w_cas_m, tech.l_cas_m
    v_mid = tech.v_rest_V + tech.v_swing_V / 2
    i_max = max(1, int(max_units)) * i_unit_A
    pcs, ncs, nsw = tech.model("pcs"), tech.model("ncs"), tech.model("nsw")
    pcas, ncas = tech.model("pcas"), tech.model("ncas")
    vsd = pcs.overdrive_V(i_unit_A, w, l) + tech.cascode_margin_V
    x_p = tech.vdd_V - vsd
    vcp = x_p - pcas.gate_drive_V(i_max, wc, lc, x_p - v_mid, vsb_V=vsd)
    vds = ncs.overdrive_V(i_unit_A, w, l) + tech.cascode_margin_V
    vcn = vds + ncas.gate_drive_V(i_max, wc, lc, v_mid - vds, vsb_V=vds)
    return {"vbp": _num(tech.vdd_V - pcs.gate_drive_V(i_unit_A, w, l, vsd)),
            "vcp": _num(vcp),
            "vbn": _num(ncs.gate_drive_V(i_unit_A, w, l, vds)),
            "vcn": _num(vcn),
            "vbt": _num(nsw.gate_drive_V(tech.i_tail_A, 2 * tech.w_min_m, tech.l_min_m, 0.5))}


def neuron_bias_voltages(neuron, tech=DEFAULT, trim=None):
    """:func:`bias_voltages` of ``neuron``: its unit current and its largest weight; with a
    :class:`Trim`, each polarity's source bias set for the unit current divided by the
    ratio the calibration measured (measured / designed current)."""
    max_units = int(np.abs(neuron.weights).max(initial=1))
    i_unit = neuron_unit_current_A(neuron, tech, trim)
    bias = bias_voltages(tech, i_unit, max_units)
    if trim is not None:
        for pol, ratio in (("p", trim.source_ratio), ("n", trim.sink_ratio)):
            bias[f"vb{pol}"] = bias_voltages(tech, i_unit / ratio, max_units)[f"vb{pol}"]
    return bias


def membrane_parasitics(neuron, tech=DEFAULT):
    """Charge (C) that the devices on the membrane node take as it rises from rest to the
    threshold: the drain junctions and gate-drain overlaps of both output cascodes of every
    synapse (each synapse has a sourcing and a sinking DAC), of the reset switch and of the
    comparator input. The junctions follow the SPICE depletion model of the cards, the
    overlaps are linear (their gates sit on a bias or a rail)."""
    n_in = len(neuron.weights)
    lo, hi = tech.v_rest_V, tech.v_fire_V
    area = lambda w: w * tech.l_diff_m  # noqa: E731
    perim = lambda w: 2 * (w + tech.l_diff_m)  # noqa: E731
    charge = 0.0
    for model, w, count in (("ncas", tech.w_cas_m, n_in), ("pcas", tech.w_cas_m, n_in),
                            ("nsw", tech.w_reset_m, 1), ("psw", tech.w_reset_m, 1),
                            ("nsw", 2 * tech.w_min_m, 1)):
        card = tech.model(model)
        if card.polarity == "nmos":
            q = (card.junction_charge_C(hi, area(w), perim(w))
                 - card.junction_charge_C(lo, area(w), perim(w)))
        else:
            q = (card.junction_charge_C(tech.vdd_V - lo, area(w), perim(w))
                 - card.junction_charge_C(tech.vdd_V - hi, area(w), perim(w)))
        charge += count * (q + card.cgdo_F_per_m * w * (hi - lo))
    return charge


def neuron_unit_current_A(neuron, tech=DEFAULT, trim=None):
    """The unit current of ``neuron`` at the transistor level: ``theta`` unit-steps deliver
    the charge that takes the membrane from rest to the threshold: ``trim.charge_C``
    (a :class:`Trim`, measured by :mod:`hardware.spice.calibration`), by default estimated
    as the capacitor's plus :func:`membrane_parasitics`."""
    if trim is None:
        charge = tech.charge_to_fire_C(membrane_parasitics(neuron, tech))
    else:
        charge = trim.charge_C
    return charge / (neuron.threshold * tech.dt_s)


@dataclass(frozen=True)
class Trim:
    """The per-layer trims of the transistor level (what a chip trims once per layer).

    Members
    -------
    charge_C : charge from rest to the threshold, sets the unit current
    comparator_offset_V : the comparator's reference sits this far below the threshold,
        the overdrive its finite gain needs before the latch sets
    spike_advance_s : the spike drivers switch this much before ``(s + 1) dt_s``: the time a
        synapse's cascode node takes to reach its working point
    source_ratio, sink_ratio : measured over designed unit current of the sourcing and the
        sinking DACs with the untrimmed biases (a chip trims each polarity's bias)
    """

    charge_C: float
    comparator_offset_V: float = 0.0
    spike_advance_s: float = 0.0
    source_ratio: float = 1.0
    sink_ratio: float = 1.0


def transistor(neuron, tech=DEFAULT, trim=None):
    """Transistor-level netlist of ``neuron`` (see the module docstring) with the
    :class:`Trim` ``trim`` (default: estimated charge, no comparator offset)."""
    bias = neuron_bias_voltages(neuron, tech, trim)
    offset = 0.0 if trim is None else trim.comparator_offset_V
    c = Circuit("ttfs neuron transistor")
    for model in tech.models:
        c.model(model.name, model.polarity, **model.parameters())
    for sub in (Inverter(tech), Nor2(tech), Latch(), Comparator(tech), SourcingSynapse(tech),
                SinkingSynapse(tech), BiasGate("n", tech), BiasGate("p", tech)):
        c.subcircuit(sub)
    c.V("dd", "vdd", c.gnd, tech.vdd_V)
    c.V("drv", "vdrv", c.gnd, tech.vdd_V)
    c.V("rest", "vrest", c.gnd, tech.v_rest_V)
    c.V("ref", "vref", c.gnd, _num(tech.v_fire_V - offset))
    for name, value in bias.items():
        c.V(name[1:], f"{name}_src", c.gnd, value)
    t_rst = _num(tech.reset_s)
    c.PieceWiseLinearVoltageSource("rst", "rst", c.gnd, values=[
        (0.0, tech.vdd_V), (_num(t_rst - tech.edge_s), tech.vdd_V), (t_rst, 0.0)])
    c.PieceWiseLinearVoltageSource("rstb", "rstb", c.gnd, values=[
        (0.0, 0.0), (_num(t_rst - tech.edge_s), 0.0), (t_rst, tech.vdd_V)])
    c.C("mem", "mem", c.gnd, _num(tech.c_mem_F))
    # a minimum transmission gate: the two devices' overlap charges cancel on release (an
    # NMOS alone left the membrane 0.9 mV low, 2.4 unit-steps at theta = 700)
    _mos(c, "rstn", "mem", "rst", "vrest", c.gnd, "nsw", tech.w_reset_m, tech.l_min_m, tech)
    _mos(c, "rstp", "mem", "rstb", "vrest", "vdd", "psw", tech.w_reset_m, tech.l_min_m, tech)
    units = np.abs(neuron.weights)
    gates = {pol: max(1, -(-int(units[sign].sum()) // BIAS_UNITS_PER_GATE))
             for pol, sign in (("p", neuron.weights > 0), ("n", neuron.weights < 0))}
    strong = gates["p"] + gates["n"] + 1
    c.X("kb", Inverter.NAME, "vdd", "fire", "fire_n", units=int(np.ceil(np.sqrt(strong))))
    c.X("kill", Inverter.NAME, "vdd", "fire_n", "kill", units=strong)
    c.X("en", Inverter.NAME, "vdd", "kill", "enable", units=strong)
    for pol, count in gates.items():
        c.X(f"g{pol}", f"biasgate_{pol}", "vdd", f"vb{pol}_src", f"b{pol}", "kill", "enable",
            units=count)
    c.X("gt", "biasgate_n", "vdd", "vbt_src", "bt", "kill", "enable")
    c.X("cmp", Comparator.NAME, "vdd", "mem", "vref", "bt", "fire_n", "cmp")
    c.X("latch", Latch.NAME, "vdd", "cmp", "rst", "fire", "fireb")
    _add_synapses(c, neuron, tech, bias, 0.0 if trim is None else trim.spike_advance_s)
    return c


def _add_synapses(c, neuron, tech, bias, advance_s):
    """Spike drivers (one per step and polarity, powered from ``vdrv``) and DACs.

    The DACs of all synapses that spike at the same step with the same sign share every
    terminal (bias, switch gate, membrane), so they are one instance with the summed unit
    count and one switch per synapse: for identical devices in parallel this is exact, and it
    keeps the matrix small. Every other DAC (the unused polarity of each synapse, zero
    weights, synapses that never spike in the window) keeps its switch open; they form one
    instance per polarity of one unit each (what lies behind the open switch only matters
    through the cascode's source node), whose cascodes load the membrane.
    """
    groups = {}
    for w, s in zip(neuron.weights, neuron.input_steps):
        if w and s <= neuron.steps - 2:
            key = (int(s), bool(w < 0))
            units, count = groups.get(key, (0, 0))
            groups[key] = (units + abs(int(w)), count + 1)
    n_in = len(neuron.weights)
    start = _dac_start_voltages(bias, tech)
    ics = []
    for sinking in (False, True):
        off = n_in - sum(n for (_, neg), (_, n) in groups.items() if neg == sinking)
        if off:
            groups[(neuron.steps, sinking)] = (off, off)
    for (step, sinking), (units, count) in sorted(groups.items()):
        if step == neuron.steps:
            name, gate = f"{'n' if sinking else 'p'}off", (c.gnd if sinking else "vdd")
        else:
            name, gate = f"{'n' if sinking else 'p'}{step}", f"{'sp' if sinking else 'sb'}{step}"
            _spike_driver(c, tech, gate, step, sinking, count, advance_s, neuron.steps)
        if sinking:
            c.X(name, SinkingSynapse.NAME, "bn", "vcn_src", gate, "mem", units=units,
                switches=count)
        else:
            c.X(name, SourcingSynapse.NAME, "vdd", "bp", "vcp_src", gate, "mem",
                units=units, switches=count)
        x, s = start["n" if sinking else "p"]
        ics += [f"v(x{name}.x)={_num(x)}", f"v(x{name}.s)={_num(s)}"]
    if ics:
        c.raw_spice += ".ic " + " ".join(ics) + "\n"


def _dac_start_voltages(bias, tech):
    """Where an open synapse's DAC nodes rest, per polarity ``(x, s)``: after the previous
    window the switched sources ``s`` and the cascode's source ``x`` have fallen (risen)
    until the unit sources and the cascode cut off. Without these initial conditions the
    operating point leaves the floating nodes anywhere (at ground), and the unit current
    then spends steps recharging them."""
    start = {}
    for pol, sign, rail in (("p", -1.0, tech.vdd_V), ("n", 1.0, 0.0)):
        cs, cas = tech.model(f"{pol}cs"), tech.model(f"{pol}cas")
        s, x = rail, rail
        for _ in range(20):   # fixed point of the body effect: V_SB = |rail - node|
            s = bias[f"vb{pol}"] - sign * cs.gate_drive_V(1e-30, 1, 1, 0, abs(rail - s))
            x = bias[f"vc{pol}"] - sign * cas.gate_drive_V(1e-30, 1, 1, 0, abs(rail - x))
        start[pol] = (x, s)
    return start


def _spike_driver(c, tech, node, step, active_high, switches, advance_s, steps):
    """An ideal spike waveform buffered by a tapered inverter pair powered from ``vdrv``
    (sized for ``switches`` spike-switch gates), so the energy of driving them is measured."""
    c.PieceWiseLinearVoltageSource(node + "_in", node + "_in", c.gnd,
                                   values=_spike_wave(tech, step, active_high, steps,
                                                      advance_s))
    last = max(1, -(-switches // 8))
    first = max(1, int(np.ceil(np.sqrt(last))))
    c.X(node + "_a", Inverter.NAME, "vdrv", node + "_in", node + "_mid", units=first)
    c.X(node + "_b", Inverter.NAME, "vdrv", node + "_mid", node, units=last)


def build(neuron, level, tech=DEFAULT, trim=None):
    """The netlist of ``neuron`` at ``level`` (``"behavioral"`` or ``"transistor"``)."""
    if level == "behavioral":
        return behavioral(neuron, tech)
    if level == "transistor":
        return transistor(neuron, tech, trim)
    raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")


def supplies(level):
    """Names of the voltage sources whose delivered energy is the neuron's energy."""
    if level == "behavioral":
        return ("Vdd",)
    return ("Vdd", "Vdrv", "Vrest", "Vbp", "Vcp", "Vbn", "Vcn", "Vbt")
