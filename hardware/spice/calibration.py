"""Per-layer trims of the transistor level, measured in SPICE once per fan-in: the charge
that takes the membrane from rest to the threshold (it sets the unit current) and the
comparator's overdrive (it sets the reference's offset).

At the physical scale the membrane node carries, besides the capacitor, the drain junctions
and overlaps of two output cascodes per synapse (a 784-input neuron: about as much
capacitance again as a 1 pF capacitor), the comparator's input and the reset gate, whose
release leaves a small charge. The analytic estimate
(:func:`hardware.spice.sizing.membrane_parasitics`) is within a few per cent of it, which at
20 steps is most of a step. And the comparator, with its 2 uA tail and finite gain, sets the
latch only once the membrane is a few millivolts above its reference: on a ramp of 10 mV
per step that is a third of a step. A chip trims both once per layer (a bias DAC of the
unit current, an offset of the reference); this module does the same in simulation: the
neuron's circuit with every synapse open and an ideal current ``I_cal`` into the membrane
from model step 0, which reaches the threshold after :data:`CALIBRATION_STEPS` steps. The
membrane's crossing at ``t`` gives the charge ``I_cal * (t - t_0)``; the membrane voltage
when the latch output rises gives the overdrive. Both depend on the fan-in and the
technology only (not on the weights or the threshold), so they are cached. A second run,
with those two trims and one real synapse of :data:`ONSET_WEIGHT` units instead of the
ideal source, measures how late the synapse's current starts (its cascode's source node must
first reach its working point): the spike drivers are advanced by that much.
"""
from dataclasses import replace

import numpy as np

from . import netlist
from .cells import num
from .sizing import Trim, membrane_parasitics, neuron_unit_current_A
from .simulator import deck
from .technology import DEFAULT

#: The calibration ramp reaches the threshold after this many steps (a typical slope of
#: the trained networks' crossings).
CALIBRATION_STEPS = 12

#: Weight of the single synapse whose firing delay, after the two first trims, sets the
#: spike advance (a mid-range weight of a 6-bit network).
ONSET_WEIGHT = 8

_CACHE = {}


def _circuit(n_in, tech, current_A):
    # every synapse open; the threshold only sets the (unused) biases to a typical level
    steps = 2 * CALIBRATION_STEPS
    neuron = netlist.Neuron(np.ones(n_in, dtype=np.int64), np.full(n_in, steps),
                            tech.characterization_threshold, steps)
    c = netlist.transistor(neuron, tech, Trim(tech.charge_to_fire_C()))
    t_on = tech.time_s(0)
    c.PieceWiseLinearCurrentSource("cal", "vdd", "mem", values=[
        (0.0, 0.0), (num(t_on - tech.edge_s / 2), 0.0),
        (num(t_on + tech.edge_s / 2), num(current_A))])
    return c, t_on


def _crossing(t, v, level):
    above = np.nonzero(v >= level)[0]
    if not len(above) or above[0] == 0:
        return None
    i = above[0]
    return t[i - 1] + (level - v[i - 1]) * (t[i] - t[i - 1]) / (v[i] - v[i - 1])


def trim(n_in, sim, tech=DEFAULT):
    """The :class:`~hardware.spice.sizing.Trim` of a transistor-level neuron with ``n_in``
    synapses, measured in the simulator ``sim`` (cached per fan-in and technology)."""
    key = (int(n_in), tech)
    if key not in _CACHE:
        estimate = tech.charge_to_fire_C(membrane_parasitics(
            netlist.Neuron(np.ones(n_in, dtype=np.int64), np.zeros(n_in, dtype=np.int64), 1, 2),
            tech))
        current = estimate / (CALIBRATION_STEPS * tech.dt_s)
        circuit, t_on = _circuit(n_in, tech, current)
        text = deck(circuit, step_s=tech.dt_s / 50, end_s=tech.time_s(2 * CALIBRATION_STEPS),
                    options={"method": "gear"})
        wave = sim.run(text, ["v(mem)", "v(fire)"])
        t, v = wave["time"], wave["v(mem)"]
        crossing = _crossing(t, v, tech.v_fire_V)
        fired = _crossing(t, wave["v(fire)"], tech.vdd_V / 2)
        if crossing is None or fired is None:
            raise RuntimeError(f"calibration of fan-in {n_in}: the neuron never fired")
        overdrive = float(np.interp(fired, t, v)) - tech.v_fire_V
        first = Trim(charge_C=float(current * (crossing - t_on)),
                     comparator_offset_V=max(0.0, overdrive))
        ratios = {sign: _dac_ratio(n_in, sim, tech, first, sign) for sign in (1, -1)}
        second = replace(first, source_ratio=ratios[1], sink_ratio=ratios[-1])
        _CACHE[key] = replace(second, spike_advance_s=_onset_delay_s(n_in, sim, tech, second))
    return _CACHE[key]


def _dac_ratio(n_in, sim, tech, first, sign):
    """Measured over designed current of one DAC of :data:`ONSET_WEIGHT` units and sign
    ``sign``, switched on at step 0 into a membrane held at mid-swing (steps 2 to 4)."""
    steps = 2 * CALIBRATION_STEPS
    w = np.zeros(n_in, dtype=np.int64)
    w[0] = sign * ONSET_WEIGHT
    neuron = netlist.Neuron(w, np.where(np.arange(n_in) == 0, 0, steps),
                            tech.characterization_threshold, steps)
    c = netlist.transistor(neuron, tech, first)
    c.V("hold", "mem", c.gnd, num(tech.v_rest_V + tech.v_swing_V / 2))
    wave = sim.run(deck(c, step_s=tech.dt_s / 20, end_s=tech.time_s(4),
                        options={"method": "gear"}), ["i(vhold)"])
    t = wave["time"]
    window = (t > tech.time_s(2)) & (t < tech.time_s(4))
    measured = abs(float(wave["i(vhold)"][window].mean()))
    designed = ONSET_WEIGHT * neuron_unit_current_A(neuron, tech, first)
    return measured / designed


def _onset_delay_s(n_in, sim, tech, first):
    """How late a synapse of :data:`ONSET_WEIGHT` units, alone at step 0 of a neuron with
    ``n_in`` inputs trimmed by ``first``, fires against the closed form (seconds)."""
    from . import measure
    steps = 2 * CALIBRATION_STEPS
    w = np.zeros(n_in, dtype=np.int64)
    w[0] = ONSET_WEIGHT
    neuron = netlist.Neuron(w, np.where(np.arange(n_in) == 0, 0, steps),
                            ONSET_WEIGHT * CALIBRATION_STEPS, steps)
    wave = sim.run(*measure.transient(neuron, "transistor", tech, trim=first))
    m = measure.measure(neuron, "transistor", wave, tech, trim=first)
    if not np.isfinite(m.error_steps):
        raise RuntimeError(f"calibration of fan-in {n_in}: the onset neuron did not fire")
    return max(0.0, m.error_steps * tech.dt_s)
