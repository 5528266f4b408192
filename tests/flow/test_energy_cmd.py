import json

import numpy as np
import pytest

from energy_fixtures import tiny_run, write_cosim, write_fake_dataset
from flow import cli, energy_cmd
from mapping import reference

PJ = 1e-12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    images, labels = write_fake_dataset(root)
    return root, images, labels


@pytest.fixture
def run(tmp_path, dataset):
    root, images, labels = dataset
    net = tiny_run(tmp_path / "run")
    return tmp_path / "run", net, root, images, labels


def main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_evaluate_is_reference_counts_times_horowitz_costs(run):
    run_dir, net, root, images, labels = run
    doc = energy_cmd.evaluate(run_dir, samples=50, data_dir=root)
    trace = reference.simulate(net, reference.encode(net, images[:50]))
    # layer 1: 784 x 12 bytes per core -> the 32 KB SRAM (20 pJ per 64-bit word of 8 weights)
    # plus a 16-bit slope add (32-bit adder, 0.1 pJ); layer 2: 120 bytes -> 8 KB (10 pJ).
    # Every membrane update is two 32-bit adds (0.2 pJ).
    e_synop = np.array([20 / 8 + 0.1, 10 / 8 + 0.1]) * PJ
    expected = (trace.synops[:, 1:] * e_synop + trace.membrane_updates[:, 1:] * 0.2 * PJ).sum(1)
    np.testing.assert_allclose(doc["per_sample"]["digital_J"], expected)
    stats = doc["digital"]["energy_J"]
    assert stats["mean"] == pytest.approx(expected.mean())
    assert stats["median"] == pytest.approx(np.median(expected))
    assert stats["p95"] == pytest.approx(np.percentile(expected, 95))
    assert doc["accuracy"] == pytest.approx(np.mean(trace.prediction == labels[:50]))
    assert doc["firing_rate"] == pytest.approx(trace.spikes[:, 1].mean() / 12)
    assert [c["synaptic_operations"] for c in doc["counts"]] == pytest.approx(
        trace.synops.mean(axis=0))


def test_report_json_schema(run, capsys):
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [0, 3, 7])
    status, out, err = main(["energy", str(run_dir), "--samples", "20", "--data-dir", str(root)],
                            capsys)
    assert status == 0, err
    doc = json.loads((run_dir / "report.json").read_text())
    assert set(doc) == {"schema_version", "run", "dataset", "samples", "sample_selection",
                        "network", "accuracy", "firing_rate", "counts", "digital", "analog",
                        "analog_to_digital_ratio", "checks", "per_sample"}
    assert doc["schema_version"] == 1 and doc["samples"] == 20 and doc["dataset"] == "mnist"
    assert [c["layer"] for c in doc["counts"]] == [0, 1, 2]
    assert set(doc["counts"][1]) == {"layer", "neurons", "spikes", "spikes_per_neuron",
                                     "activation_sparsity", "synaptic_operations",
                                     "dense_synaptic_operations", "membrane_updates"}
    digital = doc["digital"]
    for key in ("energy_J", "dynamic_J", "static_J"):
        assert set(digital[key]) == {"mean", "median", "p95"}
    assert [row["layer"] for row in digital["per_layer"]] == [1, 2]
    assert digital["latency_cycles"] == {"mean": 123.0, "median": 123.0, "p95": 123.0}
    assert digital["costs"]["name"] == "horowitz-isscc2014-45nm"
    assert len(doc["per_sample"]["digital_J"]) == 20 and doc["per_sample"]["analog_J"] is None
    assert doc["analog"] == {"missing": f"no analog_energy.json in {run_dir}: run "
                                        f"`ttfs spice {run_dir}` to characterize the analog neuron"}
    assert doc["checks"]["cosim"]["status"] == "passed"
    assert doc["checks"]["cosim"]["records"][0]["samples"] == [0, 3, 7]
    for name in ("report.md", "energy_breakdown.png", "energy_vs_spikes.png"):
        assert (run_dir / name).is_file()
        assert f"wrote {run_dir / name}" in out


def test_static_energy_is_power_times_cosim_latency(run, tmp_path):
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [0, 1], cycles=400)
    table = json.loads(energy_cmd.energy.DEFAULT_COSTS.read_text())
    table["costs"]["static_power_W"] = {"value": 2e-3, "node_nm": 45, "source": "test"}
    (tmp_path / "costs.json").write_text(json.dumps(table))
    doc = energy_cmd.evaluate(run_dir, samples=5, data_dir=root, costs=tmp_path / "costs.json")
    # 2 mW for 400 cycles at 100 MHz = 8 nJ
    assert doc["digital"]["static_J"]["mean"] == pytest.approx(8e-9)
    assert doc["digital"]["energy_J"]["mean"] == pytest.approx(
        doc["digital"]["dynamic_J"]["mean"] + 8e-9)


def test_counter_mismatch_is_a_failed_check(run, capsys):
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [4, 5], corrupt=True)
    status, out, err = main(["energy", str(run_dir), "--samples", "10", "--data-dir", str(root)],
                            capsys)
    assert status == 1
    assert "co-simulation counters: failed (1 counter mismatches, first: cosim.json: sample 5 " \
           "synops: RTL" in out
    doc = json.loads((run_dir / "report.json").read_text())
    assert doc["checks"]["cosim"]["records"][0]["mismatches"][0].startswith("sample 5 synops")


def test_without_cosim_the_static_term_is_marked_missing(run):
    run_dir, net, root, images, labels = run
    doc = energy_cmd.evaluate(run_dir, samples=5, data_dir=root)
    assert doc["checks"]["cosim"]["status"] == "missing"
    assert doc["digital"]["latency_cycles"] is None
    assert doc["digital"]["static_status"].startswith("missing: no co-simulation record")
    assert doc["digital"]["static_J"]["mean"] == 0.0


