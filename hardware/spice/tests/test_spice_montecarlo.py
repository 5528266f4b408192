"""Device mismatch in SPICE (per-device cards) against the nominal circuit and the
model-level propagation."""
import math

import numpy as np
import pytest

from hardware.spice import mismatch, montecarlo, netlist, simulator

#: Three synapses of both signs, fan-in 4 (one input silent).
NEURON = netlist.Neuron(np.array([12, -5, 9, 7]), np.array([0, 1, 2, 16]), 120, 16)


def test_montecarlo_cards_cover_the_spiking_synapses_and_the_comparator():
    table = montecarlo.devices(NEURON)
    # three devices per spiking synapse (switch, unit sources, cascode), eight comparator ones
    assert len(table) == 3 * 3 + 8
    assert table["ncs_1"][0] == "ncs" and "pcs_3" not in table
    assert table["pcs_0"][1] == pytest.approx(12 * 0.22e-6 * 8e-6)
    shifts = montecarlo.draw(NEURON, np.random.default_rng(0))
    text = str(netlist.transistor(NEURON, cards=montecarlo.cards(NEURON, shifts)))
    for name in table:
        assert f".model {name} " in text
    assert "Xp0_0 vdd bp vcp_src sb0 mem syn_p_0 switches=1 units=12" in text
    none = montecarlo.draw(NEURON, np.random.default_rng(0), coefficients=mismatch.Pelgrom(0, 0))
    assert set(none.values()) == {(0.0, 0.0)}
    assert montecarlo.linear_prediction(NEURON, none, None) == pytest.approx(NEURON.crossing())


@pytest.mark.ngspice
def test_montecarlo_mismatch_moves_the_firing_time_and_none_reproduces_it():
    with simulator.Simulator(timeout_s=60) as sim:
        none = montecarlo.compare(NEURON, sim, chips=2, coefficients=mismatch.Pelgrom(0, 0),
                                  model_draws=20)
        nominal = none["nominal_fire_step"]
        assert math.isfinite(nominal) and abs(nominal - NEURON.crossing()) < 0.5
        assert [c["fire_step"] for c in none["chips"]] == pytest.approx([nominal] * 2, abs=1e-3)
        assert none["model_mc_std_steps"] == 0.0
        drawn = montecarlo.compare(NEURON, sim, chips=2, model_draws=200)
        assert drawn["chips_both_fire"] == 2
        assert all(abs(c["fire_step"] - nominal) > 0.01 for c in drawn["chips"]), drawn
        assert drawn["model_mc_std_steps"] > 0.01


def test_montecarlo_summary_counts_silent_chips_apart():
    rows = [{"fire_step": 10.5, "predicted_step": 10.0},
            {"fire_step": 11.5, "predicted_step": 11.5},
            {"fire_step": math.inf, "predicted_step": 12.0}]
    s = montecarlo.summarize(rows, 11.0, 10.5)
    assert (s["chips_both_fire"], s["chips_silent_spice"], s["chips_silent_predicted"]) == (2, 1, 0)
    assert s["spice_std_steps"] == pytest.approx(0.5)
    assert s["predicted_std_steps"] == pytest.approx(0.75)
    # shifts from nominal: measured -0.5, +0.5; predicted -0.5, +1.0
    assert s["shift_error_rms_steps"] == pytest.approx(math.sqrt(0.5 ** 2 / 2))
