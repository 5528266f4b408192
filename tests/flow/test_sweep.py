"""Sweeps and summaries of training runs (flow.sweep, ttfs sweep / summarize) and the
figures they draw (flow.figure)."""
import json
import math

import numpy as np
import pytest
import torch

from flow import cli
from flow.figure import plot_sample, plot_tradeoff
from flow.sweep import aggregate, collect, plan, write_report
from model import TrainConfig, TTFSNetwork
from model import data


def have_mnist():
    try:
        data.load("mnist", "test")
    except data.DataError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not have_mnist(), reason="MNIST not found: run `ttfs data`")


def test_sweep_plan_and_report(tmp_path):
    base = TrainConfig(epochs=1)
    names = [name for name, _ in plan(base, regs=("none", "m-ssr", "vhat"), gamma2s=(0.1, 0.3),
                                      v_hats=(0.5,))]
    assert names == ["none", "m-ssr-g0.1", "m-ssr-g0.3", "vhat0.5-g0.1", "vhat0.5-g0.3"]
    with pytest.raises(ValueError, match="needs at least one v_hat"):
        plan(base, regs=("vhat",), gamma2s=(0.1,))
    rows = [{"run": name, "label": label, "reg": reg, "gamma2": 0.1, "v_hat": 0.5,
             "test_accuracy": acc, "firing_rate": [rate, rate / 2], "firing_rate_mean": rate}
            for name, label, reg, acc, rate in (
                ("none", "none", "none", 0.9, 0.6), ("m-ssr-g0.1", "m-ssr", "m-ssr", 0.89, 0.2),
                ("vhat0.5-g0.1", "vhat v_hat=0.5", "vhat", 0.88, 0.3))]
    write_report(rows, tmp_path)
    table = (tmp_path / "sweep.md").read_text()
    assert "| m-ssr-g0.1 | m-ssr | 0.1 |  |  |  | 89.00 | 0.200, 0.100 | 0.200 |" in table
    assert "| m-ssr | 0.1 |  | 1 | None | 89.00 | 0.200, 0.100 | 0.200 | -1.00 |" in table
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
    assert (tmp_path / "vhat.png").stat().st_size > 0


def test_sweep_plan_with_seeds_names_each_run_and_checks_the_seeds():
    base = TrainConfig(epochs=1, seed=7)
    points = plan(base, regs=("none", "f-ssr"), gamma2s=(0.05,), seeds=(0, 3))
    assert [name for name, _ in points] == ["none-s0", "none-s3", "f-ssr-g0.05-s0",
                                            "f-ssr-g0.05-s3"]
    assert [config.seed for _, config in points] == [0, 3, 0, 3]
    assert [config.seed for _, config in plan(base, regs=("none",), gamma2s=())] == [7]
    for bad in ((), (1, 1), (-1,), (0.5,)):
        with pytest.raises(ValueError, match="seeds must be distinct integers"):
            plan(base, regs=("none",), gamma2s=(), seeds=bad)


def _row(run, reg, gamma2, seed, accuracy, rates):
    return {"run": run, "label": reg, "reg": reg, "gamma2": gamma2, "v_hat": 0.5,
            "seed": seed, "epochs_done": 4, "test_accuracy": accuracy, "firing_rate": rates,
            "firing_rate_mean": sum(rates) / len(rates)}


def test_sweep_report_gives_mean_and_spread_over_seeds_and_change_vs_none(tmp_path):
    rows = [_row("none-s0", "none", 0.0, 0, 0.86, [0.4, 0.6]),
            _row("none-s1", "none", 0.0, 1, 0.88, [0.2, 0.6]),
            _row("m-ssr-g0.01-s0", "m-ssr", 0.01, 0, 0.85, [0.1, 0.3]),
            _row("m-ssr-g0.01-s1", "m-ssr", 0.01, 1, 0.86, [0.1, 0.1])]
    points = aggregate(rows)
    assert [(point["reg"], point["runs"]) for point in points] == [
        ("none", ["none-s0", "none-s1"]), ("m-ssr", ["m-ssr-g0.01-s0", "m-ssr-g0.01-s1"])]
    none, m_ssr = points
    assert none["test_accuracy"] == pytest.approx(0.87)
    assert none["test_accuracy_std"] == pytest.approx(0.02 / math.sqrt(2))  # sample std
    assert none["firing_rate"] == pytest.approx([0.3, 0.6])
    assert none["firing_rate_std"] == pytest.approx([0.2 / math.sqrt(2), 0.0])
    assert m_ssr["firing_rate_mean"] == pytest.approx(0.15)
    assert m_ssr["accuracy_change"] == pytest.approx(-1.5)
    assert none["accuracy_change"] == pytest.approx(0.0)
    assert aggregate(rows[2:])[0]["accuracy_change"] is None
    write_report(rows, tmp_path)
    table = (tmp_path / "sweep.md").read_text()
    assert "| none-s1 | none | 0 |  | 1 | 4 | 88.00 | 0.200, 0.600 | 0.400 |" in table
    assert ("| m-ssr | 0.01 |  | 2 | 4 | 85.50 ± 0.71 | 0.100 ± 0.000, 0.200 ± 0.141 "
            "| 0.150 ± 0.071 | -1.50 |") in table
    assert (tmp_path / "tradeoff.png").stat().st_size > 0


