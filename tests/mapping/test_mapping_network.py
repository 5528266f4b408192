import json
import os

import numpy as np
import pytest

from mapping import network as netmod
from mapping.network import (InputEncoding, IntLayer, IntNetwork, NetworkFileError,
                             RegisterWidths, register_widths)


def small_network(**overrides):
    rng = np.random.default_rng(3)
    layers = (IntLayer(rng.integers(-8, 8, size=(5, 7)), 20, 0.01),
              IntLayer(rng.integers(-8, 8, size=(3, 5)), 9, 0.02))
    options = dict(layers=layers, weight_bits=4, steps=32, dt=0.25,
                   encoding=InputEncoding(2.0, False), meta={"source": "test"})
    options.update(overrides)
    return IntNetwork(**options)


def test_network_save_load_round_trip(tmp_path):
    net = small_network()
    netmod.save(net, tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["network.json", "weights.npz"]
    back = netmod.load(tmp_path)
    assert back.sizes == [7, 5, 3]
    assert (back.weight_bits, back.steps, back.dt, back.encoding) == (4, 32, 0.25,
                                                                      InputEncoding(2.0, False))
    assert back.widths == net.widths and back.meta == {"source": "test"}
    for a, b in zip(back.layers, net.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert (a.threshold, a.weight_scale) == (b.threshold, b.weight_scale)


def test_network_save_is_deterministic(tmp_path):
    netmod.save(small_network(), tmp_path / "a")
    netmod.save(small_network(), tmp_path / "b")
    assert (tmp_path / "a/network.json").read_text() == (tmp_path / "b/network.json").read_text()


def test_network_failed_save_keeps_previous_files(tmp_path, monkeypatch):
    netmod.save(small_network(), tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(netmod.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        netmod.save(small_network(steps=64), tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


@pytest.mark.parametrize("missing", ["network.json", "weights.npz"])
def test_network_load_rejects_missing_file(tmp_path, missing):
    netmod.save(small_network(), tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(NetworkFileError, match=f"{missing} not found"):
        netmod.load(tmp_path)


@pytest.mark.parametrize("name", ["network.json", "weights.npz"])
@pytest.mark.parametrize("keep", [0, 0.5])
def test_network_load_rejects_truncated_file(tmp_path, name, keep):
    netmod.save(small_network(), tmp_path)
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(NetworkFileError, match=name.replace(".", r"\.")):
        netmod.load(tmp_path)


def edit_json(path, change):
    doc = json.loads((path / "network.json").read_text())
    change(doc)
    (path / "network.json").write_text(json.dumps(doc))


def test_network_load_rejects_unknown_schema_version(tmp_path):
    netmod.save(small_network(), tmp_path)
    edit_json(tmp_path, lambda d: d.update(schema_version=99))
    with pytest.raises(NetworkFileError, match="schema_version 99, this version reads 1"):
        netmod.load(tmp_path)


def test_network_load_rejects_shape_mismatch(tmp_path):
    netmod.save(small_network(), tmp_path)
    edit_json(tmp_path, lambda d: d["layers"][1].update(n_out=4))
    with pytest.raises(NetworkFileError, match=r"w1 has shape \(3, 5\), .* says \(4, 5\)"):
        netmod.load(tmp_path)


def test_network_load_rejects_weights_outside_bit_width(tmp_path):
    netmod.save(small_network(), tmp_path)
    edit_json(tmp_path, lambda d: d.update(weight_bits=3))
    with pytest.raises(NetworkFileError, match=r"outside 3-bit \[-4, 3\]"):
        netmod.load(tmp_path)


def test_network_load_rejects_float_weights_and_missing_arrays(tmp_path):
    net = small_network()
    netmod.save(net, tmp_path)
    np.savez(tmp_path / "weights.npz", w0=net.layers[0].weight.astype(float),
             w1=net.layers[1].weight)
    with pytest.raises(NetworkFileError, match="w0 has dtype float64, not integer"):
        netmod.load(tmp_path)
    np.savez(tmp_path / "weights.npz", w0=net.layers[0].weight)
    with pytest.raises(NetworkFileError, match="1 weight arrays for 2 layers"):
        netmod.load(tmp_path)


def test_network_load_rejects_narrow_registers(tmp_path):
    netmod.save(small_network(), tmp_path)
    edit_json(tmp_path, lambda d: d["layers"][0].update(potential_bits=3))
    with pytest.raises(NetworkFileError, match="register widths .* smaller than"):
        netmod.load(tmp_path)


def test_network_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"weight_bits must be an integer in \[2, 32\], not 40"):
        small_network(weight_bits=40)
    with pytest.raises(ValueError, match="steps must be an integer of at least 2, not 1"):
        small_network(steps=1)
    with pytest.raises(ValueError, match="layer 1: 4 inputs but layer 0 has 5 neurons"):
        small_network(layers=(IntLayer(np.ones((5, 7), int), 3), IntLayer(np.ones((3, 4), int), 3)))
    with pytest.raises(ValueError, match="layer 0: threshold must be at least 1, not 0"):
        small_network(layers=(IntLayer(np.ones((5, 7), int), 0),))
    with pytest.raises(ValueError, match="tau_in must be a positive finite number"):
        InputEncoding(0.0)


def test_register_widths_bound_every_reachable_value():
    weight = np.array([[3, -2, 5], [-4, -4, 1]])
    widths = register_widths(weight, threshold=10, steps=16)
    # slopes lie in [-8, 8]; potentials in [15 * -8, 10 - 1 + 8]
    assert widths == RegisterWidths(slope_bits=5, potential_bits=8)
