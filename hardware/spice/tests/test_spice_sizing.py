"""Sizing of the transistor-level neuron (no simulator): unit current, the membrane node's
parasitic charge, junction charge, bias voltages and the operating region."""
import numpy as np
import pytest

from hardware.spice import netlist, sizing
from hardware.spice.technology import DEFAULT

#: A small neuron of both signs (the one of test_spice_netlist.py).
NEURON = netlist.Neuron(np.array([3, -2, 5, 0, 1, 2]), np.array([0, 2, 4, 1, 9, 4]), 20, 10)


def test_sizing_unit_current_from_capacitor_threshold_and_step():
    for threshold in (1, 20, 4096):
        i_unit = DEFAULT.i_unit_A(threshold)
        assert threshold * i_unit * DEFAULT.dt_s == pytest.approx(DEFAULT.c_mem_F
                                                                  * DEFAULT.v_swing_V)
    trim = sizing.Trim(charge_C=4e-13)
    assert sizing.neuron_unit_current_A(NEURON, DEFAULT, trim) == pytest.approx(
        4e-13 / (20 * DEFAULT.dt_s))


def test_sizing_membrane_parasitics_grow_with_the_fan_in():
    def charge(n):
        return sizing.membrane_parasitics(netlist.Neuron(np.ones(n, dtype=np.int64),
                                                         np.zeros(n, dtype=np.int64), 1, 2))
    per_input = (charge(101) - charge(1)) / 100
    # two cascode drains of 1 um: junction + overlap, about 1.7 fF each over 0.25 V
    assert 0.7e-15 < per_input < 1.0e-15
    assert charge(1) < 0.01 * DEFAULT.c_mem_F * DEFAULT.v_swing_V


def test_sizing_junction_charge_integrates_the_depletion_capacitance():
    card = DEFAULT.model("nsw")
    v = np.linspace(0.0, 1.0, 20001)
    c = (card.cj_F_per_m2 * 1e-12 / (1 + v / card.pb_V) ** card.mj
         + card.cjsw_F_per_m * 4e-6 / (1 + v / card.pb_V) ** card.mjsw)
    assert card.junction_charge_C(1.0, 1e-12, 4e-6) == pytest.approx(np.trapezoid(c, v), rel=1e-6)


def _square_law(model, vgs, vds, vsb, w, l):
    vt = abs(model.vto_V) + model.gamma_sqrtV * (np.sqrt(model.phi_V + vsb)
                                                 - np.sqrt(model.phi_V))
    return model.kp_A_per_V2 * w / l / 2 * (vgs - vt) ** 2 * (1 + model.lambda_per_V * vds)


def test_sizing_bias_gives_unit_current_with_cascode_in_saturation():
    t, i_unit, units = DEFAULT, 5e-9, 31
    bias = sizing.bias_voltages(t, i_unit, units)
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