def test_tradeoff_plot_draws_error_bars_only_where_seeds_spread(tmp_path):
    point = {"label": "m-ssr", "test_accuracy": 0.85, "firing_rate": [0.1, 0.3],
             "firing_rate_mean": 0.2}
    spread = dict(point, test_accuracy_std=0.01, firing_rate_std=[0.02, 0.03],
                  firing_rate_mean_std=0.025)
    flat = dict(point, test_accuracy_std=0.0, firing_rate_std=[0.0, 0.0],
                firing_rate_mean_std=0.0)
    images = {}
    for name, row in (("plain", point), ("flat", flat), ("spread", spread)):
        plot_tradeoff([row], tmp_path / f"{name}.png")
        images[name] = (tmp_path / f"{name}.png").read_bytes()
    assert images["flat"] == images["plain"]
    assert images["spread"] != images["plain"]


@needs_mnist
def test_cli_sweep_over_seeds_trains_each_seed_and_averages(tmp_path, capsys):
    out = tmp_path / "sweep"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sweep", "--regs", "none", "--seeds", "0,1", "--arch", "784-8-10",
                  "--epochs", "1", "--train-subset", "300", "--test-subset", "100",
                  "--jobs", "1", "--out", str(out)])
    assert exit_info.value.code == 0
    assert "none: accuracy" in capsys.readouterr().out
    rows = json.loads((out / "sweep.json").read_text())
    assert [(row["run"], row["seed"]) for row in rows] == [("none-s0", 0), ("none-s1", 1)]
    assert rows[0]["test_accuracy"] != rows[1]["test_accuracy"] or \
        rows[0]["firing_rate"] != rows[1]["firing_rate"]  # the seeds differ
    assert "| none | 0 |  | 2 | 1 | " in (out / "sweep.md").read_text()


def _fake_run(run_dir, metrics, **config):
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(TrainConfig(**config).to_json()))
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return run_dir


def test_collect_reads_runs_and_names_what_is_wrong(tmp_path):
    metrics = {"test_accuracy": 0.9, "firing_rate": [0.2], "firing_rate_mean": 0.2,
               "epochs_done": 3}
    a = _fake_run(tmp_path / "a", metrics, arch=(784, 20, 10), reg="f-ssr", gamma2=0.1, seed=2)
    b = _fake_run(tmp_path / "b", metrics, arch=(784, 20, 10))
    rows = collect([a, b])
    assert [(row["run"], row["reg"], row["gamma2"], row["seed"], row["epochs_done"])
            for row in rows] == [("a", "f-ssr", 0.1, 2, 3), ("b", "none", 0.0, 0, 3)]
    assert (rows[0]["dataset"], rows[0]["arch"]) == ("mnist", "784-20-10")
    other = _fake_run(tmp_path / "other", metrics, arch=(784, 30, 10))
    with pytest.raises(ValueError, match=r"other differs from a in arch \(\(784, 20, 10\) "
                                          r"against \(784, 30, 10\)\)"):
        collect([a, other])
    slower = _fake_run(tmp_path / "slower", metrics, arch=(784, 20, 10), lr=1e-4, epochs=3)
    with pytest.raises(ValueError, match="in lr .*may differ only in reg, gamma2"):
        collect([a, b, slower])
    with pytest.raises(ValueError, match="config.json not found"):
        collect([a, tmp_path])
    (b / "metrics.json").unlink()
    with pytest.raises(ValueError, match="b/metrics.json not found"):
        collect([a, b])
    (other / "metrics.json").write_text("{")
    with pytest.raises(ValueError, match="other/metrics.json: corrupt JSON"):
        collect([other])
    (other / "metrics.json").write_text(json.dumps({"test_accuracy": 0.5}))
    with pytest.raises(ValueError, match="lacks firing_rate, firing_rate_mean"):
        collect([other])
    (other / "config.json").write_text(json.dumps({"arch": "784-x"}))
    with pytest.raises(ValueError, match="other/config.json: corrupt config"):
        collect([other])
    with pytest.raises(ValueError, match="no run directories"):
        collect([])


def test_cli_summarize_writes_report_or_nothing(tmp_path, capsys):
    metrics = {"test_accuracy": 0.9, "firing_rate": [0.2], "firing_rate_mean": 0.2}
    runs = [_fake_run(tmp_path / f"none-s{seed}", dict(metrics, test_accuracy=0.9 + seed / 100),
                      arch=(784, 20, 10), seed=seed) for seed in (0, 1)]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["summarize", *map(str, runs), "--out", str(tmp_path / "summary")])
    assert exit_info.value.code == 0
    assert "none: accuracy 90.50 ± 0.71 %, mean firing rate 0.200 over 2 run(s) after 10 " \
        "epochs" in capsys.readouterr().out
    (runs[1] / "metrics.json").write_text(json.dumps(dict(metrics, epochs_done=4,
                                                          complete=False)))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["summarize", *map(str, runs), "--out", str(tmp_path / "summary")])
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    assert "over 2 run(s) after 4, 10 epochs" in out
    assert "not finished (still training or stopped): none-s1 (4 epochs)" in err
    assert (tmp_path / "summary" / "tradeoff.png").is_file()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["summarize", str(runs[0]), str(tmp_path), "--out", str(tmp_path / "bad")])
    assert exit_info.value.code == 2
    assert "config.json not found" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_figure_plot_sample_writes_png(tmp_path):
    network = TTFSNetwork(arch="784-12-10").reset_parameters(torch.Generator().manual_seed(0))
    image = (np.arange(784).reshape(28, 28) % 256).astype(np.uint8)
    out = plot_sample(network, image, 3, tmp_path / "raster.png")
    assert out.stat().st_size > 10_000
