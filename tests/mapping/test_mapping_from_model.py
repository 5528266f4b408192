"""The checkpoint bridge: float network extraction, fake quantization, fine-tuning."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
model = pytest.importorskip("model")
if not all(hasattr(model, name) for name in ("TTFSNetwork", "first_spike_times", "predict")):
    pytest.skip("the model package does not provide its network yet", allow_module_level=True)

from mapping import from_model, quantize as q, reference  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    net = model.TTFSNetwork(arch=(36, 20, 12, 4), init_mean=3.0, t_max=4.0, tau_in=1.0)
    net.reset_parameters(torch.Generator().manual_seed(1)).eval()
    rng = np.random.default_rng(0)
    images = (rng.random((160, 36)) * 255 * (rng.random((160, 36)) < 0.6)).astype(np.uint8)
    labels = rng.integers(0, 4, size=160)
    return net, images, labels


def test_from_model_float_network_copies_weights_and_encoding(tiny):
    net, _, _ = tiny
    source = from_model.float_network(net)
    assert (source.threshold, source.t_max) == (1.0, 4.0)
    assert (source.encoding.tau_in, source.encoding.zero_silent) == (1.0, True)
    for w, layer in zip(source.weights, net.layers):
        np.testing.assert_array_equal(w, layer.weight.detach().double().numpy())


def test_from_model_calibration_holds_the_float_spike_times(tiny):
    net, images, _ = tiny
    cal = from_model.calibration(net, images)
    with torch.no_grad():
        expected = net(net.encode(images))[1:]
    assert len(cal.times) == 3
    for ours, theirs in zip(cal.times, expected):
        np.testing.assert_array_equal(ours, theirs.double().numpy())
    assert 0 < np.isfinite(cal.times[0]).mean()


@pytest.mark.parametrize("bits, steps", [(4, 32), (8, 256), (12, 100)])
def test_from_model_fake_forward_is_the_integer_network(tiny, bits, steps):
    net, images, _ = tiny
    network = q.quantize(from_model.float_network(net), q.QuantConfig(weight_bits=bits, steps=steps),
                         calibration=from_model.calibration(net, images))
    x = reference.encode(network, images)
    trace = reference.simulate(network, x)
    with torch.no_grad():
        out = from_model.fake_forward(net, x, network).numpy()
    fake_steps = np.where(np.isfinite(out), np.rint(out / network.dt), steps).astype(np.int64)
    np.testing.assert_array_equal(fake_steps, trace.spike_steps[-1])
    assert (trace.spike_steps[-1] < steps).any()


def test_from_model_8_bit_predictions_agree_with_the_float_model(tiny):
    net, images, _ = tiny
    network = q.quantize(from_model.float_network(net), q.QuantConfig(weight_bits=8, steps=256),
                         calibration=from_model.calibration(net, images))
    float_prediction = from_model.float_predictions(net, images)
    int_prediction = reference.simulate(network, reference.encode(network, images)).prediction
    assert (float_prediction == int_prediction).mean() >= 0.95


def test_from_model_finetune_trains_a_copy_on_the_same_grid(tiny):
    net, images, labels = tiny
    before = [layer.weight.detach().clone() for layer in net.layers]
    network = q.quantize(from_model.float_network(net), q.QuantConfig(weight_bits=4, steps=32))
    tuned = from_model.finetune(net, network, images, labels,
                                from_model.FinetuneConfig(epochs=1, batch_size=40, lr=1e-2))
    for old, layer in zip(before, net.layers):
        assert torch.equal(old, layer.weight)
    assert any(not torch.equal(old, layer.weight) for old, layer in zip(before, tuned.layers))
    again = q.quantize(from_model.float_network(tuned), q.QuantConfig(weight_bits=4, steps=32),
                       clips=q.grid_clips(network))
    assert [l.threshold for l in again.layers] == [l.threshold for l in network.layers]
    assert [l.weight_scale for l in again.layers] == pytest.approx(
        [l.weight_scale for l in network.layers], rel=1e-12)


def test_from_model_fake_weight_passes_gradients_straight_through():
    weight = torch.tensor([0.26, -0.74, 3.0], requires_grad=True)
    fake = from_model.fake_weight(weight, 0.5, 3)
    assert fake.tolist() == [0.5, -0.5, 1.5]
    fake.sum().backward()
    assert weight.grad.tolist() == [1.0, 1.0, 0.0]
