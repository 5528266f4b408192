"""Device mismatch of the analog neuron and what it does to a network: Monte Carlo at the
model level.

Each chip (one Monte Carlo trial) draws, once, a relative current error for every synapse's
DAC and a threshold error for every neuron (Pelgrom's law, coefficients below):

* a DAC of ``|w|`` unit sources of ``W x L`` delivers ``|w| I_unit (1 + e)`` with
  ``e ~ N(0, sigma_unit / sqrt(|w|))`` (independent unit devices average) and
  ``sigma_unit^2 = (2 A_VT / (V_ov sqrt(W L)))^2 + (A_beta / sqrt(W L))^2`` (a saturated
  device: ``dI/I = -(g_m/I) dV_T + d beta / beta`` with ``g_m/I = 2/V_ov``);
* the comparator has an input-referred offset from its pair and mirror
  (:func:`comparator_offset_V`); over the threshold voltage ``V_th`` it is a relative
  threshold error.

The network is then the integer network with real-valued weights ``w (1 + e)`` and
thresholds ``theta (1 + d)``, run on the integer grid with the membrane floor
(:func:`hardware.spice.floor.run_layer` takes real weights): the spike times move by whole
steps where mismatch moves a crossing across a grid point, which is how the next layer sees
them. The per-fan-in trims (:mod:`hardware.spice.calibration`) remove the common part of
these errors, not the per-device part modelled here.
"""
import math
from dataclasses import dataclass

import numpy as np

from mapping import reference

from . import floor
from .technology import DEFAULT


@dataclass(frozen=True)
class Pelgrom:
    """Matching coefficients: ``a_vt_Vm`` (V m) and ``a_beta_m`` (relative, m)."""

    a_vt_Vm: float = 5e-9
    a_beta_m: float = 1e-8


#: 0.18 um CMOS: A_VT about 1 mV um per nm of gate oxide (Pelgrom, Tuinhout and Vertregt,
#: IEDM 1998), 4 to 5 mV um at t_ox = 4.1 nm; A_beta about 1 % um.
PELGROM_180NM = Pelgrom()


def unit_sigma(i_unit_A, polarity, tech=DEFAULT, coefficients=PELGROM_180NM):
    """Relative current spread of one unit source of ``polarity`` ("p"/"n") at ``i_unit_A``."""
    model = tech.model(f"{polarity}cs")
    area = tech.w_cs_m * tech.l_cs_m
    v_ov = model.overdrive_V(i_unit_A, tech.w_cs_m, tech.l_cs_m)
    return math.hypot(2 * coefficients.a_vt_Vm / (v_ov * math.sqrt(area)),
                      coefficients.a_beta_m / math.sqrt(area))


def comparator_offset_V(tech=DEFAULT, coefficients=PELGROM_180NM):
    """Standard deviation of the comparator's input-referred offset (V): the first stage
    (an NMOS pair ``w_pair_m x l_pair_m``, a PMOS mirror ``w_mirror_m x l_mirror_m``, each
    side at ``i_tail_A / 2``) referred to its input,

        sigma^2 = 2 sigma_VT,n^2 + 2 sigma_VT,p^2 (g_m,p / g_m,n)^2
                  + (V_ov,n / 2)^2 (2 sigma_beta,n^2 + 2 sigma_beta,p^2),

    with ``sigma_VT = A_VT / sqrt(W L)``, ``sigma_beta = A_beta / sqrt(W L)`` and the square
    law's ``g_m,p / g_m,n = sqrt(beta_p / beta_n)`` (the second stage's offset, divided by
    the first stage's gain, is neglected)."""
    n, p = tech.model("nsw"), tech.model("psw")
    area_n, area_p = tech.w_pair_m * tech.l_pair_m, tech.w_mirror_m * tech.l_mirror_m
    beta_n = n.kp_A_per_V2 * tech.w_pair_m / tech.l_pair_m
    beta_p = p.kp_A_per_V2 * tech.w_mirror_m / tech.l_mirror_m
    v_ov = n.overdrive_V(tech.i_tail_A / 2, tech.w_pair_m, tech.l_pair_m)
    a_vt, a_beta = coefficients.a_vt_Vm, coefficients.a_beta_m
    return math.sqrt(2 * a_vt ** 2 / area_n + 2 * a_vt ** 2 / area_p * beta_p / beta_n
                     + (v_ov / 2) ** 2 * (2 * a_beta ** 2 / area_n + 2 * a_beta ** 2 / area_p))


