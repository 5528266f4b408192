"""The access model of the digital core on a network small enough to count by hand."""
import numpy as np
import pytest

from mapping import reference
from mapping.access import bit_length, count_accesses, wake_bound
from mapping.allocation import CoreLimits, allocate
from mapping.network import IntLayer, IntNetwork


def _network():
    hidden = IntLayer(np.array([[4, 0], [1, 0], [0, 1]]), 4)
    output = IntLayer(np.array([[1, 1, 1]]), 1)
    return IntNetwork(layers=(hidden, output), weight_bits=4, steps=4)


def _counts(inputs, lanes=(2, 1)):
    network = _network()
    trace = reference.simulate(network, np.array(inputs))
    return count_accesses(network, allocate(network), trace, lanes=lanes), trace


def test_access_model_counts_a_sample_by_hand():
    # input 0 spikes at step 0 (delivered at step 1), input 1 at step 3 = K - 1 (never
    # delivered); hidden neuron 0 fires at step 1, the output neuron at step 2
    access, trace = _counts([[0, 3]])
    assert trace.spike_steps[1].tolist() == [[1, 4, 4]] and trace.spike_steps[2].tolist() == [[2]]
    memories = {m.name: (m.depth_words, m.width_bits, int(m.reads[0]), int(m.writes[0]))
                for m in access.memories}
    # hidden groups {0, 1} and {2}: both skipped at step 0 (nothing written yet), loaded at
    # step 1 (the spike); after it, neuron 1 (v = 1, slope 1) needs 3 - 1 = 2 to reach the
    # threshold, 2 bits against the slope's 1: wake step 1 + 2 ** 0 + 1 = 3, so group 0 is
    # skipped at step 2, like group 1 (slope 0); the last step updates both, each catching
    # up the step it missed
    assert memories == {
        "l0.spikes": (4, 1, 2, 2),         # an input index; read once per hidden group
        "l1.c0.weight": (4, 8, 2, 0),        # 1 delivered spike x 2 groups
        "l1.c0.state": (2, 18, 4, 4),        # 2 + 2 group updates
        "l1.c0.wake": (2, 2, 6, 4),          # 3 steps without spikes x 2 groups; 4 updates
        "l1.c0.stamp": (2, 3, 4, 4),         # written flag and a step of 2 bits
        "l1.c0.carry_slope": (1, 8, 2, 2),
        "l1.c0.carry_potential": (1, 10, 2, 2),
        "l1.spikes": (4, 3, 1, 1),
        "l2.c0.weight": (3, 4, 1, 0),
        "l2.c0.state": (2, 7, 2, 2),         # skipped at steps 0 and 1
        "l2.c0.wake": (1, 2, 3, 2),
        "l2.c0.stamp": (1, 3, 2, 2),
        "l2.c0.carry_slope": (1, 3, 1, 1),
        "l2.c0.carry_potential": (1, 4, 1, 1),
        "l2.spikes": (2, 1, 1, 1),
    }
    ops = {o.name: (o.kind, o.width_bits, int(o.count[0])) for o in access.ops}
    assert ops == {
        "l1.c0.slope_add": ("add", 4, 4), "l1.c0.potential_add": ("add", 4, 8),
        "l1.c0.threshold_compare": ("compare", 4, 8),
        "l1.c0.catch_up_add": ("add", 4, 8),     # 2 catch-ups x 2 lanes x 2 bits of missed
        "l2.c0.slope_add": ("add", 3, 1), "l2.c0.potential_add": ("add", 3, 2),
        "l2.c0.threshold_compare": ("compare", 3, 2), "l2.c0.catch_up_add": ("add", 3, 0),
        "l2.argmax_compare": ("compare", 3, 1),
    }
    assert (access.input_beats.tolist(), access.output_beats.tolist()) == ([2], [1])
    # steps last 2 (input beat), 5 (hidden: 1 spike x 2 groups + update + start), 3 (output
    # layer: 1 spike + update + start) and 2 (input beat), then 3 cycles around them
    assert access.cycles.tolist() == [15]


def test_access_model_counts_one_beat_and_only_updates_without_input():
    access, _ = _counts([[4, 4]])
    reads = {m.name: int(m.reads[0]) for m in access.memories}
    # no group is ever written before the last step, whose updates alone read the state
    assert reads["l1.c0.weight"] == 0 and reads["l1.c0.state"] == 2 and reads["l2.c0.state"] == 1
    # four steps of max(2, 1) cycles, then 3
    assert (access.input_beats.tolist(), access.cycles.tolist()) == ([1], [11])


def test_access_model_splits_a_layer_into_cores_of_their_own_groups():
    network = _network()
    allocation = allocate(network, CoreLimits(max_neurons=2))
    trace = reference.simulate(network, np.array([[0, 0]]))
    access = count_accesses(network, allocation, trace, lanes=1)
    reads = {m.name: int(m.reads[0]) for m in access.memories}
    # the hidden layer is cut 2 + 1: two deliveries reach 2 groups and 1 group; a list entry
    # is a group index (1 bit) and one mask bit per core
    assert (reads["l1.c0.weight"], reads["l1.c1.weight"]) == (4, 2)
    assert [m.width_bits for m in access.memories if m.name == "l1.spikes"] == [1 + 2]


def test_access_model_rejects_lanes_of_the_wrong_count():
    with pytest.raises(ValueError) as info:
        _counts([[0, 0]], lanes=(1, 2, 3))
    assert str(info.value) == ("lanes must be an integer in [1, 64] or one per layer (2), "
                               "not (1, 2, 3)")


def test_access_wake_bound_is_a_lower_bound_of_the_steps_to_the_threshold():
    rng = np.random.default_rng(0)
    threshold = rng.integers(1, 1 << 12, 20000)
    potential = threshold - rng.integers(1, 1 << 20, 20000)
    slope = rng.integers(1, 1 << 15, 20000)
    bound = wake_bound(threshold, potential, slope)
    exact = -(-(threshold - potential) // slope)
    assert (bound >= 1).all() and (bound <= exact).all()
    # x = 4 - 1 - (-5) = 8 has 4 bits, the slope 3 has 2: e = 2, at least 2 ** 1 + 1 steps
    # (exactly 3); a gap below the slope's bits gives 1
    assert wake_bound(np.array([4, 4]), np.array([-5, 3]), np.array([3, 3])).tolist() == [3, 1]


def test_access_bit_length_equals_pythons():
    values = np.array([0, 1, 2, 3, 7, 8, (1 << 40) - 1, 1 << 40, (1 << 62) + 1, (1 << 63) - 1])
    assert bit_length(values).tolist() == [int(v).bit_length() for v in values]
