"""Device mismatch in SPICE: every device that sets a firing time gets its own model card.

Level 1 has no mismatch parameters, so one chip's devices of one neuron are drawn as cards
(:func:`draw`): each card's ``|V_T0|`` shifted by ``N(0, A_VT / sqrt(W L))`` and its ``kp``
scaled by ``N(1, A_beta / sqrt(W L))`` (Pelgrom's law, with the coefficients of
:mod:`hardware.spice.mismatch`). The devices with their own cards: of every synapse that
spikes inside the window, its spike switch, its output cascode and its ``|w|`` unit sources
(one card for the DAC: units in parallel match like one device of ``|w|`` times the area,
to first order), and the comparator's eight devices. Logic, bias-line gates, the reset gate
and the open DACs keep the nominal cards (they do not move a firing time). The per-layer
trims stay those of the nominal devices (:mod:`hardware.spice.calibration`): a chip trims a
layer, not a device.

:func:`linear_prediction` is what the model-level Monte Carlo of
:mod:`hardware.spice.mismatch` would make of the same draw: each DAC's relative current error
``-2 dV_T / V_ov + d beta / beta`` (its saturated square law, linearized), a threshold error
from the input pair's offset, and the crossing of the ramp with those real weights
(:func:`hardware.spice.floor.crossing_step`). :func:`compare` puts both side by side.
"""
import math
from dataclasses import replace

import numpy as np

from mapping.network import IntLayer

from . import floor, measure, mismatch
from .cells import Comparator, SinkingSynapse, SourcingSynapse
from .netlist import COMPARATOR_SUFFIX
from .sizing import neuron_unit_current_A
from .technology import DEFAULT


def devices(neuron, tech=DEFAULT):
    """``{card name: (nominal model, gate area m^2)}`` of the devices that get their own
    cards in :func:`hardware.spice.netlist.transistor` with ``cards``."""
    found = {}
    cells = [(Comparator(tech, COMPARATOR_SUFFIX), 1)]
    for j, (w, s) in enumerate(zip(neuron.weights, neuron.input_steps)):
        if w and s <= neuron.steps - 2:
            factory = SinkingSynapse if w < 0 else SourcingSynapse
            cells.append((factory(tech, f"_{j}"), abs(int(w))))
    for cell, units in cells:
        for element in cell.elements:
            if getattr(element, "model", None) is None:
                continue
            m = units if element.name == "Mcs" else 1
            nominal = element.model.rsplit("_", 1)[0]
            found[element.model] = (nominal, m * float(element.width) * float(element.length))
    return found


def draw(neuron, rng, tech=DEFAULT, coefficients=mismatch.PELGROM_180NM):
    """One chip's cards for ``neuron``: ``{card name: (dV_T in V, relative d beta)}``."""
    shifts = {}
    for name, (_, area) in sorted(devices(neuron, tech).items()):
        dvt, dbeta = rng.standard_normal(2)
        shifts[name] = (float(dvt * coefficients.a_vt_Vm / math.sqrt(area)),
                        float(dbeta * coefficients.a_beta_m / math.sqrt(area)))
    return shifts


def cards(neuron, shifts, tech=DEFAULT):
    """The :class:`~hardware.spice.technology.MosModel` cards of a :func:`draw`."""
    table = devices(neuron, tech)
    out = []
    for name, (dvt, dbeta) in sorted(shifts.items()):
        card = tech.model(table[name][0])
        sign = 1.0 if card.polarity == "nmos" else -1.0
        out.append(replace(card, name=name, vto_V=sign * (abs(card.vto_V) + dvt),
                           kp_A_per_V2=card.kp_A_per_V2 * (1.0 + dbeta)))
    return tuple(out)


