"""The energy coefficients of training (flow/codesign.py) against the report's own pricing."""
import numpy as np
import pytest

from flow.codesign import (analog_values, default_widths, energy_coefficients,
                           estimate_from_trace, float_events, skipping_saving_pJ,
                           with_energy_coefficients)
from hardware.costs import load_costs
from hardware.digital_energy import estimate_logic_cells, price
from mapping import access, reference
from mapping.allocation import CoreLimits, allocate
from mapping.network import IntLayer, IntNetwork
from model.train import TrainConfig


def _report_pJ(network, inputs, *, lanes, bank_bytes=8192, limits=CoreLimits(),
               skip_idle=False):
    """The report's digital energy per sample (hardware.digital_energy.price), pJ, of the
    core without skipping (what the estimate prices) or, with ``skip_idle``, the default."""
    allocation = allocate(network, limits)
    trace = reference.simulate(network, inputs)
    counts = access.count_accesses(network, allocation, trace, lanes=lanes,
                                   skip_idle=skip_idle)
    per_layer = list(access.lanes_per_layer(lanes, len(network.layers)))
    cells, source = estimate_logic_cells(network, allocation, per_layer)
    priced = price(counts, load_costs(), bank_bytes=bank_bytes, logic_cells=cells,
                   logic_source=source)
    return priced.total_J() * 1e12, trace


