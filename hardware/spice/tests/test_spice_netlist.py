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
    assert f"Cmem mem 0 {DEFAULT.c_mem_F:.9g} ic={DEFAULT.v_rest_V}" in text
    i_unit = DEFAULT.c_mem_F * DEFAULT.v_swing_V / (20 * DEFAULT.dt_s)
    # step 4 carries weights 5 and 2 of the same sign: one source of 7 units
    assert f"Bp4 vdd mem i={7 * i_unit:.9g}*" in text
    assert f"Bn2 mem 0 i={2 * i_unit:.9g}*" in text
    # the input at step 9 is never delivered (K - 2 = 8), the zero weight never drives
    assert "s9" not in text and "Bp1" not in text


def test_netlist_transistor_merges_dacs_of_a_step():
    text = str(netlist.transistor(NEURON))
    # step 4: two synapses of 5 and 2 units: 7 unit sources, two switches and cascodes
    assert "Xp4 vdd bp vcp_src sb4 mem syn_p switches=2 units=7" in text
    assert "Xn2 bn vcn_src sp2 mem syn_n switches=1 units=2" in text
    # every other DAC is open: 6 inputs, 4 sourcing ones spike (steps 0 and 4), 1 sinking
    assert "Xpoff vdd bp vcp_src vdd mem syn_p switches=3 units=3" in text
    assert "Xnoff bn vcn_src 0 mem syn_n switches=5 units=5" in text
    # every device has its diffusions
    assert all(" ad=" in line and " pd=" in line for line in text.splitlines()
               if line.startswith("M"))


def test_netlist_unit_current_from_capacitor_threshold_and_step():
    for threshold in (1, 20, 4096):
        i_unit = DEFAULT.i_unit_A(threshold)
        assert threshold * i_unit * DEFAULT.dt_s == pytest.approx(DEFAULT.c_mem_F
                                                                  * DEFAULT.v_swing_V)
    trim = netlist.Trim(charge_C=4e-13)
    assert netlist.neuron_unit_current_A(NEURON, DEFAULT, trim) == pytest.approx(
        4e-13 / (20 * DEFAULT.dt_s))


def test_netlist_membrane_parasitics_grow_with_the_fan_in():
    def charge(n):
        return netlist.membrane_parasitics(netlist.Neuron(np.ones(n, dtype=np.int64),
                                                          np.zeros(n, dtype=np.int64), 1, 2))
    per_input = (charge(101) - charge(1)) / 100
    # two cascode drains of 0.3 um: junction + overlap, about 0.7 fF each over 0.25 V
    assert 0.2e-15 < per_input < 0.5e-15
    assert charge(1) < 0.01 * DEFAULT.c_mem_F * DEFAULT.v_swing_V


def test_netlist_junction_charge_integrates_the_depletion_capacitance():
    card = DEFAULT.model("nsw")
    v = np.linspace(0.0, 1.0, 20001)
    c = (card.cj_F_per_m2 * 1e-12 / (1 + v / card.pb_V) ** card.mj
         + card.cjsw_F_per_m * 4e-6 / (1 + v / card.pb_V) ** card.mjsw)
    assert card.junction_charge_C(1.0, 1e-12, 4e-6) == pytest.approx(np.trapezoid(c, v), rel=1e-6)


def _square_law(model, vgs, vds, vsb, w, l):
    vt = abs(model.vto_V) + model.gamma_sqrtV * (np.sqrt(model.phi_V + vsb)
                                                 - np.sqrt(model.phi_V))
    return model.kp_A_per_V2 * w / l / 2 * (vgs - vt) ** 2 * (1 + model.lambda_per_V * vds)


def test_netlist_bias_gives_unit_current_with_cascode_in_saturation():
    t, i_unit, units = DEFAULT, 5e-9, 31
    bias = netlist.bias_voltages(t, i_unit, units)
    pcs, pcas = t.model("pcs"), t.model("pcas")
    v_mid = t.v_rest_V + t.v_swing_V / 2
    vsd = np.sqrt(2 * i_unit / (pcs.kp_A_per_V2 * t.w_cs_m / t.l_cs_m)) + t.cascode_margin_V
    assert _square_law(pcs, t.vdd_V - bias["vbp"], vsd, 0.0, t.w_cs_m, t.l_cs_m) == \
        pytest.approx(i_unit, rel=1e-6)
    # the cascode of the largest synapse holds the DAC node at vdd - vsd
    x = t.vdd_V - vsd
    cascode = _square_law(pcas, x - bias["vcp"], x - v_mid, vsd, t.w_cas_m, t.l_cas_m)
    assert cascode == pytest.approx(units * i_unit, rel=1e-6)
    ncs, ncas = t.model("ncs"), t.model("ncas")
    vds = np.sqrt(2 * i_unit / (ncs.kp_A_per_V2 * t.w_cs_m / t.l_cs_m)) + t.cascode_margin_V
    assert _square_law(ncs, bias["vbn"], vds, 0.0, t.w_cs_m, t.l_cs_m) == pytest.approx(
        i_unit, rel=1e-6)
    assert _square_law(ncas, bias["vcn"] - vds, v_mid - vds, vds, t.w_cas_m,
                       t.l_cas_m) == pytest.approx(units * i_unit, rel=1e-6)
    # operating region: both cascodes stay saturated over the whole swing, floor included
    assert x - t.v_fire_V > x - bias["vcp"] - abs(pcas.vto_V)
    assert t.v_floor_V - vds > bias["vcn"] - vds - ncas.vto_V


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
    with pytest.raises(ValueError, match="c_mem_F must be a positive number, not -1"):
        DEFAULT.with_(c_mem_F=-1)
    with pytest.raises(ValueError, match="need 0 < v_floor_V < v_rest_V < v_rest_V \\+ "
                                         "v_swing_V < vdd_V"):
        DEFAULT.with_(v_swing_V=1.5)
    with pytest.raises(ValueError, match="threshold must be at least 1, not 0"):
        DEFAULT.i_unit_A(0)
