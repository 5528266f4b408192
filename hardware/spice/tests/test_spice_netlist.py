"""Netlists against golden decks, and the mapping of model units onto the circuit. No
simulator needed. Regenerate the decks after a deliberate change with
``TTFS_UPDATE_GOLDEN=1 pytest hardware/spice/tests/test_spice_netlist.py``."""
import os
from pathlib import Path

import numpy as np
import pytest

from hardware.spice import netlist
from hardware.spice.technology import DEFAULT

HERE = Path(__file__).parent

#: A small neuron exercising both signs, a zero weight, two inputs sharing a step and an
#: input that never spikes inside the window (step 9 of K = 10).
NEURON = netlist.Neuron(np.array([3, -2, 5, 0, 1, 2]), np.array([0, 2, 4, 1, 9, 4]), 20, 10)


@pytest.mark.parametrize("level", netlist.LEVELS)
def test_netlist_matches_golden_deck(level):
    text = str(netlist.build(NEURON, level))
    golden = HERE / f"golden_{level}.cir"
    if os.environ.get("TTFS_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert text == golden.read_text()


def test_netlist_behavioral_maps_weights_and_threshold():
    text = str(netlist.behavioral(NEURON))
    c_mem = 20 * DEFAULT.i_unit_A * DEFAULT.dt_s / DEFAULT.v_swing_V
    assert f"Cmem mem 0 {c_mem:.9g} ic={DEFAULT.v_rest_V}" in text
    # step 4 carries weights 5 and 2 of the same sign: one source of 7 units
    assert f"Bp4 vdd mem i={7 * DEFAULT.i_unit_A:.9g}*" in text
    assert f"Bn2 mem 0 i={2 * DEFAULT.i_unit_A:.9g}*" in text
    # the input at step 9 is never delivered (K - 2 = 8), the zero weight never drives
    assert "s9" not in text and "Bp1" not in text


def test_netlist_transistor_merges_cells_of_a_step():
    text = str(netlist.transistor(NEURON))
    assert "Xp4 vdd bp vcp_src sb4 mem syn_p units=7" in text
    assert "Xn2 bn vcn_src sp2 mem syn_n units=2" in text
    assert "Xpidle vdd bp vcp_src vdd mem syn_p units=1" in text


def test_netlist_threshold_voltage_is_the_swing():
    for threshold in (1, 20, 4096):
        c = DEFAULT.c_mem_F(threshold)
        assert threshold * DEFAULT.i_unit_A * DEFAULT.dt_s / c == pytest.approx(DEFAULT.v_swing_V)


def _square_law(model, vgs, vds, vsb, w, l):
    vt = abs(model.vto_V) + model.gamma_sqrtV * (np.sqrt(model.phi_V + vsb)
                                                 - np.sqrt(model.phi_V))
    return model.kp_A_per_V2 * w / l / 2 * (vgs - vt) ** 2 * (1 + model.lambda_per_V * vds)


def test_netlist_bias_gives_unit_current_with_cascode_in_saturation():
    t = DEFAULT
    bias = netlist.bias_voltages(t)
    pcs, pcas = t.model("pcs"), t.model("pcas")
    v_mid = t.v_rest_V + t.v_swing_V / 2
    vsd = np.sqrt(2 * t.i_unit_A / (pcs.kp_A_per_V2 * t.w_cs_m / t.l_cs_m)) + t.cascode_margin_V
    current = _square_law(pcs, t.vdd_V - bias["vbp"], vsd, 0.0, t.w_cs_m, t.l_cs_m)
    assert current == pytest.approx(t.i_unit_A, rel=1e-6)
    x = t.vdd_V - vsd
    cascode = _square_law(pcas, x - bias["vcp"], x - v_mid, vsd, t.w_cas_m, t.l_cas_m)
    assert cascode == pytest.approx(t.i_unit_A, rel=1e-6)
    ncs, ncas = t.model("ncs"), t.model("ncas")
    vds = np.sqrt(2 * t.i_unit_A / (ncs.kp_A_per_V2 * t.w_cs_m / t.l_cs_m)) + t.cascode_margin_V
    assert _square_law(ncs, bias["vbn"], vds, 0.0, t.w_cs_m, t.l_cs_m) == pytest.approx(
        t.i_unit_A, rel=1e-6)
    assert _square_law(ncas, bias["vcn"] - vds, v_mid - vds, vds, t.w_cas_m,
                       t.l_cas_m) == pytest.approx(t.i_unit_A, rel=1e-6)


def test_netlist_rejects_unknown_level():
    with pytest.raises(ValueError, match="level must be one of behavioral, transistor, "
                                         "not 'spice'"):
        netlist.build(NEURON, "spice")


def test_netlist_neuron_checks_its_inputs():
    with pytest.raises(ValueError, match=r"input steps must lie in \[0, 10\], found \[0, 11\]"):
        netlist.Neuron(np.array([1, 2]), np.array([0, 11]), 5, 10)
    with pytest.raises(ValueError, match="threshold must be at least 1, not 0"):
        netlist.Neuron(np.array([1]), np.array([0]), 0, 10)
    with pytest.raises(ValueError, match="equal length"):
        netlist.Neuron(np.array([1, 2]), np.array([0]), 3, 10)


def test_netlist_technology_checks_its_parameters():
    with pytest.raises(ValueError, match="i_unit_A must be a positive number, not -1"):
        DEFAULT.with_(i_unit_A=-1)
    with pytest.raises(ValueError, match="need 0 < v_rest_V < v_rest_V \\+ v_swing_V < vdd_V"):
        DEFAULT.with_(v_swing_V=1.5)