def _network(seed, sizes=(64, 24, 20, 10), steps=32):
    rng = np.random.default_rng(seed)
    layers = tuple(IntLayer(rng.integers(-30, 90, (n_out, n_in)), 900 + 40 * n_in)
                   for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return IntNetwork(layers=layers, weight_bits=8, steps=steps)


def _inputs_of_mixed_activity(network):
    """Input spike steps of 20 samples, five each at 5, 20, 50 and 90 % of the 64 inputs
    spiking (the rest silent: ``steps``)."""
    rng = np.random.default_rng(2)
    rates = np.repeat([0.05, 0.2, 0.5, 0.9], 5)
    return np.where(rng.random((len(rates), 64)) < rates[:, None],
                    rng.integers(0, network.steps // 2, (len(rates), 64)), network.steps)


def test_codesign_fixed_energy_is_the_reports_silent_inference_exactly():
    network = _network(0)
    silent = np.full((1, 64), network.steps)
    report, _ = _report_pJ(network, silent, lanes=4, limits=CoreLimits(max_neurons=12))
    coefficients = energy_coefficients(network.sizes, lanes=4, steps=network.steps,
                                       limits=CoreLimits(max_neurons=12), network=network)
    assert coefficients.fixed_pJ == pytest.approx(report[0], rel=1e-12)


@pytest.mark.parametrize("lanes", [1, 4, 8])
def test_codesign_estimate_follows_the_report_within_its_approximations(lanes):
    """Per sample within 4 % of the report of the core without skipping (entries per spike
    and cycles added per layer over, the carried potentials under), in the same order as
    that report over samples of very different activity (to 2 % of its mean: the carried
    potentials are paid per step with spikes, not per spike), and above the default core's."""
    network = _network(1)
    inputs = _inputs_of_mixed_activity(network)
    report, trace = _report_pJ(network, inputs, lanes=lanes)
    coefficients = energy_coefficients(network.sizes, lanes=lanes, steps=network.steps,
                                       network=network)
    estimate = estimate_from_trace(coefficients, trace)
    assert np.abs(estimate / report - 1).max() < 0.07
    assert (np.diff(report[np.argsort(estimate)]) > -0.02 * report.mean()).all()
    # the default core drops the updates of groups that cannot fire: it spends less
    skipping, _ = _report_pJ(network, inputs, lanes=lanes, skip_idle=True)
    assert (skipping < report).all() and (estimate > skipping).all()


def test_codesign_default_widths_follow_the_stated_rule():
    widths = default_widths((784, 400, 100, 10), 8, 64)
    assert [(w.slope_bits, w.potential_bits) for w in widths] == [(15, 21), (14, 20), (12, 18)]
    assert default_widths((784, 10), 4, 256)[0].potential_bits == 11 + 8


def test_codesign_fills_a_training_config_only_when_the_energy_term_is_on():
    plain = TrainConfig(arch=(784, 30, 10))
    assert with_energy_coefficients(plain) is plain
    filled = with_energy_coefficients(TrainConfig(arch=(784, 30, 10), energy_weight=0.1,
                                                  energy_steps=64, energy_lanes=4))
    expected = energy_coefficients((784, 30, 10), lanes=4, steps=64)
    assert filled.energy == expected
    assert with_energy_coefficients(filled) is filled


def test_codesign_refuses_a_network_of_another_shape():
    with pytest.raises(ValueError, match=r"network has sizes \[64, 24, 20, 10\], not the arch"):
        energy_coefficients((64, 24, 10), network=_network(0))


def test_cli_train_with_an_energy_weight_records_its_coefficients(tmp_path, capsys):
    import json

    from flow import cli
    from model import data

    try:
        data.load("mnist", "test")
    except data.DataError as exc:
        pytest.skip(f"MNIST not available: {exc}")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--arch", "784-8-10", "--epochs", "1", "--train-subset", "256",
                  "--test-subset", "100", "--energy-weight", "0.5", "--energy-steps", "64",
                  "--input-threshold", "0.25", "--out", str(out), "--no-progress"])
    assert exit_info.value.code == 0
    assert "estimated digital energy" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    expected = energy_coefficients((784, 8, 10), steps=64)
    assert config["energy_spike_pJ"] == list(expected.spike_pJ)
    assert (config["energy_weight"], config["input_threshold"]) == (0.5, 0.25)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["energy_estimate_uJ"] > expected.fixed_pJ / 1e6
    assert metrics["history"][0]["energy_uJ"] > 0


def _analog_model():
    from hardware.spice.energy_model import AnalogEnergies

    pj = 1e-12
    return AnalogEnergies(synop_sourcing=(0.02 * pj, 0.003 * pj, 1.8),
                          synop_sinking=(0.05 * pj, 0.001 * pj, 0.0), e_spike_J=1.2 * pj,
                          e_spike_per_unit_J=0.005 * pj, p_static_W=3.7e-6, e_idle_J=0.28 * pj,
                          charge_fixed_C=2.5e-13, charge_per_input_C=3.2e-16,
                          technology={"name": "test", "dt_s": 1e-7}, fit={})


def test_codesign_analog_estimate_is_the_reports_analog_energy_on_the_integer_grid(tmp_path):
    """A float network exactly on the integer grid (weights ``w_int * scale``, spike times
    that round to the integer steps) is priced by the training estimate, given the
    network's scales, exactly as the report prices the integer network."""
    import torch

    from hardware.energy import analog_inference_energy
    from hardware.spice.energy_model import save
    from model.energy_analog import AnalogCoefficients

    K, bits, t_max, v_th = 32, 8, 8.0, 1.0
    dt = t_max / K
    network = _network(3, steps=K)
    layers = []
    for index, layer in enumerate(network.layers):
        weight = layer.weight.copy()
        weight[0, 0] = 127 * (-1) ** index  # full range, as quantization makes it
        layers.append(IntLayer(weight, layer.threshold))
    network = IntNetwork(layers=tuple(layers), weight_bits=bits, steps=K)
    rng = np.random.default_rng(4)
    inputs = np.where(rng.random((6, 64)) < 0.4, rng.integers(0, K, (6, 64)), K)
    trace = reference.simulate(network, inputs)
    model = _analog_model()
    report, _ = analog_inference_energy(model, network, trace)
    save(model, tmp_path)
    coefficients = AnalogCoefficients.from_values(analog_values(tmp_path), steps=K,
                                                  weight_bits=bits)
    times = [torch.tensor(np.where(inputs < K, inputs * dt, np.inf))]
    times += [torch.tensor(np.where(steps < K, (steps - 0.5) * dt, np.inf))
              for steps in trace.spike_steps[1:]]
    weights = [torch.tensor(layer.weight * v_th / (layer.threshold * dt), dtype=torch.float64)
               for layer in network.layers]
    scales = [v_th / (layer.threshold * dt) for layer in network.layers]
    estimate = coefficients.estimate_pJ(times, weights, t_max=t_max, threshold=v_th,
                                        scales=scales)
    assert report.total_J.min() > 0 and len(set(report.total_J.round(15))) == 6
    np.testing.assert_allclose(estimate.numpy(), report.total_J * 1e12, rtol=1e-9)


def test_codesign_analog_values_read_an_analog_energy_file(tmp_path):
    from hardware.spice.energy_model import save
    from model.energy_analog import ANALOG_FIELDS

    model = _analog_model()
    save(model, tmp_path)
    values = analog_values(tmp_path / "analog_energy.json")
    assert dict(zip(ANALOG_FIELDS, values)) == {
        "sourcing_c0_J": 0.02e-12, "sourcing_c1_J": 0.003e-12, "sourcing_c2_V": 1.8,
        "sinking_c0_J": 0.05e-12, "sinking_c1_J": 0.001e-12, "sinking_c2_V": 0.0,
        "e_spike_J": 1.2e-12, "e_spike_per_unit_J": 0.005e-12, "p_static_W": 3.7e-6,
        "e_idle_J": 0.28e-12, "charge_fixed_C": 2.5e-13, "charge_per_input_C": 3.2e-16,
        "dt_s": 1e-7}
    with pytest.raises(FileNotFoundError, match="not found: run `ttfs spice` first"):
        analog_values(tmp_path / "none.json")


def test_cli_train_with_an_analog_energy_term_records_the_analog_model(tmp_path, capsys):
    import json

    from flow import cli
    from hardware.spice.energy_model import save
    from model import data
    from model.energy_analog import ANALOG_FIELDS

    try:
        data.load("mnist", "test")
    except data.DataError as exc:
        pytest.skip(f"MNIST not available: {exc}")
    save(_analog_model(), tmp_path / "char")
    args = ["train", "--arch", "784-8-10", "--epochs", "1", "--train-subset", "256",
            "--test-subset", "100", "--energy-weight", "0.5", "--energy-target", "analog",
            "--energy-steps", "64", "--no-progress"]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args + ["--out", str(tmp_path / "none")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "ttfs: error: --energy-target analog needs the analog neuron's energies: pass "
        "--energy-analog-model FILE (an analog_energy.json of `ttfs spice`)\n")
    assert not (tmp_path / "none").exists()
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args + ["--energy-analog-model", str(tmp_path / "char" / "analog_energy.json"),
                         "--out", str(out)])
    assert exit_info.value.code == 0
    assert "estimated analog energy" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["energy_target"] == "analog" and config["energy_spike_pJ"] == []
    assert config["energy_analog"] == dict(zip(ANALOG_FIELDS, analog_values(tmp_path / "char")))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["energy_estimate_uJ"] > 0 and metrics["history"][0]["energy_uJ"] > 0


