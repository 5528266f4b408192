"""Per-event energy model of the transistor-level analog neuron, fitted to SPICE runs.

The energy of one neuron of fan-in ``n`` and threshold ``theta`` over one inference window is
modelled as

    E = e_idle_J + p_static_W * t_wait + sum over delivered inputs j of e_synop(w_j, u_j)
        + (e_spike_J + e_spike_per_unit_J * sum_j |w_j|) * (1 if it fired)

* ``t_wait``: time from the start of the window to the firing (or to the window's end):
  the comparator is biased while the neuron waits; the latch cuts its bias when it fires.
* ``e_synop(w, u) = c0 + c1 * |w| + c2 * |w| * u * Q(n) / theta`` with one ``(c0, c1, c2)``
  for sourcing (``w > 0``) and one for sinking (``w < 0``) synapses. ``u`` is the synapse's
  on-time in steps, ``Q(n) = charge_fixed_C + n * charge_per_input_C`` the trimmed charge
  to fire (:mod:`hardware.spice.calibration`), so ``|w| u Q(n) / theta`` is the charge the
  synapse's DAC delivers and ``c2`` a voltage: ``~ vdd_V`` for sourcing DACs (their current
  comes from the supply), ``~ 0`` for sinking ones (theirs leaves through ground). ``c0 +
  c1 |w|`` is the cost of switching the synapse on (its spike driver, its DAC's nodes). An
  input that arrives after the firing costs only ``c0 + c1 |w|``.
* the spike: the comparator decision and the latch (``e_spike_J``) and the bias-line gates
  and their buffer chain, which are sized with the neuron's total weight units (``e_spike_per_unit_J``).
* ``e_idle_J``: the constant part of a window (reset release).

:func:`characterize` simulates random neurons in full at the transistor level, fits the
coefficients jointly by non-negative least squares, and records the model's error per
neuron on the fitted neurons and on held-out ones. :func:`save` and :func:`load` store it
as ``analog_energy.json``.
"""
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mapping import validate as check
from mapping.files import write_text

from . import calibration, measure
from .netlist import Neuron
from .simulator import Simulator
from .technology import DEFAULT

SCHEMA_VERSION = 2
ENERGY_FILE = "analog_energy.json"


@dataclass(frozen=True)
class AnalogEnergies:
    """Fitted per-event energies of one technology (SI units); see the module docstring.

    Members
    -------
    synop_sourcing : ``(c0_J, c1_J_per_unit, c2_V)`` for ``w > 0``
    synop_sinking : the same for ``w < 0``
    e_spike_J : energy of one spike independent of the fan-in (comparator, latch)
    e_spike_per_unit_J : energy of one spike per weight unit of the neuron (bias-line gates)
    p_static_W : power of one neuron while it waits to fire
    e_idle_J : constant energy of one neuron per window
    charge_fixed_C, charge_per_input_C : the trimmed charge to fire of a neuron of fan-in
        ``n`` is ``charge_fixed_C + n * charge_per_input_C``
    technology : :meth:`~hardware.spice.technology.Technology.to_json` of the technology
    fit : errors of the model against full simulations of random neurons, fitted and held
        out (per neuron: ``held_out_neurons``)
    """

    synop_sourcing: tuple
    synop_sinking: tuple
    e_spike_J: float
    e_spike_per_unit_J: float
    p_static_W: float
    e_idle_J: float
    charge_fixed_C: float
    charge_per_input_C: float
    technology: dict
    fit: dict

    def __post_init__(self):
        for name in ("synop_sourcing", "synop_sinking"):
            value = tuple(float(x) for x in getattr(self, name))
            if len(value) != 3 or not all(math.isfinite(x) for x in value):
                raise ValueError(f"{name} must be three finite numbers, not {value}")
            object.__setattr__(self, name, value)
        for name in ("e_spike_J", "e_spike_per_unit_J", "p_static_W", "e_idle_J",
                     "charge_fixed_C", "charge_per_input_C"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, not {getattr(self, name)}")

    def charge_to_fire_C(self, n_in):
        """Trimmed charge from rest to the threshold of a neuron with ``n_in`` inputs."""
        return self.charge_fixed_C + n_in * self.charge_per_input_C

    def synop_J(self, weight, on_steps, threshold, n_in):
        """Energy of synaptic activations of integer ``weight`` on for ``on_steps`` steps
        into neurons of ``threshold`` and fan-in ``n_in`` (broadcasting arrays; a zero
        weight costs nothing)."""
        w = np.asarray(weight, dtype=np.float64)
        u = np.asarray(on_steps, dtype=np.float64)
        if np.any(u < 0):
            raise ValueError("on_steps must be non-negative")
        a = np.abs(w)
        charge = a * u * self.charge_to_fire_C(n_in) / threshold
        pos = self.synop_sourcing[0] + self.synop_sourcing[1] * a + self.synop_sourcing[2] * charge
        neg = self.synop_sinking[0] + self.synop_sinking[1] * a + self.synop_sinking[2] * charge
        return np.where(w > 0, pos, np.where(w < 0, neg, 0.0))

    def coefficients(self):
        """The coefficients in the order of :func:`features`."""
        return np.array([self.e_idle_J, self.p_static_W, *self.synop_sourcing,
                         *self.synop_sinking, self.e_spike_J, self.e_spike_per_unit_J])

    def neuron_J(self, neuron, fire_step):
        """Modelled energy of ``neuron`` (a :class:`~hardware.spice.netlist.Neuron`) over its
        window if it fires at model time ``fire_step`` (``math.inf`` = never)."""
        row = features(neuron, fire_step, self.technology["dt_s"],
                       self.charge_to_fire_C(len(neuron.weights)))
        return float(np.dot(row, self.coefficients()))

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
               for name in ("e_spike_J", "e_spike_per_unit_J", "p_static_W", "e_idle_J",
                            "charge_fixed_C", "charge_per_input_C")},
            technology=technology, fit=check.mapping(doc.get("fit", {}), path, "fit"))
    except check.ArtifactError as exc:
        raise check.ArtifactError(f"{path}: not an analog energy model "
                                  f"({check.reason(exc, path)})") from None