@pytest.mark.parametrize("setup, message", [
    ("no_run", "no such run directory: run `ttfs train` and `ttfs quantize` first"),
    ("no_network", "network.json not found: run `ttfs quantize` first"),
    ("corrupt_network", "network.json: not valid JSON"),
    ("corrupt_cosim", "cosim.json: not valid JSON"),
    ("bad_costs", "add_8b_J: value must be non-negative, not -1"),
])
def test_bad_input_is_one_line_error(run, tmp_path, capsys, setup, message):
    run_dir, net, root, images, labels = run
    argv = ["energy", str(run_dir), "--samples", "3", "--data-dir", str(root)]
    if setup == "no_run":
        argv[1] = str(tmp_path / "absent")
    elif setup == "no_network":
        (run_dir / "network.json").unlink()
    elif setup == "corrupt_network":
        (run_dir / "network.json").write_text("{trunc")
    elif setup == "corrupt_cosim":
        (run_dir / "cosim.json").write_text("[1, 2")
    elif setup == "bad_costs":
        table = json.loads(energy_cmd.energy.DEFAULT_COSTS.read_text())
        table["costs"]["add_8b_J"]["value"] = -1
        (tmp_path / "costs.json").write_text(json.dumps(table))
        argv += ["--costs", str(tmp_path / "costs.json")]
    status, out, err = main(argv, capsys)
    assert status == 2
    assert err.startswith("ttfs: error: ") and message in err
    assert err.count("\n") == 1


def test_dataset_comes_from_config_when_network_has_none(run, capsys):
    run_dir, net, root, images, labels = run
    doc = json.loads((run_dir / "network.json").read_text())
    doc["meta"] = {}
    (run_dir / "network.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"cannot tell which data set .* pass --dataset"):
        energy_cmd.evaluate(run_dir, samples=3, data_dir=root)
    (run_dir / "config.json").write_text(json.dumps({"dataset": "mnist"}))
    assert energy_cmd.evaluate(run_dir, samples=3, data_dir=root)["dataset"] == "mnist"


def test_analog_part_prices_the_same_samples_with_the_spice_model(run, capsys):
    spice = pytest.importorskip("hardware.spice.energy_model")
    run_dir, net, root, images, labels = run
    model = spice.AnalogEnergies(
        synop_sourcing=(1 * PJ, 0.5 * PJ, 1.8), synop_sinking=(3 * PJ, 0.25 * PJ, 0.1),
        e_spike_J=7 * PJ, e_spike_per_unit_J=0.1 * PJ, p_static_W=4e-6, e_idle_J=11 * PJ,
        charge_fixed_C=2.5e-13, charge_per_input_C=3e-16,
        technology={"name": "test", "dt_s": 1e-7}, fit={"held_out": {"rms_rel": 0.01}})
    spice.save(model, run_dir)
    status, out, err = main(["energy", str(run_dir), "--samples", "8", "--data-dir", str(root)],
                            capsys)
    assert status == 0, err
    doc = json.loads((run_dir / "report.json").read_text())
    trace = reference.simulate(net, reference.encode(net, images[:8]))
    expected, events = energy_cmd.energy.analog_inference_energy(model, net, trace)
    np.testing.assert_allclose(doc["per_sample"]["analog_J"], expected.total_J)
    assert doc["analog"]["energy_J"]["mean"] == pytest.approx(expected.total_J.mean())
    assert doc["analog"]["kinds"] == ["synapse_switch_J", "synapse_current_J", "spike_J",
                                      "idle_J", "wait_J"]
    assert [r["synaptic_events"] for r in doc["analog"]["per_layer"]] == pytest.approx(
        events.mean(axis=0))
    assert doc["analog"]["source"] == ("analog_energy.json: transistor-level SPICE fit, "
                                       "technology test, held-out rms error of the fit 1.00%")
    assert doc["analog_to_digital_ratio"] == pytest.approx(
        expected.total_J.mean() / doc["digital"]["energy_J"]["mean"])
    assert "analog: mean " in out
    assert "| 1 | " in (run_dir / "report.md").read_text()


def test_corrupt_analog_model_is_one_line_error(run, capsys):
    run_dir, net, root, images, labels = run
    (run_dir / "analog_energy.json").write_text('{"schema_version": 2}')
    status, out, err = main(["energy", str(run_dir), "--samples", "3", "--data-dir", str(root)],
                            capsys)
    assert status == 2
    assert "analog_energy.json: not an analog energy model" in err
    assert err.rstrip().endswith(f"rerun `ttfs spice {run_dir}`") and err.count("\n") == 1


def test_cosim_records_older_than_the_network_are_ignored(run):
    import os
    run_dir, net, root, images, labels = run
    write_cosim(run_dir, net, images, [0, 1], corrupt=True)
    old = (run_dir / "network.json").stat().st_mtime - 100
    os.utime(run_dir / "cosim.json", (old, old))
    doc = energy_cmd.evaluate(run_dir, samples=5, data_dir=root)
    cosim = doc["checks"]["cosim"]
    assert cosim["status"] == "missing" and cosim["stale"] == ["cosim.json"]
    assert cosim["detail"].startswith("only records older than network.json (cosim.json)")
    write_cosim(run_dir, net, images, [2], corrupt=False)
    (run_dir / "cosim.json").rename(run_dir / "cosim_verilator.json")
    write_cosim(run_dir, net, images, [0, 1], corrupt=True)
    os.utime(run_dir / "cosim.json", (old, old))
    cosim = energy_cmd.evaluate(run_dir, samples=5, data_dir=root)["checks"]["cosim"]
    assert cosim["status"] == "passed"
    assert cosim["detail"].endswith("; ignored records older than network.json: cosim.json")
