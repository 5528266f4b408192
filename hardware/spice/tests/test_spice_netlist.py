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
    with pytest.raises(ValueError, match="need edge_s < readout_s < dt_s, got 1e-09, 2e-07, "
                                         "1e-07"):
        DEFAULT.with_(readout_s=2e-7)


def test_netlist_window_closes_readout_after_the_last_step():
    # both levels: the window line falls readout_s after model time K - 1 = 9 (t = 1 us)
    for level in netlist.LEVELS:
        text = str(netlist.build(NEURON, level))
        assert "Vwin win 0 PWL(0.0s 1.8V 1.0095e-06s 1.8V 1.0105e-06s 0.0V)" in text
    assert "Xgate vdd winb cmpb set nor2" in str(netlist.transistor(NEURON))
