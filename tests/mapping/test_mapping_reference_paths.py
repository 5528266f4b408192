"""The fast simulator's code paths (chunking, 64-bit arithmetic, ties) against stepping."""
import numpy as np
import pytest

from mapping import reference
from mapping.network import IntLayer, IntNetwork
from test_reference import stepped


def check(net, x):
    trace = reference.simulate(net, x)
    spikes, potentials, synops, updates = stepped(net, x)
    for l in range(1, len(net.layers) + 1):
        np.testing.assert_array_equal(trace.spike_steps[l], spikes[l])
        np.testing.assert_array_equal(trace.final_potential[l - 1], potentials[l - 1])
        np.testing.assert_array_equal(trace.synops[:, l], synops[l - 1])
        np.testing.assert_array_equal(trace.membrane_updates[:, l], updates[l - 1])


@pytest.mark.parametrize("row_elements", [1, 7, 1 << 13])
def test_reference_chunking_does_not_change_results(monkeypatch, row_elements):
    monkeypatch.setattr(reference, "_ROW_ELEMENTS", row_elements)
    rng = np.random.default_rng(row_elements)
    layers = (IntLayer(rng.integers(-30, 60, size=(13, 9)), 150),
              IntLayer(rng.integers(-30, 60, size=(4, 13)), 200))
    net = IntNetwork(layers=layers, weight_bits=8, steps=20)
    x = rng.integers(0, 21, size=(40, 9))
    x[:10] = 20
    check(net, x)


def test_reference_wide_weights_use_64_bit_arithmetic():
    rng = np.random.default_rng(5)
    top = (1 << 27) - 1
    layers = (IntLayer(rng.integers(-top, top, size=(6, 8)), 1 << 30),)
    net = IntNetwork(layers=layers, weight_bits=28, steps=30)
    check(net, rng.integers(0, 31, size=(20, 8)))


def test_reference_many_inputs_on_the_same_step():
    rng = np.random.default_rng(9)
    layers = (IntLayer(rng.integers(-10, 12, size=(7, 30)), 40),)
    net = IntNetwork(layers=layers, weight_bits=5, steps=12)
    check(net, rng.integers(0, 3, size=(30, 30)) * 4)


def test_evaluate_batches_give_the_whole_batch_result():
    rng = np.random.default_rng(11)
    layers = (IntLayer(rng.integers(-5, 12, size=(9, 16)), 60),
              IntLayer(rng.integers(-5, 12, size=(3, 9)), 40))
    net = IntNetwork(layers=layers, weight_bits=5, steps=24, dt=1 / 16)
    pixels = rng.integers(0, 256, size=(50, 16)).astype(np.uint8)
    labels = rng.integers(0, 3, size=50)
    trace = reference.simulate(net, reference.encode(net, pixels))
    result = reference.evaluate(net, pixels, labels, batch_size=7)
    np.testing.assert_array_equal(result.prediction, trace.prediction)
    assert result.accuracy == (trace.prediction == labels).mean()
    assert result.synops == pytest.approx(trace.synops.mean(axis=0).tolist())
    assert result.spikes == pytest.approx(trace.spikes.mean(axis=0).tolist())
    assert (result.samples, result.steps) == (50, 24)
    with pytest.raises(ValueError, match="same non-zero number of samples and labels"):
        reference.evaluate(net, pixels, labels[:3])
