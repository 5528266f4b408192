"""Network, encoding, decoding, training runs, run directories and the train/sweep commands."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from flow import cli
from model import NetworkConfig, TrainConfig, TTFSNetwork, encode, load_run, predict, train
from model import data
from model.regularizer import hidden_penalty, loss_terms


def have_mnist():
    try:
        data.load("mnist", "test")
    except data.DataError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not have_mnist(), reason="MNIST not found: run `ttfs data`")


def test_encode_maps_pixels_to_times():
    images = np.array([[[0, 255], [51, 0]]], dtype=np.uint8)
    times = encode(images, tau_in=2.0, zero_silent=True)
    assert times.shape == (1, 4)
    assert times[0, 1].item() == 0.0
    assert times[0, 2].item() == pytest.approx(2.0 * (1 - 0.2))
    assert math.isinf(times[0, 0].item()) and math.isinf(times[0, 3].item())
    spiking = encode(images, tau_in=2.0, zero_silent=False)
    assert spiking[0, 0].item() == 2.0
    with pytest.raises(ValueError, match="float images must lie in"):
        encode(torch.full((1, 4), 1.5))


def test_predict_first_spike_then_largest_potential_with_low_index_ties():
    inf = math.inf
    times = torch.tensor([[2.0, 1.0, 1.0], [inf, inf, inf], [inf, inf, inf]])
    final = torch.tensor([[0.0, 0.0, 0.0], [0.2, 0.9, 0.9], [0.3, 0.1, 0.2]])
    assert predict(times, final).tolist() == [1, 1, 0]


def test_network_forward_returns_times_per_layer_and_config_checks():
    network = TTFSNetwork(arch="20-7-3", t_max=4.0).reset_parameters(
        torch.Generator().manual_seed(0))
    assert [layer.weight.shape for layer in network.layers] == [(7, 20), (3, 7)]
    times = network(torch.rand(5, 20))
    assert [t.shape for t in times] == [(5, 20), (5, 7), (5, 3)]
    with pytest.raises(ValueError, match="arch must look like 784-400-10"):
        NetworkConfig(arch="784-x-10")
    with pytest.raises(ValueError, match="need 0 < tau_in < t_max"):
        NetworkConfig(tau_in=5.0, t_max=4.0)


def test_loss_window_term_pushes_silent_label_neuron_to_fire():
    network = TTFSNetwork(arch="6-2", t_max=2.0)
    with torch.no_grad():
        network.layers[0].weight.fill_(0.01)
    input_times = torch.zeros(1, 6)
    scans = network.scans(input_times)
    assert torch.isinf(scans[-1].times).all()
    cross_entropy, window = loss_terms(network, input_times, torch.tensor([1]), scans,
                                       tau_soft=0.5, gamma1=1.0)
    assert cross_entropy.item() == pytest.approx(math.log(2))
    assert window.item() == pytest.approx(1.0 - 6 * 0.01 * 2.0)
    window.backward()
    assert (network.layers[0].weight.grad[1] < 0).all()  # descent raises its weights
    assert (network.layers[0].weight.grad[0] == 0).all()


@needs_mnist
def test_train_seeded_short_run_loss_falls_and_writes_run(tmp_path):
    config = TrainConfig(arch=(784, 32, 10), epochs=2, train_subset=600, test_subset=200,
                         batch_size=50, lr=3e-3, seed=1)
    metrics = train(config, tmp_path / "run")
    history = metrics["history"]
    assert history[1]["loss"] < history[0]["loss"]
    assert metrics["complete"] and metrics["epochs_done"] == 2
    assert 0 <= metrics["test_accuracy"] <= 1 and len(metrics["firing_rate"]) == 1
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    network, values = load_run(tmp_path / "run")
    assert values["arch"] == [784, 32, 10] and not network.training
    again = train(config, tmp_path / "again")
    assert again["history"][1]["loss"] == history[1]["loss"]  # seeded


@needs_mnist
@pytest.mark.parametrize("augment_shift", [0, 2])
def test_train_resume_extends_a_run_like_an_uninterrupted_one(tmp_path, augment_shift):
    short = TrainConfig(arch=(784, 16, 10), epochs=1, train_subset=300, test_subset=100,
                        augment_shift=augment_shift)
    longer = replace(short, epochs=2)
    train(short, tmp_path / "run")
    with pytest.raises(ValueError, match="trained with another config"):
        train(replace(longer, lr=0.01), tmp_path / "run", resume=True)
    resumed = train(longer, tmp_path / "run", resume=True)
    full = train(longer, tmp_path / "full")
    assert len(resumed["history"]) == 2
    assert resumed["history"][1]["loss"] == pytest.approx(full["history"][1]["loss"], rel=1e-6)
    with pytest.raises(ValueError, match="already holds all 2 epochs"):
        train(longer, tmp_path / "full", resume=True)


@pytest.mark.slow
@needs_mnist
def test_train_m_ssr_fires_less_than_none_at_similar_accuracy(tmp_path):
    results = {}
    for reg, gamma2 in (("none", 0.0), ("m-ssr", 0.02)):
        config = TrainConfig(arch=(784, 64, 10), epochs=2, train_subset=1500, test_subset=500,
                             batch_size=50, lr=2e-3, seed=0, reg=reg, gamma2=gamma2)
        results[reg] = train(config, tmp_path / reg)
    assert results["m-ssr"]["firing_rate_mean"] < 0.8 * results["none"]["firing_rate_mean"]
    assert results["m-ssr"]["test_accuracy"] > results["none"]["test_accuracy"] - 0.05


def test_hidden_penalty_is_zero_without_hidden_layers_and_positive_with():
    network = TTFSNetwork(arch="10-8-3", t_max=4.0).reset_parameters(
        torch.Generator().manual_seed(0))
    input_times = torch.rand(4, 10)
    scans = network.scans(input_times)
    assert hidden_penalty("m-ssr", network, input_times, scans).item() > 0
    single = TTFSNetwork(arch="10-3", t_max=4.0)
    assert hidden_penalty("m-ssr", single, input_times, single.scans(input_times)).item() == 0


def test_load_run_names_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"arch": [4, 2]}))
    with pytest.raises(FileNotFoundError, match="model.pt not found"):
        load_run(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"not a state dict")
    with pytest.raises(ValueError, match="model.pt: corrupt or mismatched state dict"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ValueError, match="config.json: corrupt config"):
        load_run(tmp_path)


def test_train_config_rejects_shifts_that_are_negative_fractional_or_too_large():
    for shift in (-1, 1.5, 14):
        with pytest.raises(ValueError, match="augment_shift must be"):
            TrainConfig(augment_shift=shift)


@needs_mnist
def test_train_with_shifts_differs_from_without_and_is_seeded(tmp_path):
    config = TrainConfig(arch=(784, 16, 10), epochs=1, train_subset=300, test_subset=100)
    plain = train(config, tmp_path / "plain")["history"][0]["loss"]
    shifted = [train(replace(config, augment_shift=2), tmp_path / name)["history"][0]["loss"]
               for name in ("a", "b")]
    assert shifted[0] == shifted[1] != plain


def test_cli_train_reports_bad_options_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--arch", "784-x", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == \
        "ttfs: error: arch must look like 784-400-10, not '784-x'"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sweep", "--regs", "none,l1", "--out", str(tmp_path / "sweep")])
    assert exit_info.value.code == 2
    assert "regularizers must be among none, m-ssr, f-ssr, vhat, not 'l1'" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sweep", "--seeds", "0,x", "--out", str(tmp_path / "sweep")])
    assert exit_info.value.code == 2
    assert "expected comma-separated integers, not '0,x'" in capsys.readouterr().err
    assert not (tmp_path / "sweep").exists()
