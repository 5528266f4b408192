"""The closed-form crossing against the integer reference simulator. No simulator needed."""
import math
from fractions import Fraction

import numpy as np
import pytest

from hardware.spice import ramp
from mapping import reference


def _random_layer(rng, n_in, n_out, steps):
    weight = rng.integers(-20, 40, (n_out, n_in))
    threshold = int(rng.integers(200, 3000))
    inputs = rng.integers(0, steps + 1, (16, n_in))
    return weight, threshold, inputs


@pytest.mark.parametrize("seed", range(4))
def test_ramp_reference_fires_at_ceiling_of_crossing(seed):
    rng = np.random.default_rng(seed)
    steps = 24
    weight, threshold, inputs = _random_layer(rng, 30, 12, steps)
    fire, *_ = reference.run_layer(weight, threshold, steps, inputs)
    fired = 0
    for b in range(len(inputs)):
        for i in range(len(weight)):
            u = ramp.crossing_exact(weight[i], inputs[b], threshold, steps)
            assert ramp.fire_step(u, steps) == fire[b, i]
            fired += u is not None
    assert 0 < fired < inputs.shape[0] * weight.shape[0]


def test_ramp_potential_samples_the_reference_on_the_grid():
    rng = np.random.default_rng(7)
    steps = 16
    w = rng.integers(-10, 10, 20)
    s = rng.integers(0, steps + 1, 20)
    k = np.arange(steps)
    expected = [sum(int(wj) * max(0, int(kk) - int(sj)) for wj, sj in zip(w, s)
                    if sj <= steps - 2) for kk in k]
    assert ramp.potential(w, s, k, steps).tolist() == expected


def test_ramp_crossing_closed_form_by_hand():
    # slope 3 from step 0, 1 from step 2 (v = 6), 6 from step 4 (v = 8): 12 more at slope 6
    u = ramp.crossing_exact(np.array([3, -2, 5, 0]), np.array([0, 2, 4, 1]), 20, 10)
    assert u == Fraction(6)
    assert ramp.crossing_step(np.array([1]), np.array([0]), 3, 10) == 3.0
    assert ramp.crossing_step(np.array([1]), np.array([0]), 10, 10) == math.inf
    assert ramp.crossing_exact(np.array([1]), np.array([0]), 9, 10) == Fraction(9)
