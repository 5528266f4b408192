"""Per-layer trims of the transistor level, measured in SPICE once per fan-in and threshold:
the charge that takes the membrane from rest to the threshold (it sets the unit current),
the comparator's static overdrive and delay, and each DAC polarity's gain and onset.

At the physical scale the membrane node carries, besides the capacitor, the drain junctions
and overlaps of two output cascodes per synapse (a 784-input neuron: about as much
capacitance again as a 1 pF capacitor), the comparator's input and the reset gate, whose
release leaves a small charge. The analytic estimate
(:func:`hardware.spice.sizing.membrane_parasitics`) is within a few per cent of it, which at
20 steps is most of a step. A chip trims these once per layer (a bias DAC of the unit
current, an offset of the reference, the spike drivers' timing); this module does the same
in simulation:

1. the neuron's circuit with every synapse open and an ideal current into the membrane from
   model step 0, reaching the threshold after :data:`CALIBRATION_STEPS` steps: the
   membrane's crossing gives the charge to fire;
2. the same on a ramp :data:`SLOW_STEPS` long: the latch sets ``V0 / S + tau`` after the
   membrane crosses the threshold on a ramp of slope ``S``; the two slopes give the static
   overdrive ``V0`` (trimmed as the reference's offset) and the delay ``tau`` (trimmed as a
   time: the spike drivers switch ``tau`` earlier). Trimmed as one voltage on the fast ramp,
   the delay made a neuron whose ramp is 15 times slower (inputs that nearly cancel, on a
   256-step window) fire 1.1 steps early;
3. per polarity, one DAC of :func:`onset_weight` units switched on into a membrane held at
   mid-swing, at the layer's unit current: its settled current over the designed one (each
   polarity's bias is trimmed by it) and the charge its cascode node keeps before the
   current reaches the membrane, over that current (that polarity's spike drivers are
   advanced by it).

Each depends on the fan-in, the threshold (the unit current), that weight and the technology
only, so the trims are cached.
"""
from dataclasses import replace

import numpy as np

from . import netlist
from .cells import num
from .sizing import Trim, membrane_parasitics, neuron_unit_current_A
from .simulator import deck
from .technology import DEFAULT

#: The fast calibration ramp reaches the threshold after this many steps (a typical slope
#: of the trained networks' early crossings).
CALIBRATION_STEPS = 12

#: The slow calibration ramp (the delay's second point): as slow as the late crossings of
#: 256-step windows.
SLOW_STEPS = 160

#: Weight of the DAC whose gain and onset set the bias and advance trims: at least this,
#: and an eighth of the layer's full scale (:func:`onset_weight`).
ONSET_WEIGHT = 8


