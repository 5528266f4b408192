"""ngspice transients of both levels against the closed form, and a bad netlist that must
not poison the next simulation."""
import math

import numpy as np
import pytest

from hardware.spice import floor, measure, netlist, ramp, simulator
from hardware.spice.technology import DEFAULT

pytestmark = pytest.mark.ngspice


@pytest.fixture(scope="module")
def sim():
    with simulator.Simulator(timeout_s=300) as s:
        yield s


def random_neuron(rng, n_in, steps=16, positive=False):
    """Weights of a 6-bit DAC (|w| <= 31); the potential stays above -2 theta before it
    fires (deeper dips have their own tests)."""
    while True:
        w = rng.integers(1 if positive else -20, 32, n_in)
        s = rng.integers(0, steps - 2, n_in)
        s[rng.random(n_in) < 0.2] = steps
        drive = max(1, int(w[(s <= steps - 2) & (w > 0)].sum()))
        neuron = netlist.Neuron(w, s, max(1, int(drive * rng.uniform(0.5, 6.0))), steps)
        until = min(neuron.crossing(), steps - 1)
        grid = np.arange(0, int(until) + 1)
        if ramp.potential(w, s, grid, steps).min(initial=0) >= -2 * neuron.threshold:
            return neuron


def test_spice_behavioral_crossings_within_a_hundredth_of_a_step(sim):
    rng = np.random.default_rng(1)
    errors, silent = [], 0
    for index in range(24):
        neuron = random_neuron(rng, (3, 40, 784)[index % 3])
        m = measure.simulate(neuron, "behavioral", sim)
        assert math.isinf(m.model_step) == math.isinf(m.fire_step), m
        if math.isinf(m.model_step):
            silent += 1
            continue
        errors.append(m.error_steps)
        assert m.reference_step == math.ceil(m.model_step)
    assert len(errors) >= 12 and silent >= 1
    assert np.abs(errors).max() < 0.01


def test_spice_behavioral_supply_energy_is_vdd_c_vth_plus_comparator(sim):
    neuron = netlist.Neuron(np.array([7, 3, 12]), np.array([0, 2, 3]), 90, 20)
    m = measure.simulate(neuron, "behavioral", sim)
    charge_to_fire = DEFAULT.vdd_V * DEFAULT.c_mem_F * DEFAULT.v_swing_V
    assert m.energy_to_fire_J == pytest.approx(charge_to_fire, rel=1e-4)
    # afterwards: the latch trips 0.1 % of the swing higher (plus one time step of current),
    # and the comparator charges its load from the supply
    comparator = DEFAULT.c_load_F * DEFAULT.vdd_V ** 2
    assert m.energy_J == pytest.approx(charge_to_fire * 1.001 + comparator, rel=2e-3)


def test_spice_transistor_crossings_within_half_a_step(sim):
    rng = np.random.default_rng(2)
    errors = []
    for index in range(9):
        neuron = random_neuron(rng, (3, 40, 200)[index % 3])
        m = measure.simulate(neuron, "transistor", sim)
        assert math.isinf(m.model_step) == math.isinf(m.fire_step), m
        if math.isfinite(m.model_step):
            errors.append(m.error_steps)
    assert len(errors) >= 5
    assert np.abs(errors).max() < 0.5


def test_spice_transistor_784_inputs_fire_on_time(sim):
    rng = np.random.default_rng(3)
    neuron = random_neuron(rng, 784, steps=24, positive=True)
    m = measure.simulate(neuron, "transistor", sim)
    assert math.isfinite(m.model_step)
    assert abs(m.error_steps) < 0.5
    assert m.energy_J > m.energy_to_fire_J > 0


def cancelling_neuron(rng, n_in=100, steps=256):
    """8-bit weights distributed like the trained headline network's (Laplacian, mean |w|
    about 20, clipped to 127) whose sum is at least 20 times smaller than their summed
    magnitude, crossing late in a 256-step window: a slope error of 1e-3 between the
    polarities moves such a crossing by several steps."""
    while True:
        w = np.clip(np.round(rng.laplace(0.0, 20.0, n_in)), -127, 127).astype(np.int64)
        s = rng.integers(0, 40, n_in)
        net = int(w.sum())
        if net <= 0 or np.abs(w).sum() < 20 * net:
            continue
        threshold = int(net * rng.uniform(150, 230) - (w * s).sum())
        if threshold < 1:
            continue
        neuron = netlist.Neuron(w, s, threshold, steps)
        grid = np.arange(0, int(min(neuron.crossing(), steps - 1)) + 1)
        if ramp.potential(w, s, grid, steps).min(initial=0) >= -2 * threshold:
            return neuron


def test_spice_transistor_cancelling_inputs_late_in_a_long_window_fire_on_time(sim):
    rng = np.random.default_rng(7)
    for _ in range(3):
        neuron = cancelling_neuron(rng)
        assert 150 < neuron.crossing() < 255
        m = measure.simulate(neuron, "transistor", sim)
        assert abs(m.error_steps) < 0.5, m


