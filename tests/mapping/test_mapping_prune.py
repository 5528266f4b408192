"""Structural pruning (mapping/prune.py) and the input threshold of the integer encoding."""
import dataclasses

import numpy as np
import pytest

from mapping import network as netmod
from mapping import prune, reference
from mapping.network import InputEncoding, IntLayer, IntNetwork


def _network(seed=0, sizes=(30, 12, 9, 4), steps=24):
    rng = np.random.default_rng(seed)
    layers = [IntLayer(rng.integers(-20, 50, (n_out, n_in)), 300 + 10 * n_in)
              for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    first = layers[0].weight.copy()
    first[2] = -5                               # a hidden neuron that never fires
    first[:, [3, 7]] = 0                        # two inputs without fan-out
    layers[0] = IntLayer(first, layers[0].threshold)
    second = layers[1].weight.copy()
    second[:, 5] = 0                            # a hidden neuron without fan-out
    layers[1] = IntLayer(second, layers[1].threshold)
    return IntNetwork(layers=tuple(layers), weight_bits=8, steps=steps,
                      encoding=InputEncoding(2.0, True))


def _pixels(seed, n=40, width=30):
    rng = np.random.default_rng(seed)
    pixels = (rng.random((n, width)) < 0.6) * rng.integers(1, 256, (n, width))
    pixels[:, [0, 11]] = 0                      # two pixels never lit
    return pixels.astype(np.uint8)


def _same_outputs(before, after, pixels, kept_hidden=None):
    a = reference.simulate(before, reference.encode(before, pixels))
    b = reference.simulate(after, reference.encode(after, pixels))
    assert np.array_equal(a.prediction, b.prediction)
    assert np.array_equal(a.spike_steps[-1], b.spike_steps[-1])
    for layer, kept in enumerate(kept_hidden or [], start=1):
        assert np.array_equal(a.spike_steps[layer][:, kept], b.spike_steps[layer])
    return a, b


def test_prune_inputs_drops_unlit_and_unconnected_inputs_exactly():
    network, pixels = _network(), _pixels(1)
    pruned, kept = prune.prune_inputs(network, reference.encode(network, pixels))
    assert sorted(set(range(30)) - set(kept.tolist())) == [0, 3, 7, 11]
    assert pruned.sizes == [26, 12, 9, 4] and pruned.encoding.pixels == tuple(kept.tolist())
    assert pruned.meta["pruned_inputs"] == 4
    before, after = _same_outputs(network, pruned, pixels)
    assert np.array_equal(before.synops[:, 2:], after.synops[:, 2:])


def test_prune_dead_drops_silent_neurons_and_neurons_without_fan_out_exactly():
    network, pixels = _network(2), _pixels(3)
    trace = reference.simulate(network, reference.encode(network, pixels))
    pruned, kept = prune.prune_dead(network, reference.encode(network, pixels))
    delivered = (trace.spike_steps[1] <= network.steps - 2).any(axis=0)
    expected = [i for i in range(12) if delivered[i] and i != 5]
    assert 2 not in expected and 5 in range(12) and kept[0].tolist() == expected
    assert pruned.meta["pruned_neurons"] == [12 - len(expected), 9 - len(kept[1])]
    _same_outputs(network, pruned, pixels, kept)


def test_prune_keeps_one_neuron_of_a_layer_that_never_fires():
    network = _network(4)
    silent = np.zeros((5, 30), dtype=np.uint8)
    pruned, kept = prune.prune_dead(network, reference.encode(network, silent))
    assert [len(k) for k in kept] == [1, 1] and pruned.sizes == [30, 1, 1, 4]


def test_pruned_network_saves_and_loads_with_its_pixel_selection(tmp_path):
    network, pixels = _network(), _pixels(1)
    pruned, _ = prune.prune_inputs(network, reference.encode(network, pixels))
    thresholded = dataclasses.replace(pruned, encoding=dataclasses.replace(pruned.encoding,
                                                                           threshold=0.25))
    netmod.save(thresholded, tmp_path)
    back = netmod.load(tmp_path)
    assert back.encoding == thresholded.encoding
    assert np.array_equal(reference.encode(back, pixels), reference.encode(thresholded, pixels))


def test_encoding_threshold_silences_dim_pixels_like_the_float_model():
    torch = pytest.importorskip("torch")
    from model.network import encode

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (20, 50), dtype=np.uint8)
    encoding = InputEncoding(1.0, True, threshold=0.3)
    steps = reference.encode_steps(pixels, encoding, dt=1 / 32, steps=256)
    times = encode(pixels, input_threshold=0.3)
    assert np.array_equal(steps == 256, torch.isinf(times).numpy())
    assert ((pixels < 0.3 * 255) <= (steps == 256)).all()


def test_encoding_checks_its_threshold_and_pixels():
    with pytest.raises(ValueError, match="threshold must be a number in"):
        InputEncoding(threshold=1.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        InputEncoding(pixels=(3, 3))
    with pytest.raises(ValueError, match="selects 2 pixels for 30 inputs"):
        dataclasses.replace(_network(), encoding=InputEncoding(pixels=(0, 1)))
    with pytest.raises(ValueError, match="selects pixel 40, the images have 30"):
        reference.encode_steps(_pixels(1), InputEncoding(pixels=(1, 40)), dt=0.1, steps=8)
