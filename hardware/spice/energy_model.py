"""Per-event energy model of the transistor-level analog neuron, fitted to SPICE runs.

The energy of one neuron over one inference window is modelled as

    E = e_idle_J + p_static_W * t_wait + sum over delivered inputs j of e_synop(w_j, t_on_j)
        + e_spike_J * (1 if it fired)

* ``t_wait``: time from the start of the window to the firing (or to the window's end):
  the comparator is biased while the neuron waits; the latch cuts its bias when it fires.
* ``e_synop(w, t_on) = c0 + c1 * |w| + c2 * |w| * t_on`` with one ``(c0, c1, c2)`` for
  sourcing (``w > 0``) and one for sinking (``w < 0``) synapses: ``c0 + c1 |w|`` is the cost
  of switching the synapse on (its spike driver charging the switch gates, the charge its
  cells dump), ``c2 |w| t_on`` the supply energy of its current (``~ vdd_V * i_unit_A`` for
  sourcing, ``~ 0`` for sinking synapses, whose current leaves through ground). ``t_on`` runs
  from the input spike to the firing (or the window's end); an input that arrives after the
  firing costs only ``c0 + c1 |w|``.
* ``e_spike_J``: comparator decision, latch, and cutting the bias lines.
* ``e_idle_J``: the constant part of a window (reset release).

:func:`characterize` simulates random neurons in full at the transistor level, fits the nine
coefficients jointly by least squares (the terms interact: the comparator's current depends
on the membrane voltage, so a per-term transient in isolation misattributes it), and
records the model's error on the fitted neurons and on held-out ones. :func:`save` and
:func:`load` store it as ``analog_energy.json``.
"""
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mapping import validate as check
from mapping.files import write_text

from . import measure
from .netlist import Neuron
from .simulator import Simulator
from .technology import DEFAULT

SCHEMA_VERSION = 1
ENERGY_FILE = "analog_energy.json"


@dataclass(frozen=True)
class AnalogEnergies:
    """Fitted per-event energies of one technology (SI units); see the module docstring.

    Members
    -------
    synop_sourcing : ``(c0_J, c1_J_per_unit, c2_W_per_unit)`` for ``w > 0``
    synop_sinking : the same for ``w < 0``
    e_spike_J : energy of one spike (comparator, latch, bias cut-off)
    p_static_W : power of one neuron while it waits to fire
    e_idle_J : constant energy of one neuron per window
    technology : :meth:`~hardware.spice.technology.Technology.to_json` of the technology
    fit : fit errors: relative rms and max of each term against its transients, and of the
        whole model against full simulations of random neurons
    """

    synop_sourcing: tuple
    synop_sinking: tuple
    e_spike_J: float
    p_static_W: float
    e_idle_J: float
    technology: dict
    fit: dict

    def __post_init__(self):
        for name in ("synop_sourcing", "synop_sinking"):
            value = tuple(float(x) for x in getattr(self, name))
            if len(value) != 3 or not all(math.isfinite(x) for x in value):
                raise ValueError(f"{name} must be three finite numbers, not {value}")
            object.__setattr__(self, name, value)
        for name in ("e_spike_J", "p_static_W", "e_idle_J"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, not {getattr(self, name)}")

    def synop_J(self, weight, on_time_s):
        """Energy of synaptic activations of integer ``weight`` on for ``on_time_s``
        (broadcasting arrays; a zero weight costs nothing)."""
        w = np.asarray(weight, dtype=np.float64)
        t = np.asarray(on_time_s, dtype=np.float64)
        if np.any(t < 0):
            raise ValueError("on_time_s must be non-negative")
        a = np.abs(w)
        pos = self.synop_sourcing[0] + self.synop_sourcing[1] * a + self.synop_sourcing[2] * a * t
        neg = self.synop_sinking[0] + self.synop_sinking[1] * a + self.synop_sinking[2] * a * t
        return np.where(w > 0, pos, np.where(w < 0, neg, 0.0))

    def neuron_J(self, neuron, fire_step):
        """Modelled energy of ``neuron`` (a :class:`~hardware.spice.netlist.Neuron`) over its
        window if it fires at model time ``fire_step`` (``math.inf`` = never)."""
        coef = np.array([self.e_idle_J, self.p_static_W, *self.synop_sourcing,
                         *self.synop_sinking, self.e_spike_J])
        return float(np.dot(features(neuron, fire_step, self.technology["dt_s"]), coef))

    def to_json(self):
        """The ``analog_energy.json`` document."""
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}