def threshold_sigma(tech=DEFAULT, coefficients=PELGROM_180NM):
    """Relative threshold spread from the comparator's offset
    (:func:`comparator_offset_V` over ``V_th``)."""
    return comparator_offset_V(tech, coefficients) / tech.v_swing_V


def draw_layer(layer, i_unit_A, rng, tech=DEFAULT, coefficients=PELGROM_180NM):
    """One chip's real-valued weights and thresholds ``(weight, threshold[n_out])``."""
    w = np.asarray(layer.weight, dtype=np.float64)
    sigma = np.where(w > 0, unit_sigma(i_unit_A, "p", tech, coefficients),
                     unit_sigma(i_unit_A, "n", tech, coefficients))
    units = np.maximum(np.abs(w), 1.0)
    noisy = w * (1.0 + rng.standard_normal(w.shape) * sigma / np.sqrt(units))
    theta = layer.threshold * (1.0 + rng.standard_normal(len(w))
                               * threshold_sigma(tech, coefficients))
    return noisy, theta


def simulate(network, input_steps, rng, *, charge_per_input_C, tech=DEFAULT,
             coefficients=PELGROM_180NM):
    """Spike steps of every layer and the predictions of one Monte Carlo chip.

    ``charge_per_input_C`` is the membrane charge each input adds (the unit current of a
    layer of fan-in ``n`` is ``(c_mem_F v_swing_V + n charge_per_input_C) / (theta dt)``,
    which sets the unit devices' overdrive)."""
    spikes = [np.asarray(input_steps, dtype=np.int64)]
    v = None
    for layer in network.layers:
        i_unit = tech.i_unit_A(layer.threshold, layer.n_in * charge_per_input_C)
        w, theta = draw_layer(layer, i_unit, rng, tech, coefficients)
        fire, v = floor.run_layer(w, theta, network.steps, spikes[-1],
                                  tech.floor_thresholds())
        spikes.append(fire)
    return tuple(spikes), reference.decode(spikes[-1], v, network.steps)


def monte_carlo(network, input_steps, labels, *, trials, seed=0, charge_per_input_C,
                tech=DEFAULT, coefficients=PELGROM_180NM):
    """``trials`` chips: their accuracies, and per layer the spread of the firing steps
    (standard deviation over chips, averaged over the neurons and samples where the nominal
    network fires) and the share of firing steps that differ from the nominal network."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, not {trials}")
    rng = np.random.default_rng(seed)
    nominal = reference.simulate(network, input_steps)
    labels = np.asarray(labels)
    runs = [simulate(network, input_steps, rng, charge_per_input_C=charge_per_input_C,
                     tech=tech, coefficients=coefficients) for _ in range(trials)]
    accuracy = [float(np.mean(p == labels)) for _, p in runs]
    layers = []
    for l in range(1, len(network.layers) + 1):
        steps = np.stack([r[0][l] for r in runs]).astype(np.float64)
        fired = nominal.spike_steps[l] < network.steps
        spread = steps.std(axis=0)[fired]
        layers.append({"firing_step_std_mean": float(spread.mean()) if spread.size else 0.0,
                       "firing_step_std_p95": (float(np.percentile(spread, 95))
                                               if spread.size else 0.0),
                       "changed": float(np.mean(steps != nominal.spike_steps[l][None]))})
    return {"trials": trials, "samples": int(len(labels)), "seed": seed,
            "nominal_accuracy": float(np.mean(nominal.prediction == labels)),
            "accuracy": accuracy, "accuracy_mean": float(np.mean(accuracy)),
            "accuracy_std": float(np.std(accuracy)), "layers": layers,
            "threshold_sigma": threshold_sigma(tech, coefficients)}
