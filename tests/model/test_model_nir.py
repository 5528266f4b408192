import json

import nir
import numpy as np
import pytest
import torch

from model import TTFSNetwork
from model import nir_check, nir_io


def small_network(arch=(40, 12, 5), seed=0):
    net = TTFSNetwork(arch=arch, init_mean=6.0)
    return net.reset_parameters(torch.Generator().manual_seed(seed)).eval()


def random_images(n, pixels=40, seed=1):
    generator = np.random.default_rng(seed)
    images = generator.integers(0, 256, size=(n, pixels), dtype=np.uint8)
    images[generator.random(images.shape) < 0.5] = 0  # background, like MNIST
    return images


def test_nir_round_trip_gives_identical_weights_and_spike_times(tmp_path):
    net = small_network()
    path = nir_io.write_nir(nir_io.to_nir(net, steps=64), tmp_path / "net.nir")
    back = nir_io.from_nir(nir_io.read_nir(path))
    fields = ("arch", "threshold", "t_max", "tau_in", "zero_silent")
    assert [getattr(back.config, f) for f in fields] == [getattr(net.config, f) for f in fields]
    for ours, theirs in zip(net.layers, back.layers):
        assert torch.equal(ours.weight, theirs.weight)
    times = net.encode(random_images(16))
    with torch.no_grad():
        for ours, theirs in zip(net(times), back(times)):
            assert torch.equal(ours, theirs)
    assert not list(tmp_path.glob("*.tmp"))


def test_nir_export_maps_each_layer_to_linear_cubalif_and_fire_once_loop():
    net = small_network()
    graph = nir_io.to_nir(net, steps=64, dataset="mnist")
    meta = json.loads(graph.metadata["ttfs"])
    assert (meta["steps"], meta["dt"], meta["dt_s"], meta["dataset"]) == (64, 0.125, 1e-4, "mnist")
    lif = graph.nodes["lif1"]
    assert isinstance(lif, nir.CubaLIF)
    np.testing.assert_allclose(lif.v_threshold, 1.0 / 0.125)
    np.testing.assert_allclose(lif.r * nir_io.DT_S / lif.tau_mem, 1.0)
    np.testing.assert_allclose(lif.w_in * nir_io.DT_S / lif.tau_syn, 1.0)
    np.testing.assert_allclose(nir_io.DT_S / lif.tau_mem, 1e-12)  # leak per step
    inh = graph.nodes["inh1"].weight
    weight = net.layers[0].weight.detach().numpy()
    assert np.all(np.diag(inh) < -np.maximum(weight, 0).sum(axis=1))
    assert ("lif1", "inh1") in graph.edges and ("relay1", "lif1") in graph.edges
    assert ("lif2", "output") in graph.edges


def test_nir_grid_model_fires_at_the_first_grid_step_past_the_exact_time():
    net = small_network(arch=(40, 12))
    dt = net.config.t_max / 64
    steps = torch.from_numpy(np.random.default_rng(2).integers(0, 40, size=(8, 40)))
    times = steps.to(torch.float32) * dt  # inputs on the grid: no rounding
    with torch.no_grad():
        exact = net(times)[-1].to(torch.float64)
    grid = nir_check.grid_steps(net, steps, steps=64)[0][-1]
    fired = torch.isfinite(exact) & (exact < 63 * dt)
    assert fired.any()
    assert torch.equal(grid[fired], torch.ceil(exact[fired] / dt - 1e-9).to(torch.int64))
    assert torch.all(grid[torch.isinf(exact)] == 64)


@pytest.mark.parametrize("reader", nir_check.READERS)
def test_nir_reader_reproduces_grid_spike_steps_and_fires_once(reader):
    net = small_network()
    graph = nir_io.to_nir(net, steps=64)
    report = nir_check.compare(net, graph, random_images(24), reader=reader)
    assert report["prediction_agreement"] == 1.0
    for layer in report["layers"]:
        assert layer["max_step_difference"] <= 1
        assert layer["fired_in_one_only"] == 0
        assert layer["max_spikes_per_neuron"] == 1
        assert 0.99 <= layer["spike_steps_within_one"] <= 1.0
    assert report["layers"][0]["fired"] > 0


def edited(graph, **changes):
    nodes = dict(graph.nodes)
    nodes.update(changes.pop("nodes", {}))
    return nir.NIRGraph(nodes=nodes, edges=changes.pop("edges", graph.edges),
                        metadata=changes.pop("metadata", graph.metadata), type_check=False)


def refusal(graph):
    with pytest.raises(ValueError) as info:
        nir_io.from_nir(graph)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_nir_import_refuses_what_the_model_cannot_represent():
    graph = nir_io.to_nir(small_network(), steps=64)
    lif = graph.nodes["lif1"]
    n = lif.v_threshold.shape[0]
    leaky = nir.CubaLIF(tau_syn=np.full(n, 1e-3), tau_mem=np.full(n, 1e-3), r=np.full(n, 10.0),
                        v_leak=np.zeros(n), v_threshold=lif.v_threshold, w_in=np.full(n, 10.0))
    assert refusal(edited(graph, nodes={"lif1": leaky})).startswith(
        "node 'lif1': tau_syn 0.001 s leaks")
    integrate_fire = nir.IF(r=np.ones(n), v_threshold=np.ones(n))
    assert refusal(edited(graph, nodes={"lif1": integrate_fire})).startswith(
        "node 'lif1': nir.IF cannot be represented")
    weight = graph.nodes["fc1"].weight
    biased = nir.Affine(weight=weight, bias=np.ones(weight.shape[0], dtype=weight.dtype))
    assert refusal(edited(graph, nodes={"fc1": biased})).startswith(
        "node 'fc1': Affine with a non-zero bias")
    no_loop = [edge for edge in graph.edges if edge != ("relay1", "lif1")]
    assert refusal(edited(graph, edges=no_loop)).startswith("node 'lif1': needs one self-inhibiting loop")
    weak = nir.Linear(weight=-0.5 * np.eye(n, dtype=weight.dtype))
    assert refusal(edited(graph, nodes={"inh1": weak})).startswith(
        "node 'inh1': the loop of 'lif1' must be a diagonal inhibition")
    assert refusal(edited(graph, metadata={})).startswith("graph has no 'ttfs' metadata")


def test_nir_import_accepts_a_two_node_loop():
    net = small_network()
    graph = nir_io.to_nir(net, steps=64)
    nodes = {name: node for name, node in graph.nodes.items() if not name.startswith("relay")}
    edges = [(src, "lif" + dst[-1]) if dst.startswith("relay") else (src, dst)
             for src, dst in graph.edges if not src.startswith("relay")]
    back = nir_io.from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph.metadata))
    assert torch.equal(back.layers[1].weight, net.layers[1].weight)


def test_nir_read_of_a_file_that_is_not_nir_is_one_line(tmp_path):
    path = tmp_path / "bad.nir"
    path.write_text("not hdf5")
    with pytest.raises(ValueError, match=r"bad.nir: not a readable NIR file"):
        nir_io.read_nir(path)
    with pytest.raises(FileNotFoundError, match="missing.nir not found"):
        nir_io.read_nir(tmp_path / "missing.nir")


def test_nir_save_run_refuses_to_overwrite(tmp_path):
    net = small_network(arch=(784, 8, 10))  # a run's shape must fit its data set
    nir_io.save_run(net, tmp_path / "run", dataset="mnist", source="x.nir")
    with pytest.raises(FileExistsError, match="config.json exists"):
        nir_io.save_run(net, tmp_path / "run", dataset="mnist", source="x.nir")