def save(energies, directory, *, summary=None):
    """Write ``analog_energy.json`` into ``directory``; ``summary`` adds flat keys (for
    example the mean ``synop_J`` of a network's events). Returns the path."""
    path = Path(directory) / ENERGY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = energies.to_json()
    doc.update(summary or {})
    return write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def load(path):
    """Read an :class:`AnalogEnergies` from ``analog_energy.json`` (or its directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / ENERGY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `ttfs spice` first")
    doc = check.mapping(check.read_json(path), path)
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise check.ArtifactError(f"{path}: schema_version {doc.get('schema_version')!r}, this "
                                  f"version reads {SCHEMA_VERSION}")
    try:
        technology = check.mapping(check.member(doc, "technology", path), path, "technology")
        check.number(check.member(technology, "dt_s", path, "technology"), path,
                     "technology.dt_s", positive=True)
        return AnalogEnergies(
            **{name: check.numbers(check.member(doc, name, path), path, name, length=3)
               for name in ("synop_sourcing", "synop_sinking")},
            **{name: check.number(check.member(doc, name, path), path, name)
               for name in ("e_spike_J", "p_static_W", "e_idle_J")},
            technology=technology, fit=check.mapping(doc.get("fit", {}), path, "fit"))
    except check.ArtifactError as exc:
        raise check.ArtifactError(f"{path}: not an analog energy model "
                                  f"({check.reason(exc, path)})") from None


#: Characterization set: random neurons (fan-in, window) fitted jointly, and held out.
FIT_NEURONS = 48
CHECK_NEURONS = 16
FAN_INS = (4, 16, 64)
WINDOW_STEPS = 16
#: Windows of the two input-less transients that give e_idle_J and p_static_W.
IDLE_STEPS = (8, 24)


def _nonnegative_lstsq(a, y):
    """Least squares with every coefficient >= 0 (drop the negative ones and refit)."""
    free = np.ones(a.shape[1], dtype=bool)
    coef = np.zeros(a.shape[1])
    while free.any():
        sol, *_ = np.linalg.lstsq(a[:, free], y, rcond=None)
        if (sol >= 0).all():
            coef[free] = sol
            break
        index = np.flatnonzero(free)[np.argmin(sol)]
        free[index] = False
    return coef


def features(neuron, fire_step, dt_s):
    """The model's terms for one neuron, in the order of :func:`_unpack`: idle, waiting
    time, then per polarity (events, units switched on, unit-seconds of current), spike."""
    end = neuron.steps - 1 if math.isinf(fire_step) else min(fire_step, neuron.steps - 1)
    on = neuron.delivered & (neuron.weights != 0)
    w = neuron.weights[on]
    t_on = np.maximum(0.0, end - neuron.input_steps[on]) * dt_s
    row = [1.0, (end + 1.0) * dt_s]
    for mask in (w > 0, w < 0):
        row += [float(mask.sum()), float(np.abs(w[mask]).sum()),
                float((np.abs(w[mask]) * t_on[mask]).sum())]
    row.append(0.0 if math.isinf(fire_step) else 1.0)
    return row


def _unpack(coef, tech, fit):
    return AnalogEnergies(synop_sourcing=tuple(coef[2:5]), synop_sinking=tuple(coef[5:8]),
                          e_spike_J=float(coef[8]), p_static_W=float(coef[1]),
                          e_idle_J=float(coef[0]), technology=tech.to_json(), fit=fit)


def random_neuron(rng, *, n_in=16, steps=WINDOW_STEPS):
    """A random neuron: magnitudes 1..63, a share of negative weights drawn from [0, 0.6]
    (so the membrane sometimes sinks far below rest, as in trained networks), a threshold
    that makes it fire early, late or never."""
    magnitude = rng.integers(1, 64, n_in)
    w = np.where(rng.random(n_in) < rng.uniform(0.0, 0.6), -magnitude, magnitude)
    s = rng.integers(0, steps - 2, n_in)
    s[rng.random(n_in) < 0.2] = steps
    drive = max(1, int(w[s < steps - 1].clip(min=0).sum()))
    threshold = max(1, int(drive * rng.uniform(0.5, 8.0)))
    return Neuron(w, s, threshold, steps)


def characterize(tech=DEFAULT, *, sim=None, fit_neurons=FIT_NEURONS,
                 check_neurons=CHECK_NEURONS, seed=0):
    """Measure and fit the per-event energies of ``tech`` at the transistor level.

    ``e_idle_J`` and ``p_static_W`` come from two input-less windows; then
    ``fit_neurons + check_neurons`` random neurons (fan-in 4, 16 and 64, window of 16 steps)
    are simulated in full, the other seven coefficients are fitted by non-negative least
    squares to the first set (a term that fits negative is dropped to zero: it is below what
    the fit can resolve), and ``fit`` records the relative error of the model's energy on
    both sets (the held-out one is the honest figure). About 20 s for the default
    technology.
    """
    rng = np.random.default_rng(seed)
    own = sim is None
    sim = Simulator() if own else sim
    rows, energies = [], []
    try:
        idle = [measure.simulate(Neuron(np.array([0]), np.array([steps]), 1, steps),
                                 "transistor", sim, tech, end_step=steps - 1,
                                 step_fraction=measure.ENERGY_STEP_FRACTION).energy_J
                for steps in IDLE_STEPS]
        for index in range(fit_neurons + check_neurons):
            neuron = random_neuron(rng, n_in=FAN_INS[index % len(FAN_INS)])
            m = measure.simulate(neuron, "transistor", sim, tech, end_step=neuron.steps - 1,
                                 step_fraction=measure.ENERGY_STEP_FRACTION)
            rows.append(features(neuron, m.fire_step, tech.dt_s))
            energies.append(m.energy_J)
    finally:
        if own:
            sim.close()
    p_static = (idle[1] - idle[0]) / ((IDLE_STEPS[1] - IDLE_STEPS[0]) * tech.dt_s)
    e_idle = idle[0] - p_static * tech.time_s(IDLE_STEPS[0] - 1)
    a, y = np.array(rows), np.array(energies)
    rest = _nonnegative_lstsq(a[:fit_neurons, 2:],
                              y[:fit_neurons] - a[:fit_neurons, :2] @ [e_idle, p_static])
    coef = np.concatenate([[e_idle, p_static], rest])
    rel = (a @ coef - y) / y

    def stats(r):
        return {"count": int(r.size), "mean_rel": float(r.mean()),
                "rms_rel": float(np.sqrt((r ** 2).mean())), "max_abs_rel": float(np.abs(r).max())}

    fit = {"fitted": stats(rel[:fit_neurons]), "held_out": stats(rel[fit_neurons:]),
           "fired": int(a[:, -1].sum()), "seed": seed, "fan_ins": list(FAN_INS),
           "window_steps": WINDOW_STEPS}
    return _unpack(coef, tech, fit)
