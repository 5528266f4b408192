"""Event counts and decoding of the reference simulator on cases computed by hand."""
import numpy as np
import pytest

from mapping import reference
from mapping.network import IntLayer, IntNetwork


def one_layer(weight, threshold, steps):
    return IntNetwork(layers=(IntLayer(np.array(weight), threshold),), weight_bits=8, steps=steps)


def run(weight, threshold, steps, inputs):
    trace = reference.simulate(one_layer(weight, threshold, steps), np.array([inputs]))
    return (trace.spike_steps[1][0].tolist(), trace.final_potential[0][0].tolist(),
            trace.spikes[0].tolist(), trace.synops[0].tolist(),
            trace.membrane_updates[0].tolist())


def test_counts_neuron_fires_as_an_input_arrives():
    # input 0 (step 0) arrives at step 1: slope 2, v = 2; input 1 (step 1) arrives at step 2:
    # slope 5, v = 7 >= 5, so the neuron fires on the step input 1 arrives. Input 2 spikes at
    # step 2, the firing step, so it would arrive at step 3: no synop.
    fire, v, spikes, synops, updates = run([[2, 3, 4]], 5, 6, [0, 1, 2])
    assert (fire, v) == ([2], [7])
    assert spikes == [3, 1] and synops == [0, 2] and updates == [0, 2]


def test_counts_silent_neuron_runs_to_the_last_step():
    # slope 1 from step 1 on: v = 1, 2, 3, 4 at steps 1..4 (K = 5), never reaching 100
    fire, v, spikes, synops, updates = run([[1]], 100, 5, [0])
    assert (fire, v) == ([5], [4])
    assert spikes == [1, 0] and synops == [0, 1] and updates == [0, 4]


def test_counts_zero_slope_steps_are_not_updates():
    # steps 1: slope 2, v 2; from step 2 on the slope is 0 and v stays 2
    fire, v, spikes, synops, updates = run([[2, -2]], 10, 6, [0, 1])
    assert (fire, v) == ([6], [2])
    assert synops == [0, 2] and updates == [0, 1]


def test_counts_negative_potential_then_firing():
    # steps 1, 2: slope -1, v -1, -2; step 3: slope 2, v 0; steps 4, 5: v 2, 4 >= 4: fires at 5
    fire, v, spikes, synops, updates = run([[-1, 3]], 4, 8, [0, 2])
    assert (fire, v) == ([5], [4])
    assert synops == [0, 2] and updates == [0, 5]


def test_counts_last_step_and_absent_spikes_are_never_delivered():
    # an input at K - 1 = 3 would arrive at step 4, outside the window; K means no spike
    fire, v, spikes, synops, updates = run([[5, 5]], 1, 4, [3, 4])
    assert (fire, v) == ([4], [0])
    assert spikes == [1, 0] and synops == [0, 0] and updates == [0, 0]


def test_counts_synops_skip_neurons_that_already_fired():
    # neuron 0 fires at step 1 (v = 9 >= 5); neuron 1 has slope 1 from step 1 and reaches
    # only 4 by step K - 1 = 4. Input 0 (step 0) reaches both; input 1 (step 1) only
    # neuron 1: 3 synops. Updates: 1 for neuron 0, steps 1..4 for neuron 1.
    fire, v, spikes, synops, updates = run([[9, 0], [1, 0]], 5, 5, [0, 1])
    assert fire == [1, 5] and v == [9, 4]
    assert spikes == [2, 1] and synops == [0, 3] and updates == [0, 1 + 4]


def test_counts_two_layers_lockstep():
    # layer 1 fires at step 1; its spike reaches layer 2 at step 2: v = 3, 6 >= 6 at step 3
    net = IntNetwork(layers=(IntLayer(np.array([[4]]), 4), IntLayer(np.array([[3]]), 6)),
                     weight_bits=4, steps=8)
    trace = reference.simulate(net, np.array([[0]]))
    assert [s[0].tolist() for s in trace.spike_steps] == [[0], [1], [3]]
    assert trace.synops[0].tolist() == [0, 1, 1]
    assert trace.membrane_updates[0].tolist() == [0, 1, 2]
    assert trace.steps == 8


@pytest.mark.parametrize("fire, potential, expected", [
    ([[3, 2, 2]], [[0, 0, 0]], 1),        # earliest spike, tie to the lowest index
    ([[5, 5, 5]], [[4, 7, 7]], 1),        # no spike (K = 5): largest potential, lowest index
    ([[5, 5, 4]], [[4, 9, 7]], 2),        # one spike beats any potential
    ([[5, 5]], [[-3, -3]], 0),
])
def test_decode_tie_rules(fire, potential, expected):
    assert reference.decode(np.array(fire), np.array(potential), 5).tolist() == [expected]


def test_simulate_decodes_silent_output_by_potential():
    # no output neuron reaches 100: final potentials 2 * 3 = 6 and 3 * 3 = 9 at step K - 1 = 3
    net = one_layer([[2], [3], [-1]], 100, 4)
    trace = reference.simulate(net, np.array([[0]]))
    assert trace.final_potential[0].tolist() == [[6, 9, -3]]
    assert trace.prediction.tolist() == [1]


def test_simulate_rejects_bad_inputs():
    net = one_layer([[1, 1]], 3, 4)
    with pytest.raises(ValueError, match=r"input_steps must have shape \[batch, 2\], not \(1, 3\)"):
        reference.simulate(net, np.zeros((1, 3), int))
    with pytest.raises(ValueError, match=r"input steps must lie in \[0, 4\], found \[0, 5\]"):
        reference.simulate(net, np.array([[0, 5]]))
    with pytest.raises(ValueError, match="input_steps must be integers, not float64"):
        reference.simulate(net, np.array([[0.0, 1.0]]))