@pytest.mark.parametrize("lanes", [1, 4])
def test_codesign_skip_aware_estimate_follows_the_default_core(lanes):
    """The saving is the access model's own difference between the two cores, so the
    estimate less it errs by as much as the estimate errs against the core without
    skipping (its per-spike approximations only, within 7 % of that core above): within
    10 % of the default core's smaller energy."""
    network = _network(1)
    inputs = _inputs_of_mixed_activity(network)
    full, trace = _report_pJ(network, inputs, lanes=lanes)
    skipping, _ = _report_pJ(network, inputs, lanes=lanes, skip_idle=True)
    saving = skipping_saving_pJ(network.layers, trace.spike_steps, steps=network.steps,
                                lanes=lanes, widths=network.widths)
    np.testing.assert_allclose(saving, full - skipping, rtol=1e-9)
    assert (saving > 0).all()
    coefficients = energy_coefficients(network.sizes, lanes=lanes, steps=network.steps,
                                       network=network)
    estimate = estimate_from_trace(coefficients, trace)
    np.testing.assert_allclose(estimate - saving - skipping, estimate - full)
    assert np.abs((estimate - saving) / skipping - 1).max() < 0.1


def test_codesign_float_events_round_as_the_integer_network_does():
    weights = [np.array([[0.5, -1.0, 0.26], [0.1, 0.0, -0.74]])]
    times = [np.array([[0.0, 1.2, 7.9]]), np.array([[0.9, 2.0]])]
    (layer,), steps = float_events(weights, times, weight_bits=3, steps=8, t_max=8.0,
                                   threshold=2.0)
    assert layer.weight.tolist() == [[2, -3, 1], [0, 0, -2]]  # scale 1/3, half to even
    assert layer.threshold == 6                              # V_th / (scale dt)
    assert steps[0].tolist() == [[0, 1, 8]]                  # nearest step, K after it
    times = [np.array([[np.inf, 1.2, 0.0]]), np.array([[np.inf, 9.0]])]
    _, steps = float_events(weights, times, weight_bits=3, steps=8, t_max=8.0)
    assert steps[0].tolist() == [[8, 1, 0]] and steps[1].tolist() == [[8, 8]]  # K: silent
