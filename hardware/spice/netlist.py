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
  latch; an ideal clamp at the floor ``v_floor_V``; an ideal comparator whose output
  charges a load ``c_load_F`` from the supply while the window line ``win`` is high and
  holds it after; it latches because the membrane, with every source cut, stays above the
  trip point, :data:`BEHAVIORAL_TRIP` of the swing above the threshold. The firing time of
  this level is the membrane's crossing of the threshold, provided the latch set.
  The membrane starts at ``v_rest_V`` (transient with ``uic``).
* :func:`transistor`: per synapse and polarity a binary-weighted current DAC (unit current
  sources whose sources a spike switch connects to the rail, one output cascode on the
  membrane), DACs of a step merged; the bias lines are cut and pulled off by the latch after
  firing; a two-stage comparator that draws a constant ``i_tail_A`` while it waits and whose
  bias is cut after firing; a NOR latch; a reset transmission gate that holds the membrane
  at ``v_rest_V`` for ``reset_s``. The latch sets only while the window line ``win`` (one
  per chip, buffered by an inverter per neuron) is high: the comparator's inverted output
  and the inverted window meet in a NOR. The latch output ``fire`` (where the firing time is
  measured) drives the bias-line gates through a buffer chain sized for them. Gate biases
  come from ideal sources at the level-1 values of :func:`bias_voltages`; the per-fan-in
  :class:`Trim` (:mod:`hardware.spice.calibration`) sets the unit current, the comparator
  offset, the polarities' bias ratios and the spike drivers' advance. Every device has the
  junctions of its drain and source diffusions.

