"""Monte Carlo over device mismatch at the model level (no simulator)."""
import math

import numpy as np
import pytest

from hardware.spice import mismatch
from hardware.spice.technology import DEFAULT
from mapping import reference
from mapping.network import IntLayer, IntNetwork


def _network(rng):
    return IntNetwork(layers=(IntLayer(rng.integers(-8, 16, (6, 30)), 60),
                              IntLayer(rng.integers(-8, 16, (3, 6)), 20)),
                      weight_bits=6, steps=16)


def test_mismatch_pelgrom_sigmas_by_hand():
    c = mismatch.Pelgrom(a_vt_Vm=5e-9, a_beta_m=1e-8)
    area = DEFAULT.w_cs_m * DEFAULT.l_cs_m
    v_ov = DEFAULT.model("pcs").overdrive_V(7e-9, DEFAULT.w_cs_m, DEFAULT.l_cs_m)
    expected = math.hypot(2 * 5e-9 / (v_ov * math.sqrt(area)), 1e-8 / math.sqrt(area))
    assert mismatch.unit_sigma(7e-9, "p", coefficients=c) == pytest.approx(expected)
    # the NMOS unit has half the overdrive (4x the k'): a larger V_T term
    assert mismatch.unit_sigma(7e-9, "n") > mismatch.unit_sigma(7e-9, "p")
    # the comparator: the pair's V_T terms dominate; the mirror's (g_m half the pair's)
    # adds a quarter in square, the beta terms a few per cent
    pair = math.sqrt(2) * 5e-9 / math.sqrt(DEFAULT.w_pair_m * DEFAULT.l_pair_m)
    offset = mismatch.comparator_offset_V()
    assert math.hypot(pair, pair / 2) < offset < 1.15 * pair
    assert mismatch.threshold_sigma() == pytest.approx(offset / DEFAULT.v_swing_V)
    # Pelgrom: 16x the area of pair and mirror, a quarter of the offset
    large = DEFAULT.with_(w_pair_m=4e-6, l_pair_m=0.72e-6, w_mirror_m=4e-6, l_mirror_m=0.72e-6)
    assert mismatch.comparator_offset_V(large) == pytest.approx(offset / 4, rel=0.05)


def test_mismatch_draws_average_over_units():
    layer = IntLayer(np.array([[1] * 4000 + [16] * 4000]), 10)
    w, theta = mismatch.draw_layer(layer, 7e-9, np.random.default_rng(0))
    sigma = mismatch.unit_sigma(7e-9, "p")
    assert np.std(w[0, :4000] - 1) == pytest.approx(sigma, rel=0.1)
    assert np.std(w[0, 4000:] / 16 - 1) == pytest.approx(sigma / 4, rel=0.1)
    assert theta.shape == (1,)


def test_mismatch_without_mismatch_is_the_nominal_network():
    rng = np.random.default_rng(1)
    net = _network(rng)
    x = rng.integers(0, 17, (20, 30))
    labels = rng.integers(0, 3, 20)
    result = mismatch.monte_carlo(net, x, labels, trials=2, charge_per_input_C=3e-16,
                                  coefficients=mismatch.Pelgrom(0.0, 0.0))
    nominal = reference.simulate(net, x)
    assert result["accuracy"] == [float(np.mean(nominal.prediction == labels))] * 2
    assert all(layer["changed"] == 0 for layer in result["layers"])
    noisy = mismatch.monte_carlo(net, x, labels, trials=3, charge_per_input_C=3e-16,
                                 coefficients=mismatch.Pelgrom(50e-9, 1e-7))
    assert noisy["layers"][0]["changed"] > 0
    with pytest.raises(ValueError, match="trials must be at least 1, not 0"):
        mismatch.monte_carlo(net, x, labels, trials=0, charge_per_input_C=0.0)
