"""The reference simulator against the float closed form on the grid.

With integer weights, an integer threshold, ``dt = 1`` and ``t_max = K - 1``, the float ramp
sampled at integer times is the integer potential, so a float first-spike time ``t`` is the
integer step ``ceil(t)``, exactly, for inputs on the grid.
"""
import numpy as np
import pytest

import mapping_float_model as float_model
from mapping import reference
from mapping.network import IntLayer, IntNetwork


def random_case(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(4, 80))
    sizes = [int(rng.integers(1, 40)) for _ in range(int(rng.integers(2, 5)))]
    layers = tuple(IntLayer(rng.integers(-25, 30, size=(n_out, n_in)), int(rng.integers(1, 1500)))
                   for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    net = IntNetwork(layers=layers, weight_bits=7, steps=K)
    x = rng.integers(0, K + 1, size=(25, sizes[0]))
    x[:, ::3] = rng.integers(0, 4, size=x[:, ::3].shape)
    return net, x


def as_times(steps, K):
    return np.where(steps < K, steps, np.inf).astype(np.float64)


def as_steps(times, K):
    return np.where(np.isfinite(times), np.ceil(times), K).astype(np.int64)


@pytest.mark.parametrize("seed", range(20))
def test_reference_matches_float_closed_form_layer_by_layer(seed):
    net, x = random_case(seed)
    K = net.steps
    trace = reference.simulate(net, x)
    for l, layer in enumerate(net.layers):
        times = float_model.first_spike_times(as_times(trace.spike_steps[l], K),
                                              layer.weight.astype(float),
                                              threshold=layer.threshold, t_max=K - 1)
        np.testing.assert_array_equal(trace.spike_steps[l + 1], as_steps(times, K))


def test_float_helper_matches_model_first_spike_times():
    model = pytest.importorskip("model")
    if not hasattr(model, "first_spike_times"):
        pytest.skip("model.first_spike_times not available yet")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    times = np.where(rng.random((30, 12)) < 0.8, rng.random((30, 12)) * 3, np.inf)
    weight = rng.normal(0.3, 1.0, size=(9, 12))
    ours = float_model.first_spike_times(times, weight, threshold=1.0, t_max=4.0)
    theirs = model.first_spike_times(torch.tensor(times), torch.tensor(weight), threshold=1.0,
                                     t_max=4.0).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert (np.isinf(ours) == np.isinf(theirs)).all()
