import numpy as np
import pytest

import mapping_float_model as float_model
from mapping import quantize as q
from mapping import reference
from mapping.network import InputEncoding


def float_case(seed, sizes=(48, 32, 24, 10), samples=200):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.35, 1.0, size=(o, i)) * 3.0 / i for i, o in zip(sizes[:-1], sizes[1:])]
    pixels = rng.random((samples, sizes[0])) * (rng.random((samples, sizes[0])) < 0.6)
    source = q.FloatNetwork(weights, threshold=1.0, t_max=8.0, encoding=InputEncoding(1.0, True))
    return source, pixels


def float_times_on_grid(source, pixels, steps):
    """The float model fed with the integer network's (grid-rounded) input times."""
    dt = source.t_max / steps
    x = reference.encode_steps(pixels, source.encoding, dt=dt, steps=steps)
    return float_model.forward(np.where(x < steps, x * dt, np.inf), source.weights,
                               threshold=source.threshold, t_max=source.t_max)


def test_quantize_recovers_an_integer_network_exactly():
    rng = np.random.default_rng(0)
    K, scale, theta = 64, 0.01, 700
    dt = 4.0 / K
    w_int = [rng.integers(-127, 128, size=(12, 20)), rng.integers(-127, 128, size=(5, 12))]
    for w in w_int:
        w[0, 0] = 127
    source = q.FloatNetwork([w * scale for w in w_int], threshold=theta * scale * dt, t_max=4.0,
                            encoding=InputEncoding(1.0, False))
    net = q.quantize(source, q.QuantConfig(weight_bits=8, steps=K))
    assert net.dt == dt and net.steps == K
    for layer, w in zip(net.layers, w_int):
        np.testing.assert_array_equal(layer.weight, w)
        assert layer.threshold == theta
        assert layer.weight_scale == pytest.approx(scale, rel=1e-12)
    # on the grid, integer steps are the ceiling of the float times (design, section 3)
    pixels = rng.integers(0, 256, size=(40, 20)).astype(np.uint8)
    trace = reference.simulate(net, reference.encode(net, pixels))
    x = trace.spike_steps[0]
    for l, weight in enumerate(source.weights):
        times = float_model.first_spike_times(np.where(x < K, x * dt, np.inf), weight,
                                              threshold=source.threshold, t_max=(K - 1) * dt)
        np.testing.assert_array_equal(trace.spike_steps[l + 1], q.time_to_step(times, dt, K))
        x = trace.spike_steps[l + 1]


def test_quantize_8_bit_tracks_the_float_model():
    """Stated tolerance: >= 97% same predictions, mean step error below 1.5 steps per layer."""
    source, pixels = float_case(1)
    K = 256
    times = float_times_on_grid(source, pixels, K)
    cal = q.Calibration(pixels[:100], [t[:100] for t in times])
    net = q.quantize(source, q.QuantConfig(weight_bits=8, steps=K), calibration=cal)
    trace = reference.simulate(net, reference.encode(net, pixels))
    target = [q.time_to_step(t, net.dt, K) for t in times]
    for l in range(len(times)):
        assert np.abs(trace.spike_steps[l + 1] - target[l]).mean() < 1.5
    float_prediction = reference.decode(target[-1], -np.nan_to_num(times[-1], posinf=0), K)
    assert (trace.prediction == float_prediction).mean() >= 0.97
    assert 0 < (trace.spike_steps[1] < K).mean() < 1


def test_quantize_calibration_never_worse_than_no_clipping():
    source, pixels = float_case(2)
    K = 128
    times = float_times_on_grid(source, pixels, K)
    cal = q.Calibration(pixels, times)
    config = q.QuantConfig(weight_bits=4, steps=K)
    plain = q.quantize(source, config)
    tuned = q.quantize(source, config, calibration=cal)
    assert plain.meta["clip_percentiles"] == [100.0] * 3
    x = reference.encode(plain, pixels)
    first = [reference.simulate(n, x).spike_steps[1] for n in (plain, tuned)]
    target = q.time_to_step(times[0], plain.dt, K)
    errors = [np.abs(f - target).mean() for f in first]
    assert errors[1] <= errors[0]
    assert tuned.meta["passes"] == ["set_grid", "calibrate_scales", "round_thresholds",
                                    "quantize_weights", "build_network"]


def test_quantize_weights_stay_in_the_symmetric_range():
    source, _ = float_case(3)
    for bits in (2, 5, 16):
        net = q.quantize(source, q.QuantConfig(weight_bits=bits, steps=32))
        top = (1 << (bits - 1)) - 1
        assert all(np.abs(l.weight).max() == top for l in net.layers)
        for layer in net.layers:
            assert layer.threshold * layer.weight_scale * net.dt == pytest.approx(1.0)


def test_time_to_step_maps_grid_points_and_silence():
    steps = q.time_to_step([0.0, 0.25, 0.2500000000001, 0.26, 1.75, 1.8, np.inf], 0.25, 8)
    assert steps.tolist() == [0, 1, 1, 2, 7, 8, 8]


def test_quantize_rejects_bad_configuration():
    with pytest.raises(ValueError, match=r"weight_bits must be an integer in \[2, 16\], not 20"):
        q.QuantConfig(weight_bits=20)
    with pytest.raises(ValueError, match=r"steps must be an integer in \[2, 65536\], not 1"):
        q.QuantConfig(steps=1)
    with pytest.raises(ValueError, match="clip_percentiles"):
        q.QuantConfig(clip_percentiles=(0.0,))
    with pytest.raises(ValueError, match="layer 1: 3 inputs but layer 0 has 4 neurons"):
        q.FloatNetwork([np.ones((4, 2)), np.ones((5, 3))])
    with pytest.raises(ValueError, match="same non-zero number of samples"):
        q.Calibration(np.zeros((3, 2)), [np.zeros((2, 4))])
    source, pixels = float_case(4, sizes=(6, 4, 3), samples=5)
    with pytest.raises(ValueError, match="calibration has times of 1 layers, the network has 2"):
        q.quantize(source, calibration=q.Calibration(pixels, [np.zeros((5, 4))]))


def test_encode_steps_puts_pixels_on_the_nearest_step():
    enc = InputEncoding(tau_in=1.0, zero_silent=True)
    x = np.array([[1.0, 0.5, 0.49, 0.0, 0.01]])
    assert reference.encode_steps(x, enc, dt=0.25, steps=8).tolist() == [[0, 2, 2, 8, 4]]
    enc = InputEncoding(tau_in=4.0, zero_silent=False)
    assert reference.encode_steps(x, enc, dt=0.5, steps=6).tolist() == [[0, 4, 4, 6, 6]]
    with pytest.raises(ValueError, match=r"pixel values must lie in \[0, 1\]"):
        reference.encode_steps(np.array([[1.5]]), enc, dt=0.5, steps=6)
