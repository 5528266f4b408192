"""Simulate one neuron and measure its firing time and supply energy from the waveforms.

Whether the neuron fired is the circuit's decision: its latch output ``fire`` rose through
``vdd_V / 2`` (the latch can only set inside the window, see
:func:`hardware.spice.netlist.transistor`). Firing time: at the transistor level, the instant
the latch rises (so it includes the comparator and latch delay); at the behavioral level,
where the comparator is ideal, the membrane's crossing of ``v_rest_V + v_swing_V``, found on the
unperturbed ramp (samples before the latch starts to move; the last linear segment is
extended when the crossing falls after it, which is exact because the ramp only bends at
input spikes, which are time points). Energy: ``-integral V * I dt`` of every supply source
(:func:`hardware.spice.netlist.supplies`), by the trapezoidal rule on the simulator's points.
Times are reported in model steps (see :mod:`hardware.spice.ramp`): the error of a firing
time is ``measured - closed form`` in units of ``dt``.
"""
import math
import time as _time
from dataclasses import dataclass

import numpy as np

from . import calibration, netlist, ramp
from .simulator import deck
from .technology import DEFAULT

#: Transient settings: the largest time step as a fraction of dt_s (firing times need no
#: finer: the ramp is piecewise linear; energies are integrated on the simulator's points,
#: so the energy characterization uses ENERGY_STEP_FRACTION), and how far past the last
#: step of the window (K - 1) the transient runs, in steps.
MAX_STEP_FRACTION = 1 / 5
ENERGY_STEP_FRACTION = 1 / 20
TAIL_STEPS = 0.75


def first_crossing(t, v, level, *, last=None):
    """First time ``v`` rises through ``level``, linearly interpolated; None if never.

    Only samples ``[:last]`` are used; if ``v`` stays below ``level`` there, the last
    segment is extended, and its crossing is returned when it lies before ``t[last]``.
    """
    t, v = np.asarray(t), np.asarray(v)
    n = len(t) if last is None else int(last)
    above = np.nonzero(v[:n] >= level)[0]
    if len(above):
        i = above[0]
        if i == 0:
            return float(t[0])
        return float(t[i - 1] + (level - v[i - 1]) * (t[i] - t[i - 1]) / (v[i] - v[i - 1]))
    if last is None or n < 2 or n >= len(t) or v[n - 1] <= v[n - 2]:
        return None
    slope = (v[n - 1] - v[n - 2]) / (t[n - 1] - t[n - 2])
    tc = t[n - 1] + (level - v[n - 1]) / slope
    return float(tc) if tc <= t[n] else None


def supply_energy(t, v_source, i_source, *, until=None):
    """Energy delivered by a source of voltage ``v_source`` and branch current ``i_source``
    (ngspice's sign: positive into the + node) up to time ``until`` (default: the end)."""
    t = np.asarray(t, dtype=np.float64)
    power = -np.asarray(v_source) * np.asarray(i_source)
    if until is not None:
        keep = t <= until
        n = int(keep.sum())
        if 0 < n < len(t):
            frac = (until - t[n - 1]) / (t[n] - t[n - 1])
            p_end = power[n - 1] + frac * (power[n] - power[n - 1])
            t = np.append(t[:n], until)
            power = np.append(power[:n], p_end)
        else:
            t, power = t[:n], power[:n]
    if len(t) < 2:
        return 0.0
    return float(np.sum((power[1:] + power[:-1]) * np.diff(t)) / 2)


@dataclass(frozen=True)
class Measurement:
    """One simulated neuron.

    Members
    -------
    level : "behavioral" or "transistor"
    model_step : closed-form crossing in steps (``inf`` if the model neuron is silent)
    reference_step : firing step of the integer reference (``K`` if silent)
    fire_step : measured firing time in steps (``inf`` if it did not fire in the window)
    membrane_step : measured crossing of the threshold by the membrane (``inf`` if none)
    error_steps : ``fire_step - model_step`` (0 when both are silent, ``nan`` if only one)
    energy_J : total energy from every supply source over the transient
    energy_by_source_J : the same per source
    energy_to_fire_J : energy from ``Vdd`` up to the firing time (``nan`` if silent)
    end_s : length of the transient
    points : number of time points ngspice took
    wall_s : wall-clock time of the simulation
    """

    level: str
    model_step: float
    reference_step: int
    fire_step: float
    membrane_step: float
    error_steps: float
    energy_J: float
    energy_by_source_J: dict
    energy_to_fire_J: float
    end_s: float
    points: int
    wall_s: float

    def to_json(self):
        def clean(x):
            return None if isinstance(x, float) and not math.isfinite(x) else x
        doc = {k: clean(getattr(self, k)) for k in self.__dataclass_fields__}
        doc["energy_by_source_J"] = dict(self.energy_by_source_J)
        return doc


