import json

import numpy as np
import pytest

from mapping import allocation as alloc
from mapping.network import IntLayer, IntNetwork


def network(*sizes):
    layers = tuple(IntLayer(np.ones((n_out, n_in), dtype=np.int64), 5)
                   for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return IntNetwork(layers=layers, weight_bits=4, steps=16)


def test_allocate_splits_layers_evenly_into_the_fewest_cores():
    result = alloc.allocate(network(784, 400, 400, 10),
                            alloc.CoreLimits(max_neurons=256, max_inputs=1024, max_weights=1 << 18))
    assert [(c.layer, c.start, c.stop) for c in result.cores] == [
        (0, 0, 200), (0, 200, 400), (1, 0, 200), (1, 200, 400), (2, 0, 10)]


def test_allocate_weight_memory_limits_neurons_per_core():
    # 100 inputs and 1000 weights: at most 10 neurons per core
    result = alloc.allocate(network(100, 25), alloc.CoreLimits(max_neurons=64, max_weights=1000))
    assert [c.neurons for c in result.cores] == [8, 9, 8]


def test_allocate_refuses_what_cannot_fit():
    with pytest.raises(alloc.AllocationError,
                       match="layer 1 has 40 inputs but a core takes at most 32: raise max_inputs"):
        alloc.allocate(network(8, 40, 3), alloc.CoreLimits(max_inputs=32))
    with pytest.raises(alloc.AllocationError,
                       match="layer 0: one neuron needs 8 weights but a core holds at most 7"):
        alloc.allocate(network(8, 4), alloc.CoreLimits(max_weights=7))
    with pytest.raises(ValueError, match="max_neurons must be a positive integer, not 0"):
        alloc.CoreLimits(max_neurons=0)


def test_allocation_save_load_round_trip(tmp_path):
    net = network(30, 20, 5)
    result = alloc.allocate(net, alloc.CoreLimits(max_neurons=8))
    alloc.save(result, tmp_path)
    assert alloc.load(tmp_path, net) == result


def test_allocation_load_rejects_bad_files(tmp_path):
    net = network(30, 20, 5)
    with pytest.raises(alloc.AllocationError, match="allocation.json not found"):
        alloc.load(tmp_path, net)
    alloc.save(alloc.allocate(net, alloc.CoreLimits(max_neurons=8)), tmp_path)
    path = tmp_path / "allocation.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "cores": doc["cores"][1:]}))
    with pytest.raises(alloc.AllocationError, match="do not cover the 20 neurons of layer 0"):
        alloc.load(tmp_path, net)
    path.write_text(json.dumps({**doc, "schema_version": 7}))
    with pytest.raises(alloc.AllocationError, match="schema_version 7"):
        alloc.load(tmp_path, net)
    path.write_text("{")
    with pytest.raises(alloc.AllocationError, match="not a valid allocation"):
        alloc.load(tmp_path, net)
