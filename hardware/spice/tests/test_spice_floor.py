"""The integer network with a clipped membrane (hardware/spice/floor.py) against the
reference simulator and a hand example. No simulator needed."""
import numpy as np
import pytest

from hardware.spice import floor
from mapping import reference


@pytest.mark.parametrize("seed", [0, 1])
def test_floor_far_below_equals_the_reference(seed):
    rng = np.random.default_rng(seed)
    K = 12
    w = rng.integers(-20, 30, (7, 15))
    s = rng.integers(0, K + 1, (9, 15))
    fire, _ = floor.run_layer(w, 60, K, s, 1e9)
    ref, *_ = reference.run_layer(w, 60, K, s)
    assert (fire == ref).all()


def test_floor_dip_below_the_floor_fires_earlier():
    # theta = 10; weight -30 at step 0 (v(1) = -30 = -3 theta), +40 at step 1: unclipped
    # v(k) = -30 k + 40 (k - 1) = 10 k - 40 crosses 10 at k = 5; with the floor at
    # -1.5 theta = -15: v(1) = -15, v(2) = -5, v(3) = 5, v(4) = 15 -> fires at 4
    w = np.array([[-30, 40]])
    s = np.array([[0, 1]])
    ref, *_ = reference.run_layer(w, 10, 10, s)
    assert ref[0, 0] == 5
    assert floor.run_layer(w, 10, 10, s, 3.0)[0][0, 0] == 5   # -3 theta: not clipped
    assert floor.run_layer(w, 10, 10, s, 1.5)[0][0, 0] == 4


def test_floor_rejects_a_floor_at_rest():
    with pytest.raises(ValueError, match="floor_thresholds must be positive, not 0"):
        floor.run_layer(np.array([[1]]), 1, 4, np.array([[0]]), 0)


def test_floor_crossing_step_is_the_clipped_ramp():
    # the example above in continuous time: clipped at -15, slope +10 from step 1 on
    w, s = np.array([-30, 40]), np.array([0, 1])
    assert floor.crossing_step(w, s, 10, 10, 1.5) == pytest.approx(1 + 25 / 10)
    assert floor.crossing_step(w, s, 10, 10, 3.0) == pytest.approx(5.0)
    assert floor.crossing_step(w, s, 10, 5, 3.0) == float("inf")
