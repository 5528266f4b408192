import numpy as np
import pytest

from mapping import reference
from mapping.network import IntLayer, IntNetwork


def stepped(network, input_steps):
    """The design's lockstep semantics, literally, one step at a time."""
    K = network.steps
    x = np.asarray(input_steps)
    batch = len(x)
    spike_steps, potentials = [x], []
    synops, updates = [], []
    for layer in network.layers:
        w, theta = layer.weight, layer.threshold
        slope = np.zeros((batch, layer.n_out), dtype=np.int64)
        v = np.zeros_like(slope)
        fire = np.full_like(slope, K)
        syn = np.zeros(batch, dtype=np.int64)
        upd = np.zeros(batch, dtype=np.int64)
        prev = spike_steps[-1]
        for k in range(K):
            live = fire == K
            arriving = (prev == k - 1)
            syn += (arriving.sum(axis=1) * live.sum(axis=1))
            slope += np.where(live, arriving.astype(np.int64) @ w.T, 0)
            upd += (live & (slope != 0)).sum(axis=1)
            v = np.where(live, v + slope, v)
            fire = np.where(live & (v >= theta), k, fire)
        spike_steps.append(fire)
        potentials.append(v)
        synops.append(syn)
        updates.append(upd)
    return spike_steps, potentials, synops, updates


def random_network(rng, sizes, *, bits=6, steps=24, threshold=None):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        w = rng.integers(lo, hi + 1, size=(n_out, n_in))
        theta = threshold if threshold is not None else int(rng.integers(1, 4 * hi))
        layers.append(IntLayer(w, theta))
    return IntNetwork(layers=tuple(layers), weight_bits=bits, steps=steps)


@pytest.mark.parametrize("seed", range(12))
def test_simulate_matches_stepped_semantics(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 20)) for _ in range(int(rng.integers(2, 5)))]
    net = random_network(rng, sizes, steps=int(rng.integers(2, 30)))
    x = rng.integers(0, net.steps + 1, size=(17, sizes[0]))
    trace = reference.simulate(net, x)
    spikes, potentials, synops, updates = stepped(net, x)
    for l in range(len(sizes)):
        np.testing.assert_array_equal(trace.spike_steps[l], spikes[l])
    for l in range(1, len(sizes)):
        np.testing.assert_array_equal(trace.final_potential[l - 1], potentials[l - 1])
        np.testing.assert_array_equal(trace.synops[:, l], synops[l - 1])
        np.testing.assert_array_equal(trace.membrane_updates[:, l], updates[l - 1])
        np.testing.assert_array_equal(trace.spikes[:, l], (spikes[l] < net.steps).sum(axis=1))