#: Characterization set: random neurons (fan-in, window) fitted jointly, and held out.
FIT_NEURONS = 48
CHECK_NEURONS = 16
FAN_INS = (4, 32, 256)
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


def features(neuron, fire_step, dt_s, charge_to_fire_C):
    """The model's terms for one neuron, in the order of :meth:`AnalogEnergies.coefficients`:
    idle, waiting time, per polarity (events, units switched on, charge delivered), spike,
    spike times the neuron's weight units."""
    end = neuron.steps - 1 if math.isinf(fire_step) else min(fire_step, neuron.steps - 1)
    on = neuron.delivered & (neuron.weights != 0)
    w = neuron.weights[on]
    u = np.maximum(0.0, end - neuron.input_steps[on])
    q_unit_step = charge_to_fire_C / neuron.threshold
    row = [1.0, (end + 1.0) * dt_s]
    for mask in (w > 0, w < 0):
        row += [float(mask.sum()), float(np.abs(w[mask]).sum()),
                float((np.abs(w[mask]) * u[mask]).sum() * q_unit_step)]
    fired = 0.0 if math.isinf(fire_step) else 1.0
    row += [fired, fired * float(np.abs(neuron.weights).sum())]
    return row


def _unpack(coef, charge, tech, fit):
    return AnalogEnergies(synop_sourcing=tuple(coef[2:5]), synop_sinking=tuple(coef[5:8]),
                          e_spike_J=float(coef[8]), e_spike_per_unit_J=float(coef[9]),
                          p_static_W=float(coef[1]), e_idle_J=float(coef[0]),
                          charge_fixed_C=charge[0], charge_per_input_C=charge[1],
                          technology=tech.to_json(), fit=fit)


def random_neuron(rng, *, n_in=16, steps=WINDOW_STEPS, weight_bits=6):
    """A random neuron: magnitudes 1 .. 2^(weight_bits - 1) - 1 (31: a 6-bit DAC), a share
    of negative weights drawn from [0, 0.6] (so the membrane sometimes sinks far below rest,
    as in trained networks), a threshold that makes it fire early, late or never."""
    magnitude = rng.integers(1, 1 << (weight_bits - 1), n_in)
    w = np.where(rng.random(n_in) < rng.uniform(0.0, 0.6), -magnitude, magnitude)
    s = rng.integers(0, steps - 2, n_in)
    s[rng.random(n_in) < 0.2] = steps
    drive = max(1, int(w[s < steps - 1].clip(min=0).sum()))
    threshold = max(1, int(drive * rng.uniform(0.5, 8.0)))
    return Neuron(w, s, threshold, steps)


