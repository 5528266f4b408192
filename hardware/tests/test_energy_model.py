import numpy as np
import pytest

from hardware import energy
from mapping import reference
from mapping.network import IntLayer, IntNetwork


def tiny_network():
    """3-2-1, 4-bit weights, K = 6: small enough to count every event by hand."""
    return IntNetwork(layers=(IntLayer(np.array([[2, 1, 0], [1, -1, 3]]), 3),
                              IntLayer(np.array([[1, 2]]), 2)),
                      weight_bits=4, steps=6)


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