def transient(neuron, level, tech=DEFAULT, *, end_step=None, step_fraction=MAX_STEP_FRACTION,
              trim=None, cards=()):
    """The deck of ``neuron`` at ``level`` and the vectors to fetch from it (``trim``: the
    transistor level's :class:`~hardware.spice.sizing.Trim`; ``cards``: per-device cards,
    see :func:`hardware.spice.netlist.transistor`)."""
    circuit = netlist.build(neuron, level, tech, trim, cards=cards)
    end_step = neuron.steps - 1 + TAIL_STEPS if end_step is None else end_step
    sources = netlist.supplies(level)
    vectors = ["v(mem)", "v(fire)"] + [f"i({s.lower()})" for s in sources]
    text = deck(circuit, step_s=tech.dt_s * step_fraction, end_s=tech.time_s(end_step),
                uic=(level == "behavioral"), options={"method": "gear"})
    return text, vectors


def trim(neuron, level, sim, tech=DEFAULT):
    """The transistor level's :class:`~hardware.spice.sizing.Trim` for ``neuron``'s fan-in
    (:mod:`hardware.spice.calibration`); None at the behavioral level."""
    if level != "transistor":
        return None
    return calibration.trim(len(neuron.weights), sim, tech, neuron.threshold,
                            calibration.onset_weight(np.abs(neuron.weights).max(initial=1)))


def waveforms(neuron, level, sim, tech=DEFAULT, *, end_step=None,
              step_fraction=MAX_STEP_FRACTION, cards=()):
    """Simulate ``neuron`` at ``level`` in the :class:`~hardware.spice.simulator.Simulator`
    ``sim`` (the transistor level with its unit current trimmed by
    :func:`trim`); returns ``(waveforms, wall-clock seconds)``, the waveforms a
    dict of arrays: ``time``, ``v(mem)``, ``v(fire)`` and the current ``i(...)`` of every
    supply source."""
    text, vectors = transient(neuron, level, tech, end_step=end_step,
                              step_fraction=step_fraction,
                              trim=trim(neuron, level, sim, tech), cards=cards)
    start = _time.perf_counter()
    wave = sim.run(text, vectors)
    return wave, _time.perf_counter() - start


def simulate(neuron, level, sim, tech=DEFAULT, *, end_step=None,
             step_fraction=MAX_STEP_FRACTION, cards=()):
    """Simulate ``neuron`` at ``level`` (with per-device ``cards``, see :func:`transient`)
    and measure it; returns a :class:`Measurement`."""
    wave, wall = waveforms(neuron, level, sim, tech, end_step=end_step,
                           step_fraction=step_fraction, cards=cards)
    return measure(neuron, level, wave, tech, wall_s=wall,
                   trim=trim(neuron, level, sim, tech))


def _source_voltage(name, neuron, tech, trim_):
    if name in ("Vdd", "Vdrv"):
        return tech.vdd_V
    if name == "Vrest":
        return tech.v_rest_V
    return netlist.neuron_bias_voltages(neuron, tech, trim_)["v" + name[1:].lower()]


def measure(neuron, level, wave, tech=DEFAULT, *, wall_s=0.0, trim=None):
    """A :class:`Measurement` from the waveforms ``wave`` of :func:`transient`'s vectors."""
    t, mem, fire = wave["time"], wave["v(mem)"], wave["v(fire)"]
    half = tech.vdd_V / 2
    moved = np.nonzero(fire > 0.01 * tech.vdd_V)[0]
    last = moved[0] if len(moved) else None
    membrane = first_crossing(t, mem, tech.v_fire_V, last=last)
    latched = first_crossing(t, fire, half)
    # the circuit decides whether the neuron fired: its latch sets only inside the window
    fired = membrane if level == "behavioral" and latched is not None else latched
    energies = {s: supply_energy(t, _source_voltage(s, neuron, tech, trim), wave[f"i({s.lower()})"])
                for s in netlist.supplies(level)}
    model = neuron.crossing()
    fire_step = math.inf if fired is None else tech.step(fired)
    if math.isinf(model) and math.isinf(fire_step):
        error = 0.0
    elif math.isinf(model) or math.isinf(fire_step):
        error = math.nan
    else:
        error = fire_step - model
    to_fire = (math.nan if fired is None else
               supply_energy(t, tech.vdd_V, wave["i(vdd)"], until=fired))
    return Measurement(
        level=level, model_step=model,
        reference_step=ramp.fire_step(model if math.isfinite(model) else None, neuron.steps),
        fire_step=fire_step,
        membrane_step=math.inf if membrane is None else tech.step(membrane),
        error_steps=error, energy_J=sum(energies.values()), energy_by_source_J=energies,
        energy_to_fire_J=to_fire, end_s=float(t[-1]), points=len(t), wall_s=wall_s)
