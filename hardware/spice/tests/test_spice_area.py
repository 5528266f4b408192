"""The area estimate's arithmetic (no simulator)."""
import pytest

from hardware.spice import area
from hardware.spice.technology import DEFAULT


def test_area_synapse_counts_its_devices():
    # 6 bits: two DACs of 31 unit sources and their 31 unit switches, a cascode and 5
    # select switches each, and six 6T weight bits
    s = area.synapse(6)
    assert s["transistors"] == 2 * (31 + 31 + 1 + 5) + 36
    unit = area.device_m2(DEFAULT.w_cs_m, DEFAULT.l_cs_m)
    assert s["area_m2"] > 62 * unit + 6 * area.SRAM_BIT_M2
    assert area.synapse(8)["area_m2"] > 3 * s["area_m2"]


def test_area_neuron_adds_capacitor_and_synapses():
    a = area.neuron(100, 6)
    assert a["capacitor_m2"] == pytest.approx(DEFAULT.c_mem_F / area.MIM_F_PER_M2)
    assert a["synapses_m2"] == pytest.approx(100 * area.synapse(6)["area_m2"])
    assert a["total_m2"] == pytest.approx(a["capacitor_m2"] + a["comparator_latch_reset_m2"]
                                          + a["bias_gates_m2"] + a["synapses_m2"])
    with pytest.raises(ValueError, match="weight_bits must be an integer of at least 2, not 1"):
        area.synapse(1)
    with pytest.raises(ValueError, match="n_in must be at least 1, not 0"):
        area.neuron(0, 6)