def characterize(tech=DEFAULT, *, sim=None, fit_neurons=FIT_NEURONS,
                 check_neurons=CHECK_NEURONS, seed=0, weight_bits=6, fan_ins=FAN_INS):
    """Measure and fit the per-event energies of ``tech`` at the transistor level.

    ``e_idle_J`` and ``p_static_W`` come from two input-less windows; the charge to fire
    against the fan-in from the trims (:mod:`hardware.spice.calibration`) at
    ``fan_ins`` (default :data:`FAN_INS`), fitted by a line; then ``fit_neurons +
    check_neurons`` random neurons (those fan-ins in turn, ``weight_bits`` signed weights,
    window of 16 steps) are simulated in full; the charge
    coefficients are physics (``c2`` = ``vdd_V`` sourcing, 0 sinking), the other six are
    fitted by non-negative least squares to the first set (a term that fits negative is
    dropped to zero: it is below what the fit can resolve), and ``fit`` records the relative
    error of the model's energy on both sets, per held-out neuron too (the held-out figures
    are the honest ones).
    """
    rng = np.random.default_rng(seed)
    own = sim is None
    sim = Simulator() if own else sim
    rows, energies, neurons = [], [], []
    try:
        idle = [measure.simulate(Neuron(np.array([0]), np.array([steps]), 1, steps),
                                 "transistor", sim, tech, end_step=steps - 1,
                                 step_fraction=measure.ENERGY_STEP_FRACTION).energy_J
                for steps in IDLE_STEPS]
        trims = [calibration.trim(n, sim, tech).charge_C for n in fan_ins]
        slope, fixed = np.polyfit(fan_ins, trims, 1)
        for index in range(fit_neurons + check_neurons):
            neuron = random_neuron(rng, n_in=fan_ins[index % len(fan_ins)],
                                   weight_bits=weight_bits)
            m = measure.simulate(neuron, "transistor", sim, tech, end_step=neuron.steps - 1,
                                 step_fraction=measure.ENERGY_STEP_FRACTION)
            rows.append(features(neuron, m.fire_step, tech.dt_s,
                                 fixed + slope * len(neuron.weights)))
            energies.append(m.energy_J)
            neurons.append({"fan_in": len(neuron.weights), "threshold": neuron.threshold,
                            "fired": bool(np.isfinite(m.fire_step)), "energy_J": m.energy_J})
    finally:
        if own:
            sim.close()
    p_static = (idle[1] - idle[0]) / ((IDLE_STEPS[1] - IDLE_STEPS[0]) * tech.dt_s)
    e_idle = idle[0] - p_static * tech.time_s(IDLE_STEPS[0] - 1)
    a, y = np.array(rows), np.array(energies)
    # the DAC charge terms are physics, not fitted: a sourcing DAC draws its charge from
    # vdd, a sinking one returns it to ground (fitted freely, the charge term, a fraction
    # of the comparator's waiting energy, was lost in the others)
    physics = {0: e_idle, 1: p_static, 4: tech.vdd_V, 7: 0.0}
    free = [i for i in range(a.shape[1]) if i not in physics]
    known = np.array([physics.get(i, 0.0) for i in range(a.shape[1])])
    coef = known.copy()
    coef[free] = _nonnegative_lstsq(a[:fit_neurons][:, free],
                                    y[:fit_neurons] - a[:fit_neurons] @ known)
    rel = (a @ coef - y) / y
    for record, r in zip(neurons, rel):
        record["model_error_rel"] = float(r)

    def stats(r):
        return {"count": int(r.size), "mean_rel": float(r.mean()),
                "rms_rel": float(np.sqrt((r ** 2).mean())), "max_abs_rel": float(np.abs(r).max())}

    fit = {"fitted": stats(rel[:fit_neurons]), "held_out": stats(rel[fit_neurons:]),
           "held_out_neurons": neurons[fit_neurons:], "fired": int(a[:, -2].sum()),
           "seed": seed, "fan_ins": list(fan_ins), "window_steps": WINDOW_STEPS,
           "weight_bits": weight_bits, "charge_to_fire_C": dict(zip(map(str, fan_ins), trims))}
    return _unpack(coef, (float(fixed), float(slope)), tech, fit)


def validate(energies, neurons, sim, tech=DEFAULT):
    """The model ``energies`` against full transistor-level simulations of ``neurons`` (as
    :func:`characterize` measures them: the window up to model time ``K - 1``, fine time
    steps). Per neuron: fan-in, threshold, whether it fired, measured and modelled energy,
    and the model's relative error."""
    records = []
    for neuron in neurons:
        m = measure.simulate(neuron, "transistor", sim, tech, end_step=neuron.steps - 1,
                             step_fraction=measure.ENERGY_STEP_FRACTION)
        model_J = energies.neuron_J(neuron, m.fire_step)
        records.append({"fan_in": len(neuron.weights), "threshold": neuron.threshold,
                        "fired": bool(np.isfinite(m.fire_step)), "energy_J": m.energy_J,
                        "model_J": model_J, "error_rel": model_J / m.energy_J - 1.0})
    return records
