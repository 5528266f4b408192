"""The differentiable estimate of the digital energy (model/energy.py) and its use in training."""
import math

import numpy as np
import pytest
import torch

from model import TTFSNetwork, TrainConfig, encode
from model.energy import EnergyCoefficients, estimate_pJ, spike_counts
from model.train import evaluate

COEFFS = EnergyCoefficients((10.0, 3.0, 0.5), 100.0, steps=8, softness=0.5)
INF = math.inf


def _times():
    # t_max = 8, K = 8: dt = 1; inputs delivered below step 6.5, hidden up to t = 6, output 7
    inputs = torch.tensor([[0.2, 6.4, 6.6, INF], [INF, INF, INF, INF]])
    hidden = torch.tensor([[1.0, 6.0, 6.5, INF, 7.9], [INF, INF, INF, INF, 2.0]],
                          requires_grad=True)
    output = torch.tensor([[7.0, 7.5], [INF, 0.5]], requires_grad=True)
    return [inputs, hidden, output]


def test_energy_counts_the_spikes_the_core_delivers():
    counts = spike_counts(_times(), COEFFS, t_max=8.0)
    assert counts.tolist() == [[2.0, 2.0, 1.0], [0.0, 1.0, 1.0]]
    energy = estimate_pJ(_times(), COEFFS, t_max=8.0)
    assert energy.tolist() == pytest.approx([100 + 20 + 6 + 0.5, 100 + 3 + 0.5])


def test_energy_gradient_moves_late_spikes_later_and_ignores_silent_neurons():
    times = _times()
    estimate_pJ(times, COEFFS, t_max=8.0).sum().backward()
    grad = times[1].grad
    assert (grad[0, :3] < 0).all()        # later spikes cost less
    assert grad[0, 1] < grad[0, 0]        # most where a spike is about to leave the window
    assert grad[0, 3] == 0 and torch.isfinite(grad).all()


def test_energy_coefficients_are_checked():
    with pytest.raises(ValueError, match="spike_pJ must hold"):
        EnergyCoefficients((1.0,), 0.0)
    with pytest.raises(ValueError, match="fixed_pJ must be non-negative"):
        EnergyCoefficients((1.0, 1.0), -1.0)
    with pytest.raises(ValueError, match="energy coefficients are for 3 layers"):
        spike_counts(_times()[:2], COEFFS, t_max=8.0)


def test_train_config_records_and_checks_the_energy_fields():
    config = TrainConfig(arch=(784, 5, 10), energy_weight=0.5, energy_spike_pJ=(1, 2, 3),
                         energy_fixed_pJ=4.0, input_threshold=0.25)
    assert TrainConfig.from_json(config.to_json()) == config
    assert config.energy == EnergyCoefficients((1.0, 2.0, 3.0), 4.0, steps=256, softness=2.0)
    assert config.network.input_threshold == 0.25
    with pytest.raises(ValueError, match="one energy per layer of arch 784-5-10"):
        TrainConfig(arch=(784, 5, 10), energy_spike_pJ=(1.0, 2.0))
    with pytest.raises(ValueError, match="energy_weight must be non-negative"):
        TrainConfig(energy_weight=-1.0)
    with pytest.raises(ValueError, match="input_threshold must lie in"):
        TrainConfig(input_threshold=1.5)


def test_train_without_energy_coefficients_refuses_an_energy_weight(tmp_path):
    from model.train import train

    with pytest.raises(ValueError, match="energy_weight needs energy_spike_pJ"):
        train(TrainConfig(energy_weight=1.0), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_input_threshold_silences_dim_pixels():
    images = np.array([[0, 10, 51, 52, 255]], dtype=np.uint8)
    times = encode(images, input_threshold=0.2)
    assert torch.isinf(times[0, :2]).all() and torch.isfinite(times[0, 2:]).all()
    assert torch.equal(encode(images), encode(images, input_threshold=0.0))


def test_evaluate_reports_the_estimate_on_the_test_samples():
    net = TTFSNetwork(arch=(784, 6, 10)).reset_parameters(torch.Generator().manual_seed(0))
    images = np.random.default_rng(0).integers(0, 256, (7, 784), dtype=np.uint8)
    coefficients = EnergyCoefficients((1.0, 2.0, 3.0), 10.0)
    result = evaluate(net, images, np.zeros(7), energy=coefficients)
    with torch.no_grad():
        times = net(net.encode(images))
    expected = float(estimate_pJ(times, coefficients, t_max=8.0).mean()) / 1e6
    assert result["energy_estimate_uJ"] == pytest.approx(expected)
