import json

import pytest
import torch

import model
from flow import cli, nir_cmd


def ttfs(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture(scope="module")
def run_dir(untrained_run):
    return untrained_run(16)


def test_cli_export_then_import_nir_gives_a_run_with_the_same_network(run_dir, tmp_path, capsys):
    status, out, _ = ttfs(["export-nir", run_dir, "--out", tmp_path / "net.nir", "--steps", 128],
                          capsys)
    assert status == 0 and out.startswith(f"wrote {tmp_path / 'net.nir'}: 2 layers, 128 steps")
    status, out, _ = ttfs(["import-nir", tmp_path / "net.nir", "--out", tmp_path / "imported"],
                          capsys)
    assert status == 0 and "784-16-10" in out
    original, _ = model.load_run(run_dir)
    imported, config = model.load_run(tmp_path / "imported")
    assert config["dataset"] == "mnist" and config["imported_from"] == str(tmp_path / "net.nir")
    for ours, theirs in zip(original.layers, imported.layers):
        assert torch.equal(ours.weight, theirs.weight)


def test_cli_import_nir_errors_are_one_line(run_dir, tmp_path, capsys):
    (tmp_path / "bad.nir").write_text("no")
    status, _, err = ttfs(["import-nir", tmp_path / "bad.nir", "--out", tmp_path / "r"], capsys)
    assert status == 2 and err.count("\n") == 1 and "not a readable NIR file" in err
    assert not (tmp_path / "r").exists()
    ttfs(["export-nir", run_dir, "--out", tmp_path / "net.nir"], capsys)
    status, _, err = ttfs(["import-nir", tmp_path / "net.nir", "--out", run_dir], capsys)
    assert status == 2 and err.count("\n") == 1 and "config.json exists" in err


def test_cli_nir_check_prints_agreement_on_mnist_images(run_dir, capsys):
    status, out, _ = ttfs(["nir-check", run_dir, "--samples", 8, "--steps", 64,
                           "--reader", "snntorch"], capsys)
    assert status == 0, out
    assert "snntorch: 8 images, 64 steps of 0.125; predictions equal on 100.00%" in out
    report = json.loads((run_dir / "nir_check.json").read_text())["snntorch"]
    assert nir_cmd.passed(report)
    assert report["layers"][0]["fired"] > 0


def test_cli_nir_check_rejects_a_bad_sample_count_in_one_line(run_dir, capsys):
    status, _, err = ttfs(["nir-check", run_dir, "--samples", 0], capsys)
    assert status == 2 and err == "ttfs: error: --samples must lie in [1, 10000], not 0\n"


def test_nir_cmd_default_steps_are_the_library_default():
    from model import nir_io
    assert nir_cmd.DEFAULT_STEPS == nir_io.DEFAULT_STEPS


def test_nir_check_pass_criteria():
    layer = {"max_step_difference": 1, "fired_in_one_only": 0, "max_spikes_per_neuron": 1}
    report = {"layers": [layer], "prediction_agreement": 0.99}
    assert nir_cmd.passed(report)
    for key, value in (("max_step_difference", 2), ("fired_in_one_only", 1),
                       ("max_spikes_per_neuron", 2)):
        assert not nir_cmd.passed({**report, "layers": [{**layer, key: value}]})
    assert not nir_cmd.passed({**report, "prediction_agreement": 0.989})
