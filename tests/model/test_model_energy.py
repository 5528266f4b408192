"""The differentiable estimate of the digital energy (model/energy.py) and its use in training."""
import math

import numpy as np
import pytest
import torch

from model import TTFSNetwork, TrainConfig, encode
from model.energy import EnergyCoefficients, estimate_pJ, spike_counts
from model.energy_analog import ANALOG_FIELDS, AnalogCoefficients
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


ANALOG = AnalogCoefficients((0.0, 2e-15, 1.8), (5e-14, 0.0, 0.0), 1e-12, 5e-15, 4e-6, 3e-13,
                            2.5e-13, 3e-16, 1e-7, steps=8, weight_bits=4, softness=0.5)


def _analog_case():
    torch.manual_seed(0)
    weights = [(torch.rand(5, 4) - 0.3).requires_grad_(), (torch.rand(2, 5) - 0.3)
               .requires_grad_()]
    times = _times()
    return times, weights


def test_analog_estimate_prices_waiting_current_and_spikes():
    """One neuron, one input at step 1 through weight units 7 (4-bit, full range), K = 8:
    firing at step 4 costs the wait of 5 steps, the switching, the charge of 7 units over
    3 steps and the spike; silent, the wait and charge run to step 7 and no spike."""
    c = ANALOG
    weight = torch.tensor([[1.0]])
    inputs = [torch.tensor([[1.0]])]
    q_per_unit_step = (2.5e-13 + 3e-16) / (1.0 / (1.0 / 7 * 1.0))  # Q(1) / theta, theta = 7
    fired = c.estimate_pJ(inputs + [torch.tensor([[3.5]])], [weight], t_max=8.0, threshold=1.0)
    silent = c.estimate_pJ(inputs + [torch.tensor([[INF]])], [weight], t_max=8.0, threshold=1.0)
    switch = 7 * 2e-15
    expected_fired = 3e-13 + 4e-6 * 1e-7 * 5 + switch + 1.8 * q_per_unit_step * 7 * 3 \
        + 1e-12 + 5e-15 * 7
    expected_silent = 3e-13 + 4e-6 * 1e-7 * 8 + switch + 1.8 * q_per_unit_step * 7 * 6
    assert fired.item() == pytest.approx(expected_fired * 1e12, rel=1e-6)
    assert silent.item() == pytest.approx(expected_silent * 1e12, rel=1e-6)


def test_analog_estimate_gradient_is_finite_and_prices_firing_later():
    times, weights = _analog_case()
    ANALOG.estimate_pJ(times, weights, t_max=8.0, threshold=1.0).sum().backward()
    assert torch.isfinite(times[1].grad).all() and torch.isfinite(times[2].grad).all()
    assert all(torch.isfinite(w.grad).all() for w in weights)
    assert times[1].grad[0, 3] == 0 and times[1].grad[1, :4].eq(0).all()  # silent neurons
    # the first layer alone: a neuron that fires later waits and draws current longer
    times, weights = _analog_case()
    ANALOG.estimate_pJ(times[:2], weights[:1], t_max=8.0, threshold=1.0).sum().backward()
    assert (times[1].grad[0, :2] > 0).all()
    positive = weights[0].grad[weights[0] > 0]
    assert (positive >= 0).all() and (positive > 0).any()  # larger weights cost more


def test_analog_coefficients_are_checked():
    with pytest.raises(ValueError, match=r"synop_sinking must be three non-negative"):
        AnalogCoefficients((0, 0, 1.8), (0, 0), 0, 0, 0, 0, 0, 0, 1e-7)
    with pytest.raises(ValueError, match="p_static_W must be a non-negative finite number"):
        AnalogCoefficients((0, 0, 1.8), (0, 0, 0), 0, 0, -1.0, 0, 0, 0, 1e-7)
    with pytest.raises(ValueError, match="dt_s must be positive"):
        AnalogCoefficients((0, 0, 1.8), (0, 0, 0), 0, 0, 0, 0, 0, 0, 0.0)
    with pytest.raises(ValueError, match="expected 13 values"):
        AnalogCoefficients.from_values((1.0,) * 12)
    with pytest.raises(ValueError, match="2 weight matrices for the times of 2 layers"):
        ANALOG.estimate_pJ(_times()[:2], _analog_case()[1], t_max=8.0, threshold=1.0)
    assert AnalogCoefficients.from_values(ANALOG.values(), steps=8, weight_bits=4,
                                          softness=0.5) == ANALOG


def test_train_config_with_an_analog_energy_target():
    values = dict(zip(ANALOG_FIELDS, ANALOG.values()))
    config = TrainConfig(arch=(784, 5, 10), energy_weight=0.5, energy_target="analog",
                         energy_analog=values, energy_steps=8, energy_weight_bits=4,
                         energy_softness=0.5)
    assert config.energy == ANALOG
    assert config.to_json()["energy_analog"] == values
    assert TrainConfig.from_json(config.to_json()) == config
    assert hash(config) == hash(TrainConfig.from_json(config.to_json()))
    assert TrainConfig(energy_target="analog").energy is None
    with pytest.raises(ValueError, match="energy_target must be one of digital, analog"):
        TrainConfig(energy_target="both")
    with pytest.raises(ValueError, match="energy_analog must hold exactly"):
        TrainConfig(energy_analog={"e_spike_J": 1.0})


def test_train_with_an_analog_target_needs_its_coefficients(tmp_path):
    from model.train import train

    with pytest.raises(ValueError, match="energy_target analog needs energy_analog"):
        train(TrainConfig(energy_weight=1.0, energy_target="analog"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_evaluate_reports_the_analog_estimate():
    net = TTFSNetwork(arch=(784, 6, 10)).reset_parameters(torch.Generator().manual_seed(0))
    images = np.random.default_rng(0).integers(0, 256, (7, 784), dtype=np.uint8)
    result = evaluate(net, images, np.zeros(7), energy=ANALOG)
    with torch.no_grad():
        times = net(net.encode(images))
        expected = ANALOG.estimate_pJ(times, [layer.weight for layer in net.layers],
                                      t_max=8.0, threshold=1.0)
    assert result["energy_estimate_uJ"] == pytest.approx(float(expected.mean()) / 1e6)