def test_spice_transistor_fires_once_and_stops_drawing(sim):
    neuron = netlist.Neuron(np.array([40]), np.array([0]), 200, 30)
    wave, _ = measure.waveforms(neuron, "transistor", sim)
    m = measure.measure(neuron, "transistor", wave)
    assert abs(m.error_steps) < 0.5
    # (until the spike drivers switch back at the window's end, which couples into vdd)
    t = wave["time"]
    after = (t > DEFAULT.time_s(m.fire_step + 2)) & (t < DEFAULT.time_s(neuron.steps - 2))
    assert np.abs(wave["i(vdd)"][after]).max() < 1e-6
    assert np.ptp(wave["v(mem)"][after]) < 0.02


def test_spice_bad_netlist_reports_and_next_simulation_runs(sim):
    neuron = netlist.Neuron(np.array([5]), np.array([0]), 20, 10)
    before = measure.simulate(neuron, "behavioral", sim)
    with pytest.raises(simulator.SpiceError, match="q1 a b"):
        sim.run("bad deck\nR1 a 0 1k\nQ1 a b\n.tran 1n 1u\n.end\n", ["v(a)"])
    with pytest.raises(simulator.SpiceError, match="no vector 'v\\(nowhere\\)'"):
        sim.run(simulator.deck(netlist.behavioral(neuron), step_s=1e-8, end_s=1e-7, uic=True),
                ["v(nowhere)"])
    after = measure.simulate(neuron, "behavioral", sim)
    assert after.fire_step == before.fire_step
    assert sim.restarts == 2


@pytest.mark.parametrize("level", netlist.LEVELS)
def test_spice_crossing_in_the_last_step_is_not_lost(sim, level):
    # u* = 18 / 2 = 9: the reference fires at the last step K - 1 = 9; on this slow ramp
    # the transistor-level latch rises after the window's end (measured 9.02), inside the
    # readout time the window grants it
    neuron = netlist.Neuron(np.array([2]), np.array([0]), 18, 10)
    m = measure.simulate(neuron, level, sim)
    assert m.reference_step == neuron.steps - 1
    assert math.isfinite(m.fire_step), m
    assert abs(m.error_steps) < (0.01 if level == "behavioral" else 0.5)


@pytest.mark.parametrize("level", netlist.LEVELS)
def test_spice_crossing_just_after_the_window_end_does_not_fire(sim, level):
    # u* = 185 / 20 = 9.25, after the window's end K - 1 = 9: the model is silent. At the
    # transistor level the DAC's nodes still deliver charge after its switch opens and the
    # membrane does cross (measured 8.93 on the spike drivers' clock, which runs the
    # comparator's delay and the DAC's onset ahead); the window gate keeps the latch from
    # setting (with the window closing 0.6 steps late instead of 0.1, it sets: measured 9.14)
    neuron = netlist.Neuron(np.array([20, 0, 0]), np.array([0, 0, 0]), 185, 10)
    m = measure.simulate(neuron, level, sim)
    assert m.reference_step == neuron.steps and math.isinf(m.model_step)
    assert math.isinf(m.fire_step), m
    if level == "transistor":
        assert math.isfinite(m.membrane_step), m
        late = measure.simulate(neuron, level, sim, DEFAULT.with_(readout_s=60e-9))
        assert math.isfinite(late.fire_step), late


def _dip(depth, threshold=200, steps=24):
    """Synapses of -25 at step 0 and +25 at step 2 sink the membrane to ``-depth * theta``
    at step 2, where two more of +30 make the slope +60."""
    k = int(round(depth * threshold / 50))
    return netlist.Neuron(np.array([-25] * k + [25] * k + [30, 30]),
                          np.array([0] * k + [2] * k + [2, 2]), threshold, steps)


@pytest.mark.parametrize("level", netlist.LEVELS)
def test_spice_deep_dip_above_the_floor_fires_on_time(sim, level):
    neuron = _dip(2.0)     # the floor is at -2.8 theta
    assert DEFAULT.floor_thresholds() > 2.5
    m = measure.simulate(neuron, level, sim)
    assert m.model_step == pytest.approx(12.0)
    assert abs(m.error_steps) < (0.01 if level == "behavioral" else 0.5)


def test_spice_behavioral_dip_below_the_floor_fires_as_the_floor_model(sim):
    neuron = _dip(4.0)     # unclipped it crosses at 18.67; clipped at -2.8 theta at 14.67
    clipped = floor.crossing_step(neuron.weights, neuron.input_steps, neuron.threshold,
                                  neuron.steps, DEFAULT.floor_thresholds())
    assert clipped == pytest.approx(2 + 760 / 60) and neuron.crossing() > clipped + 3
    m = measure.simulate(neuron, "behavioral", sim)
    assert m.fire_step == pytest.approx(clipped, abs=0.01)