Node names shared by both levels: ``vdd``, ``mem`` (membrane), ``fire`` (latch output),
``win`` (the window line, an ideal source shared by the chip's neurons: its energy is not
the neuron's).
The supply sources are ``Vdd`` (everything) and, at the transistor level, ``Vdrv`` (spike
drivers), ``Vrest`` and the bias sources; :func:`supplies` lists them.
"""
from dataclasses import dataclass

import numpy as np
from PySpice.Spice.Netlist import Circuit

from . import ramp
from .cells import (BIAS_UNITS_PER_GATE, BiasGate, Comparator, Inverter, Latch, Nor2,
                    SinkingSynapse, SourcingSynapse)
from .cells import mos as _mos
from .cells import num as _num
from .sizing import (Trim, bias_voltages, dac_rest_voltages, membrane_parasitics,
                     neuron_bias_voltages, neuron_unit_current_A)
from .technology import DEFAULT

__all__ = ["LEVELS", "BEHAVIORAL_TRIP", "BEHAVIORAL_FLOOR_S", "BIAS_UNITS_PER_GATE", "Neuron",
           "Trim", "Inverter", "Nor2", "Latch", "Comparator", "SourcingSynapse",
           "SinkingSynapse", "BiasGate", "bias_voltages", "neuron_bias_voltages",
           "membrane_parasitics", "neuron_unit_current_A", "behavioral", "transistor",
           "build", "supplies"]

LEVELS = ("behavioral", "transistor")

#: Suffix of the comparator's per-device cards (``nsw_c1``, ...).
COMPARATOR_SUFFIX = "_c"

#: The behavioral latch trips this fraction of the swing above the threshold, so that the
#: membrane's crossing of the threshold itself lies on the unperturbed ramp.
BEHAVIORAL_TRIP = 1e-3

#: Spike-switch gate width (m) that one inverter unit of a spike driver drives.
DRIVER_SWITCH_WIDTH_M = 16e-6

#: Conductance of the behavioral floor clamp (S): the membrane settles 0.5 mV below the
#: floor against 5 uA of sinking current.
BEHAVIORAL_FLOOR_S = 1e-2


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


def _window_wave(tech, steps):
    """PWL points of the chip's window line ``win``: high from the start until
    ``readout_s`` after model time ``steps - 1``, when the spike drivers have switched off.
    A neuron's latch can only set while it is high, so a membrane that crosses the
    threshold after the window (the DACs' nodes still deliver charge after the drivers
    switch off) does not fire, and one that crossed inside it has ``readout_s`` to decide."""
    close = tech.time_s(steps - 1) + tech.readout_s
    half = tech.edge_s / 2
    return [(0.0, tech.vdd_V), (_num(close - half), tech.vdd_V), (_num(close + half), 0.0)]


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
    c.PieceWiseLinearVoltageSource("win", "win", c.gnd, values=_window_wave(tech, neuron.steps))
    c.B("cmp", "vdd", "fire",
        i=f"{g_cmp}*({_num(tech.vdd_V)}*(V(mem)>{trip})-V(fire))*(V(win)>{half})")
    c.C("load", "fire", c.gnd, tech.c_load_F, initial_condition=0)
    return c


def transistor(neuron, tech=DEFAULT, trim=None, *, cards=()):
    """Transistor-level netlist of ``neuron`` (see the module docstring) with the
    :class:`Trim` ``trim`` (default: estimated charge, no comparator offset).

    ``cards``: per-device MOSFET cards (device mismatch, :mod:`hardware.spice.montecarlo`).
    With them every synapse that spikes inside the window is its own instance, input ``j``'s
    devices use the cards ``<model>_<j>`` (``pcs_12``, ...), and the comparator's devices
    ``<model>_c<device>`` (:class:`~hardware.spice.cells.Comparator`)."""
    bias = neuron_bias_voltages(neuron, tech, trim)
    offset = 0.0 if trim is None else trim.comparator_offset_V
    comparator = Comparator(tech, COMPARATOR_SUFFIX if cards else "")
    c = Circuit("ttfs neuron transistor")
    for model in tuple(tech.models) + tuple(cards):
        c.model(model.name, model.polarity, **model.parameters())
    for sub in (Inverter(tech), Nor2(tech), Latch(), comparator, SourcingSynapse(tech),
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
    _add_decision(c, neuron, tech, comparator.NAME)
    _add_synapses(c, neuron, tech, bias, trim, own=bool(cards))
    return c


def _add_decision(c, neuron, tech, comparator):
    """The comparator, the window gate, the latch, and the bias-line gates (sized with the
    neuron's weight units) that the latch cuts through a buffer chain."""
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
    c.X("cmp", comparator, "vdd", "mem", "vref", "bt", "fire_n", "cmpb")
    c.PieceWiseLinearVoltageSource("win", "win", c.gnd, values=_window_wave(tech, neuron.steps))
    c.X("winb", Inverter.NAME, "vdd", "win", "winb")
    c.X("gate", Nor2.NAME, "vdd", "winb", "cmpb", "set")
    c.X("latch", Latch.NAME, "vdd", "set", "rst", "fire", "fireb")


def _dac_groups(neuron, own):
    """``{(step, sinking, input or -1): (units, switches)}``: the DAC instances of
    :func:`_add_synapses`; the open DACs under step ``K``."""
    groups = {}
    for j, (w, s) in enumerate(zip(neuron.weights, neuron.input_steps)):
        if w and s <= neuron.steps - 2:
            key = (int(s), bool(w < 0), j if own else -1)
            units, count = groups.get(key, (0, 0))
            groups[key] = (units + abs(int(w)), count + 1)
    n_in = len(neuron.weights)
    for sinking in (False, True):
        off = n_in - sum(n for (_, neg, _), (_, n) in groups.items() if neg == sinking)
        if off:
            groups[(neuron.steps, sinking, -1)] = (off, off)
    return groups


def _add_synapses(c, neuron, tech, bias, trim, own=False):
    """Spike drivers (one per step and polarity, powered from ``vdrv``, advanced by the
    :class:`Trim`'s ``advance_s`` of their polarity) and DACs.

    The DACs of all synapses that spike at the same step with the same sign share every
    terminal (bias, switch gate, membrane), so they are one instance with the summed unit
    count (and as many unit switches): for identical devices in parallel this is exact, and it
    keeps the matrix small (with ``own``, for per-device cards, each is its own instance).
    Every other DAC (the unused polarity of each synapse, zero weights, synapses that never
    spike in the window) keeps its switch open; they form one instance per polarity of one
    unit each (what lies behind the open switch only matters through the cascode's source
    node), whose cascodes load the membrane.
    """
    groups = _dac_groups(neuron, own)
    start = dac_rest_voltages(bias, tech)
    drivers = {}
    for (step, sinking, _), (units, _) in groups.items():
        drivers[(step, sinking)] = drivers.get((step, sinking), 0) + units
    ics = []
    for (step, sinking, j), (units, count) in sorted(groups.items()):
        pol = "n" if sinking else "p"
        factory = SinkingSynapse if sinking else SourcingSynapse
        if step == neuron.steps:
            name, gate = f"{pol}off", (c.gnd if sinking else "vdd")
        else:
            name, gate = f"{pol}{step}", f"{'sp' if sinking else 'sb'}{step}"
            if (step, sinking) in drivers:
                advance = 0.0 if trim is None else trim.advance_s(sinking)
                _spike_driver(c, tech, gate, step, sinking, drivers.pop((step, sinking)),
                              advance, neuron.steps)
        cell = factory.NAME if j < 0 else factory(tech, f"_{j}")
        if j >= 0:
            name += f"_{j}"
            c.subcircuit(cell)
        nodes = ("bn", "vcn_src") if sinking else ("vdd", "bp", "vcp_src")
        c.X(name, getattr(cell, "NAME", cell), *nodes, gate, "mem", units=units,
            switches=count)
        x, s = start[pol]
        ics += [f"v(x{name}.x)={_num(x)}", f"v(x{name}.s)={_num(s)}"]
    if ics:
        c.raw_spice += ".ic " + " ".join(ics) + "\n"


def _spike_driver(c, tech, node, step, active_high, units, advance_s, steps):
    """An ideal spike waveform buffered by a tapered inverter pair powered from ``vdrv``
    (sized for the spike switches of ``units`` unit sources, one inverter unit per
    :data:`DRIVER_SWITCH_WIDTH_M` of switch gate), so the energy of driving them is
    measured."""
    c.PieceWiseLinearVoltageSource(node + "_in", node + "_in", c.gnd,
                                   values=_spike_wave(tech, step, active_high, steps,
                                                      advance_s))
    last = max(1, int(np.ceil(units * tech.w_spike_m / DRIVER_SWITCH_WIDTH_M)))
    first = max(1, int(np.ceil(np.sqrt(last))))
    c.X(node + "_a", Inverter.NAME, "vdrv", node + "_in", node + "_mid", units=first)
    c.X(node + "_b", Inverter.NAME, "vdrv", node + "_mid", node, units=last)


def build(neuron, level, tech=DEFAULT, trim=None, *, cards=()):
    """The netlist of ``neuron`` at ``level`` (``"behavioral"`` or ``"transistor"``);
    ``cards`` (per-device cards) only at the transistor level."""
    if level == "behavioral":
        if cards:
            raise ValueError("per-device cards need the transistor level")
        return behavioral(neuron, tech)
    if level == "transistor":
        return transistor(neuron, tech, trim, cards=cards)
    raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")


def supplies(level):
    """Names of the voltage sources whose delivered energy is the neuron's energy."""
    if level == "behavioral":
        return ("Vdd",)
    return ("Vdd", "Vdrv", "Vrest", "Vbp", "Vcp", "Vbn", "Vcn", "Vbt")
