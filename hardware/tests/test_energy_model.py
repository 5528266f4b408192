import numpy as np
import pytest

from hardware import energy
from hardware.energy import Cost, CostTable, CostTableError, EventEnergies
from mapping import reference
from mapping.network import IntLayer, IntNetwork

PJ = 1e-12


def tiny_network():
    """3-2-1, 4-bit weights, K = 6: small enough to count every event by hand."""
    return IntNetwork(layers=(IntLayer(np.array([[2, 1, 0], [1, -1, 3]]), 3),
                              IntLayer(np.array([[1, 2]]), 2)),
                      weight_bits=4, steps=6)


def round_costs(**values):
    """A table of round numbers, so that the expected energies are easy to check by hand."""
    base = {"add_8b_J": 1 * PJ, "add_32b_J": 10 * PJ, "sram_read_64b_8KB_J": 100 * PJ,
            "sram_read_64b_32KB_J": 200 * PJ, "sram_read_64b_1MB_J": 1000 * PJ,
            "static_power_W": 1e-6, "clock_Hz": 1e6}
    base.update(values)
    return CostTable("round", {key: Cost(v, 45, "test figure") for key, v in base.items()})


def test_reference_counts_of_tiny_network_match_hand_count():
    # inputs spike at steps 0 and 1, the third never. Layer 1: neuron 0 gets slope 2 at
    # step 1 and 3 at step 2 (v = 2, 5): fires at 2; neuron 1 gets slope 1 then 0 (v = 1):
    # silent. Both input spikes reach both neurons (4 synops); updates with a non-zero slope:
    # neuron 0 at steps 1, 2 and neuron 1 at step 1 (3). Layer 2: the spike at 2 arrives at
    # step 3 (1 synop), v = 1, 2: fires at step 4 after 2 updates.
    trace = reference.simulate(tiny_network(), np.array([[0, 1, 6]]))
    assert trace.spikes.tolist() == [[2, 1, 1]]
    assert trace.synops.tolist() == [[0, 4, 1]]
    assert trace.membrane_updates.tolist() == [[0, 3, 2]]


def test_inference_energy_is_counts_times_costs_by_hand():
    net = tiny_network()
    trace = reference.simulate(net, np.array([[0, 1, 6]]))
    energies = EventEnergies.from_costs(net, round_costs(), core_neurons=[2, 1])
    # 4-bit weights: 16 per 64-bit word of the 8 KB SRAM, plus an 8-bit slope add
    assert energies.synop_J == pytest.approx((100 / 16 * PJ + PJ,) * 2)
    assert energies.membrane_update_J == pytest.approx((2 * PJ,) * 2)
    assert energies.spike_J == (0.0, 0.0)
    result = energy.inference_energy(trace, energies, latency_cycles=50)
    # layer 1: 4 x 7.25 + 3 x 2 = 35 pJ; layer 2: 1 x 7.25 + 2 x 2 = 11.25 pJ
    np.testing.assert_allclose(result.per_layer_J, [[35 * PJ, 11.25 * PJ]])
    # static: 1 uW x 50 cycles / 1 MHz = 50 pJ
    np.testing.assert_allclose(result.static_J, [50 * PJ])
    np.testing.assert_allclose(result.total_J, [96.25 * PJ])


def test_inference_energy_without_latency_has_no_static_term():
    net = tiny_network()
    trace = reference.simulate(net, np.array([[0, 1, 6], [6, 6, 6]]))
    energies = EventEnergies.from_costs(net, round_costs(), core_neurons=[2, 1])
    result = energy.inference_energy(trace, energies)
    np.testing.assert_array_equal(result.static_J, [0.0, 0.0])
    # a sample with no input spike causes no event at all
    np.testing.assert_array_equal(result.per_layer_J[1], [0.0, 0.0])


def test_spike_energy_counts_spikes_of_each_layer():
    net = tiny_network()
    trace = reference.simulate(net, np.array([[0, 1, 6]]))
    analog = EventEnergies(synop_J=(0.0, 0.0), membrane_update_J=(0.0, 0.0),
                           spike_J=(3 * PJ, 5 * PJ))
    result = energy.inference_energy(trace, analog)
    np.testing.assert_allclose(result.per_layer_J, [[3 * PJ, 5 * PJ]])


def test_wide_registers_and_large_memories_take_the_next_published_figure():
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, size=(300, 600))
    net = IntNetwork(layers=(IntLayer(w, 1000),), weight_bits=8, steps=64)
    assert net.widths[0].potential_bits > 8
    energies = EventEnergies.from_costs(net, round_costs(), core_neurons=[100])
    # 600 x 100 bytes lies between 32 KB and 1 MB; the slope of 600 8-bit weights needs > 8 bits
    assert energies.synop_J[0] == pytest.approx(1000 * PJ / 8 + 10 * PJ)
    assert energies.membrane_update_J[0] == pytest.approx(20 * PJ)
    assert "sram_read_64b_1MB_J" in energies.notes[0]


def test_from_costs_rejects_a_core_larger_than_every_sram():
    w = np.ones((2000, 1000), dtype=np.int64)
    net = IntNetwork(layers=(IntLayer(w, 5),), weight_bits=8, steps=8)
    with pytest.raises(CostTableError, match=r"weight memory of 2000000 bytes is larger than "
                                             r"the largest SRAM in the table \(1048576 bytes\)"):
        EventEnergies.from_costs(net, round_costs(), core_neurons=[2000])


def test_event_energies_reject_negative_and_mismatched_layers():
    with pytest.raises(ValueError, match=r"spike_J must be finite and non-negative"):
        EventEnergies(synop_J=(1.0,), membrane_update_J=(1.0,), spike_J=(-1.0,))
    with pytest.raises(ValueError, match=r"membrane_update_J has 2 layers, synop_J 1"):
        EventEnergies(synop_J=(1.0,), membrane_update_J=(1.0, 1.0), spike_J=(1.0,))


def test_inference_energy_rejects_layer_mismatch_and_latency_without_clock():
    net = tiny_network()
    trace = reference.simulate(net, np.array([[0, 1, 6]]))
    one = EventEnergies(synop_J=(1.0,), membrane_update_J=(1.0,), spike_J=(1.0,))
    with pytest.raises(ValueError, match=r"the counts have 2 computing layers, the energies 1"):
        energy.inference_energy(trace, one)
    two = EventEnergies(synop_J=(1.0, 1.0), membrane_update_J=(1.0, 1.0), spike_J=(1.0, 1.0))
    with pytest.raises(ValueError, match=r"needs energies with a clock_Hz"):
        energy.inference_energy(trace, two, latency_cycles=10)


def test_statistics_mean_median_p95():
    values = np.arange(1, 101, dtype=np.float64)
    stats = energy.statistics(values)
    assert stats == {"mean": 50.5, "median": 50.5, "p95": pytest.approx(95.05)}
    with pytest.raises(ValueError, match=r"non-empty 1-D"):
        energy.statistics([])


def test_neurobench_counts_of_tiny_network():
    net = tiny_network()
    trace = reference.simulate(net, np.array([[0, 1, 6], [6, 6, 6]]))
    rows = energy.neurobench_counts(trace, net.sizes)
    assert [r["spikes"] for r in rows] == [1.0, 0.5, 0.5]
    assert rows[1]["spikes_per_neuron"] == 0.25
    assert rows[1]["activation_sparsity"] == pytest.approx(1 - 0.5 / (2 * 6))
    assert rows[1]["synaptic_operations"] == 2.0
    assert rows[1]["dense_synaptic_operations"] == 3 * 2 * 6
    assert rows[2]["membrane_updates"] == 1.0
