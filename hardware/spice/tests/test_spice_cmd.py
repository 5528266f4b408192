"""``ttfs spice`` on a small random integer network."""
import json

import numpy as np
import pytest

from flow import cli
from mapping.network import IntLayer, IntNetwork, save


def _run(argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    return exc.value.code


@pytest.fixture
def run_dir(tmp_path):
    rng = np.random.default_rng(5)
    net = IntNetwork(layers=(IntLayer(rng.integers(-10, 30, (6, 50)), 400),
                             IntLayer(rng.integers(-20, 40, (3, 6)), 60)),
                     weight_bits=8, steps=20)
    save(net, tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.ngspice
def test_spice_cmd_writes_results_and_energy_model(run_dir, capsys):
    status = _run(["spice", str(run_dir), "--layer", "0", "--neurons", "0:3", "--samples", "2",
                   "--inputs", "random", "--level", "behavioral"])
    out = capsys.readouterr().out
    assert status == 0, out
    doc = json.loads((run_dir / "spice.json").read_text())
    assert doc["level"] == "behavioral" and doc["neurons"] == [0, 1, 2]
    assert len(doc["records"]) == 6
    assert doc["summary"]["reference_agrees"] == 6
    assert doc["summary"]["error_steps"]["max_abs"] < 0.01
    assert (run_dir / "spice.png").stat().st_size > 10_000
    energy = json.loads((run_dir / "analog_energy.json").read_text())
    assert energy["synop_J"] > 0 and energy["spike_J"] > 0
    assert energy["membrane_update_J"] == 0.0
    assert "behavioral: 6 neurons" in out


def test_spice_cmd_rejects_bad_neuron_selection(run_dir, capsys):
    status = _run(["spice", str(run_dir), "--neurons", "7:9", "--inputs", "random"])
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "ttfs: error: --neurons '7:9' selects no neuron of 0..5")


def test_spice_cmd_needs_a_network(tmp_path, capsys):
    assert _run(["spice", str(tmp_path)]) == 2
    assert "network.json not found" in capsys.readouterr().err


def test_spice_cmd_parses_neuron_selections():
    from flow.spice_cmd import parse_neurons
    assert parse_neurons("0:3", 10) == [0, 1, 2]
    assert parse_neurons("4", 10) == [0, 1, 2, 3]
    assert parse_neurons("4", 2) == [0, 1]
    assert parse_neurons("7,2", 10) == [7, 2]
    assert parse_neurons("8:", 10) == [8, 9]
    with pytest.raises(ValueError, match="--neurons must be A:B, N or i,j,k, not 'a:b'"):
        parse_neurons("a:b", 10)
    with pytest.raises(ValueError, match="selects no neuron of 0..9"):
        parse_neurons("3,12", 10)


def _record(model, fire, agrees=True):
    error = None if model is None or fire is None else fire - model
    return {"model_step": model, "fire_step": fire, "error_steps": error,
            "reference_agrees": agrees}


def test_spice_cmd_check_fails_on_each_kind_of_miss():
    from flow.spice_cmd import check
    from hardware.spice.validation import summarize
    good = [_record(3.2, 3.3), _record(None, None), _record(5.0, 4.95)]
    summary = summarize(good)
    assert summary["both_fired"] == 2 and summary["both_silent"] == 1
    assert summary["error_steps"]["max_abs"] == pytest.approx(0.1)
    assert check(summary, "transistor") == []
    assert check(summary, "behavioral") == [
        "largest firing-time error 0.1000 steps exceeds 0.01 at the behavioral level"]
    assert check(summarize(good + [_record(4.0, None)]), "transistor") == [
        "1 neurons fire in one model only"]
    assert check(summarize(good + [_record(4.0, 4.0, agrees=False)]), "transistor") == [
        "1 reference firing steps are not the ceiling of the closed-form crossing"]


def test_spice_cmd_mean_synop_energy_over_reference_events(run_dir):
    from flow.spice_cmd import mean_synop_J
    from hardware.spice.energy_model import AnalogEnergies
    from hardware.spice.technology import DEFAULT
    from mapping import network as network_io
    from mapping import reference
    net = network_io.load(run_dir)
    rng = np.random.default_rng(0)
    steps = rng.integers(0, net.steps + 1, (3, 50))
    model = AnalogEnergies((1e-15, 2e-15, 1.8), (4e-15, 5e-15, 0.0), 0.0, 0.0, 0.0, 0.0,
                           2.5e-13, 3e-16, DEFAULT.to_json(), {})
    trace = reference.simulate(net, steps)
    K = net.steps
    for l, layer in enumerate(net.layers):
        total, count = 0.0, 0
        for b in range(len(steps)):
            for j, s in enumerate(trace.spike_steps[l][b]):
                for i, fire in enumerate(trace.spike_steps[l + 1][b]):
                    if s <= K - 2 and fire > s:
                        total += float(model.synop_J(layer.weight[i, j],
                                                     min(fire, K - 1) - s,
                                                     layer.threshold, layer.n_in))
                        count += 1
        assert count == trace.synops[:, l + 1].sum()
        assert mean_synop_J(model, net, steps)[l] == pytest.approx(total / count, rel=1e-12)
