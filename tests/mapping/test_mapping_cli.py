"""``ttfs quantize`` and ``ttfs allocate`` on a small run over the real MNIST files."""
import json

import pytest

pytest.importorskip("torch")
model = pytest.importorskip("model")
if not all(hasattr(model, name) for name in ("TTFSNetwork", "load_run")):
    pytest.skip("the model package cannot load runs yet", allow_module_level=True)

from flow import cli  # noqa: E402
from mapping import allocation, network as netmod, reference  # noqa: E402
from model import data  # noqa: E402


@pytest.fixture(scope="module")
def run_dir(untrained_run):
    return untrained_run(24)


def ttfs(*argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(a) for a in argv])
    return exit_info.value.code


def test_cli_quantize_writes_network_allocation_and_metrics(run_dir, capsys):
    assert ttfs("quantize", run_dir, "--weight-bits", 6, "--steps", 64, "--test-samples", 300,
                "--calibration-samples", 200, "--max-neurons", 10) == 0
    assert "6-bit weights, K = 64, 4 cores" in capsys.readouterr().out
    network = netmod.load(run_dir)
    assert (network.weight_bits, network.steps, network.dt) == (6, 64, 8.0 / 64)
    assert len(allocation.load(run_dir, network).cores) == 4
    metrics = json.loads((run_dir / "quant_metrics.json").read_text())
    test = data.load("mnist", "test")
    expected = reference.evaluate(network, test.images[:300], test.labels[:300])
    assert metrics["int_accuracy"] == expected.accuracy
    assert metrics["events_per_sample"]["synops"] == expected.synops
    assert len(metrics["events_per_sample"]["spikes"]) == 3
    assert 0 <= metrics["float_accuracy"] <= 1 and metrics["test_samples"] == 300


def test_cli_quantize_refuses_what_cannot_fit_and_writes_nothing(tmp_path, run_dir, capsys):
    target = tmp_path / "run"
    target.mkdir()
    for name in ("model.pt", "config.json"):
        (target / name).write_bytes((run_dir / name).read_bytes())
    assert ttfs("quantize", target, "--test-samples", 50, "--calibration-samples", 50,
                "--max-inputs", 512) == 2
    err = capsys.readouterr().err
    assert err == ("ttfs: error: layer 0 has 784 inputs but a core takes at most 512: raise "
                   "max_inputs\n")
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.pt"]


def test_cli_quantize_missing_run_is_a_one_line_error(tmp_path, capsys):
    assert ttfs("quantize", tmp_path / "nope") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json not found" in err


def test_cli_quantize_sweep_tabulates_and_plots(run_dir, capsys):
    assert ttfs("quantize", run_dir, "--sweep", "--sweep-bits", "4,8", "--sweep-steps", "16,64",
                "--test-samples", 100, "--calibration-samples", 100) == 0
    rows = json.loads((run_dir / "sweep.json").read_text())["rows"]
    assert [(r["weight_bits"], r["steps"]) for r in rows] == [(4, 16), (4, 64), (8, 16), (8, 64)]
    table = (run_dir / "sweep.md").read_text()
    assert "| weight_bits | K=16 | K=64 |" in table and table in capsys.readouterr().out
    assert (run_dir / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_allocate_resplits_a_saved_network(run_dir, capsys):
    if not (run_dir / "network.json").exists():
        assert ttfs("quantize", run_dir, "--test-samples", 50, "--calibration-samples", 50) == 0
    assert ttfs("allocate", run_dir, "--max-neurons", 5) == 0
    assert "layer 0: 24 neurons on 5 cores" in capsys.readouterr().out
    cores = allocation.load(run_dir, netmod.load(run_dir)).layer_cores(0)
    assert [(c.start, c.stop) for c in cores] == [(0, 5), (5, 10), (10, 14), (14, 19), (19, 24)]


def test_cli_quantize_with_fine_tuning_records_it(tmp_path, run_dir, capsys):
    target = tmp_path / "run"
    target.mkdir()
    for name in ("model.pt", "config.json"):
        (target / name).write_bytes((run_dir / name).read_bytes())
    assert ttfs("quantize", target, "--weight-bits", 4, "--steps", 32, "--qat-epochs", 1,
                "--qat-samples", 256, "--qat-lr", "1e-3", "--test-samples", 100,
                "--calibration-samples", 100) == 0
    metrics = json.loads((target / "quant_metrics.json").read_text())
    assert metrics["qat_epochs"] == 1 and 0 <= metrics["finetuned_float_accuracy"] <= 1
    network = netmod.load(target)
    assert network.meta["qat_epochs"] == 1 and network.meta["qat_samples"] == 256


def test_cli_quantize_prunes_and_thresholds_inputs_and_records_the_cost(tmp_path, run_dir,
                                                                         capsys):
    target = tmp_path / "run"
    target.mkdir()
    for name in ("model.pt", "config.json"):
        (target / name).write_bytes((run_dir / name).read_bytes())
    assert ttfs("quantize", target, "--steps", 64, "--test-samples", 200,
                "--calibration-samples", 100, "--input-threshold", 0.5, "--prune-inputs",
                "--prune-dead", "--prune-samples", 500) == 0
    out = capsys.readouterr().out
    assert "pruned inputs: removed" in out and "pruned dead neurons: removed" in out
    network = netmod.load(target)
    metrics = json.loads((target / "quant_metrics.json").read_text())
    pruning = metrics["pruning"]
    assert network.encoding.threshold == 0.5 and pruning["samples"] == 500
    assert network.sizes == metrics["layer_sizes"] == [pruning["inputs"]["kept"],
                                                       pruning["neurons"]["kept"][0], 10]
    assert pruning["inputs"]["removed"] > 100 and pruning["sizes_unpruned"] == [784, 24, 10]
    test = data.load("mnist", "test")
    assert reference.evaluate(network, test.images[:200], test.labels[:200]).accuracy == \
        metrics["int_accuracy"] == pruning["neurons"]["int_accuracy"]
    train = data.load("mnist", "train").images[:500].reshape(500, -1)
    lit = (train[:, list(network.encoding.pixels)] >= 0.5 * 255).any(axis=0)
    assert lit.all()