def linear_prediction(neuron, shifts, trim, tech=DEFAULT):
    """The crossing (model steps) that the model-level propagation predicts for the draw
    ``shifts``: DAC current errors and the input pair's threshold error, on the floor model."""
    i_unit = neuron_unit_current_A(neuron, tech, trim)
    w = neuron.weights.astype(np.float64)
    for j, wj in enumerate(neuron.weights):
        pol = "n" if wj < 0 else "p"
        if f"{pol}cs_{j}" in shifts:
            dvt, dbeta = shifts[f"{pol}cs_{j}"]
            v_ov = tech.model(f"{pol}cs").overdrive_V(i_unit, tech.w_cs_m, tech.l_cs_m)
            w[j] *= 1.0 - 2.0 * dvt / v_ov + dbeta
    pair = shifts[f"nsw{COMPARATOR_SUFFIX}1"][0] - shifts[f"nsw{COMPARATOR_SUFFIX}2"][0]
    theta = neuron.threshold * (1.0 + pair / tech.v_swing_V)
    return floor.crossing_step(w, neuron.input_steps, theta, neuron.steps,
                               tech.floor_thresholds())


def model_spread(neuron, trim, *, draws=2000, seed=0, tech=DEFAULT,
                 coefficients=mismatch.PELGROM_180NM):
    """Standard deviation (steps) of the crossing over ``draws`` chips of the model-level
    Monte Carlo (:func:`hardware.spice.mismatch.draw_layer`) for this one neuron; chips on
    which it does not fire are left out."""
    rng = np.random.default_rng(seed)
    layer = IntLayer(neuron.weights[None, :], neuron.threshold)
    i_unit = neuron_unit_current_A(neuron, tech, trim)
    times = []
    for _ in range(draws):
        w, theta = mismatch.draw_layer(layer, i_unit, rng, tech, coefficients)
        times.append(floor.crossing_step(w[0], neuron.input_steps, theta[0], neuron.steps,
                                         tech.floor_thresholds()))
    times = np.array(times)
    return float(np.std(times[np.isfinite(times)]))


def compare(neuron, sim, *, chips, seed=0, tech=DEFAULT, coefficients=mismatch.PELGROM_180NM,
            model_draws=2000):
    """``chips`` SPICE chips of ``neuron`` at the transistor level against the model-level
    propagation: per chip the measured firing time and the linear prediction of the same
    draw; the spread of both over the chips, and the model-level Monte Carlo's spread."""
    if chips < 1:
        raise ValueError(f"chips must be at least 1, not {chips}")
    rng = np.random.default_rng(seed)
    trim = measure.trim(neuron, "transistor", sim, tech)
    nominal = measure.simulate(neuron, "transistor", sim, tech)
    rows = []
    for _ in range(chips):
        shifts = draw(neuron, rng, tech, coefficients)
        m = measure.simulate(neuron, "transistor", sim, tech, cards=cards(neuron, shifts, tech))
        rows.append({"fire_step": m.fire_step,
                     "predicted_step": linear_prediction(neuron, shifts, trim, tech)})
    return {"model_step": neuron.crossing(), "nominal_fire_step": nominal.fire_step,
            "chips": rows, **summarize(rows, nominal.fire_step, neuron.crossing()),
            "model_mc_std_steps": model_spread(neuron, trim, draws=model_draws, seed=seed,
                                               tech=tech, coefficients=coefficients)}


def summarize(rows, nominal_step, model_step):
    """Spread over chips of the measured firing times and of the linear predictions (over
    the chips where both fire), the error of the predicted shift from the nominal, and how
    many chips are silent in each."""
    spice = np.array([r["fire_step"] for r in rows], dtype=np.float64)
    predicted = np.array([r["predicted_step"] for r in rows], dtype=np.float64)
    both = np.isfinite(spice) & np.isfinite(predicted)
    shift_error = (spice[both] - nominal_step) - (predicted[both] - model_step)
    return {"chips_both_fire": int(both.sum()),
            "chips_silent_spice": int(np.sum(~np.isfinite(spice))),
            "chips_silent_predicted": int(np.sum(~np.isfinite(predicted))),
            "spice_std_steps": float(np.std(spice[both])) if both.any() else math.nan,
            "predicted_std_steps": float(np.std(predicted[both])) if both.any() else math.nan,
            "shift_error_rms_steps": (float(np.sqrt(np.mean(shift_error ** 2)))
                                      if both.any() else math.nan)}