def onset_weight(max_weight):
    """The DAC weight a layer of largest weight ``max_weight`` is trimmed at: an eighth of
    full scale, at least :data:`ONSET_WEIGHT` (8 for 6-bit weights, 16 for 8-bit ones). The
    charge a DAC's cascode node keeps grows faster than its weight (about as ``w^1.5``:
    the node's capacitance and the cascode's overdrive both grow with it), so one advance
    is exact for one weight only; on the 8-bit headline network, trimming at 8 left
    crossings 0.6 to 1.5 steps late, at 32 up to 1.0 step early."""
    return max(ONSET_WEIGHT, (int(max_weight) + 1) // 8)

_CACHE = {}


def _ramp(n_in, sim, tech, threshold, steps, charge_C):
    """Latch time and membrane crossing of ``V_fire`` (seconds) with every synapse open and
    an ideal current that delivers ``charge_C`` in ``steps`` steps from model step 0, and
    the time that current starts."""
    neuron = netlist.Neuron(np.ones(n_in, dtype=np.int64), np.full(n_in, 2 * steps),
                            threshold, 2 * steps)
    c = netlist.transistor(neuron, tech, Trim(tech.charge_to_fire_C()))
    t_on = tech.time_s(0)
    current = charge_C / (steps * tech.dt_s)
    c.PieceWiseLinearCurrentSource("cal", "vdd", "mem", values=[
        (0.0, 0.0), (num(t_on - tech.edge_s / 2), 0.0),
        (num(t_on + tech.edge_s / 2), num(current))])
    # the latch's edge is fast whatever the ramp: the same number of points per ramp
    text = deck(c, step_s=steps * tech.dt_s / 600, end_s=tech.time_s(1.25 * steps),
                options={"method": "gear"})
    wave = sim.run(text, ["v(mem)", "v(fire)"])
    crossing = _crossing(wave["time"], wave["v(mem)"], tech.v_fire_V)
    fired = _crossing(wave["time"], wave["v(fire)"], tech.vdd_V / 2)
    if crossing is None or fired is None:
        raise RuntimeError(f"calibration of fan-in {n_in}: the neuron never fired")
    return fired, crossing, t_on


def _crossing(t, v, level):
    above = np.nonzero(v >= level)[0]
    if not len(above) or above[0] == 0:
        return None
    i = above[0]
    return t[i - 1] + (level - v[i - 1]) * (t[i] - t[i - 1]) / (v[i] - v[i - 1])


def trim(n_in, sim, tech=DEFAULT, threshold=None, weight=ONSET_WEIGHT):
    """The :class:`~hardware.spice.sizing.Trim` of a transistor-level neuron with ``n_in``
    synapses and integer ``threshold`` (default ``tech.characterization_threshold``), its
    DACs trimmed at ``weight`` units (:func:`onset_weight`), measured in the simulator
    ``sim`` (cached)."""
    threshold = tech.characterization_threshold if threshold is None else int(threshold)
    key = (int(n_in), threshold, int(weight), tech)
    if key not in _CACHE:
        estimate = tech.charge_to_fire_C(membrane_parasitics(
            netlist.Neuron(np.ones(n_in, dtype=np.int64), np.zeros(n_in, dtype=np.int64), 1, 2),
            tech))
        fast = _ramp(n_in, sim, tech, threshold, CALIBRATION_STEPS, estimate)
        charge = estimate * (fast[1] - fast[2]) / (CALIBRATION_STEPS * tech.dt_s)
        slow = _ramp(n_in, sim, tech, threshold, SLOW_STEPS, charge)
        # latch - crossing = V0 / S + tau on slopes S = v_swing / (steps dt)
        lag = [fired - crossing for fired, crossing, _ in (fast, slow)]
        inverse = [steps * tech.dt_s / tech.v_swing_V for steps in (CALIBRATION_STEPS, SLOW_STEPS)]
        v0 = (lag[0] - lag[1]) / (inverse[0] - inverse[1])
        first = Trim(charge_C=float(charge), comparator_offset_V=float(v0),
                     comparator_delay_s=float(max(0.0, lag[0] - v0 * inverse[0])))
        dacs = {sign: _dac(n_in, sim, tech, first, sign, threshold, int(weight))
                for sign in (1, -1)}
        _CACHE[key] = replace(first, source_ratio=dacs[1][0], sink_ratio=dacs[-1][0],
                              source_advance_s=dacs[1][1], sink_advance_s=dacs[-1][1])
    return _CACHE[key]


def _dac(n_in, sim, tech, first, sign, threshold, units):
    """``(ratio, advance_s)`` of one DAC of ``units`` units and sign ``sign``,
    switched on at model step 0 (no advance) into a membrane held at mid-swing: its settled
    current (steps 3 to 5) over the designed one, and the charge it has not delivered by
    step 5 against an ideal source of that current switched on at step 0, over its current."""
    steps = 8
    w = np.zeros(n_in, dtype=np.int64)
    w[0] = sign * units
    neuron = netlist.Neuron(w, np.where(np.arange(n_in) == 0, 0, steps), threshold, steps)
    c = netlist.transistor(neuron, tech, replace(first, comparator_delay_s=0.0))
    c.V("hold", "mem", c.gnd, num(tech.v_rest_V + tech.v_swing_V / 2))
    wave = sim.run(deck(c, step_s=tech.dt_s / 50, end_s=tech.time_s(5),
                        options={"method": "gear"}), ["i(vhold)"])
    # the current the DAC delivers (sourcing: into the held membrane), after the reset gate
    t, i = wave["time"], sign * wave["i(vhold)"]
    keep = t >= tech.reset_s + tech.edge_s
    t, i = t[keep], i[keep]
    settled = float(i[t > tech.time_s(3)].mean())
    designed = units * neuron_unit_current_A(neuron, tech, first)
    delivered = float(np.sum((i[1:] + i[:-1]) * np.diff(t)) / 2)
    kept = settled * (t[-1] - tech.time_s(0)) - delivered
    return float(settled / designed), float(max(0.0, kept / settled))
