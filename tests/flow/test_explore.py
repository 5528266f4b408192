"""Design-space search (flow.explore, flow.explore_space, flow.explore_report, ttfs explore):
the space and its errors, the Pareto fronts and the table, and a tiny search on local Ray
that resumes without training again."""
import csv
import json
import shutil
import tempfile
from dataclasses import replace

import pytest

from flow import cli, explore_cmd
from flow.explore import ExploreConfig, match_trained, ray_tmp_dir
from flow.explore_trial import adopt, finished_row, finished_training, run_trial
from flow.explore_report import pareto_front, write_report
from flow.explore_space import Point, SearchSpace, load_space, subset
from model import TrainConfig, data


def _main(*args):
    with pytest.raises(SystemExit) as exc_info:
        cli.main([str(arg) for arg in args])
    return exc_info.value.code


def have_mnist():
    try:
        data.load("mnist", "test")
    except data.DataError:
        return False
    return True


def test_space_points_share_trainings_and_interleave_them():
    space = SearchSpace(reg=["none", "f-ssr"], gamma2=[0.1, 0.3], weight_bits=[4, 8])
    names = [p.name for p in space.points(TrainConfig(epochs=1))]
    # none takes gamma2 0 once; consecutive points train different networks
    assert names == ["none_w4-k64_l8-b8192", "f-ssr-g0.1_w4-k64_l8-b8192",
                     "f-ssr-g0.3_w4-k64_l8-b8192", "none_w8-k64_l8-b8192",
                     "f-ssr-g0.1_w8-k64_l8-b8192", "f-ssr-g0.3_w8-k64_l8-b8192"]
    point = space.points(TrainConfig(epochs=1))[1]
    assert point.train_config(TrainConfig(epochs=1)) == TrainConfig(epochs=1, reg="f-ssr",
                                                                    gamma2=0.1)
    assert Point.from_json(point.to_json()) == point
    pairs = SearchSpace(trainings=[["m-ssr", 0.01], ("none", 0.3), ["none", 0, 0, 0]],
                        lanes=[4, 8])
    assert [p.name for p in pairs.points(TrainConfig())] == [
        "m-ssr-g0.01_w8-k64_l4-b8192", "none_w8-k64_l4-b8192", "m-ssr-g0.01_w8-k64_l8-b8192",
        "none_w8-k64_l8-b8192"]
    codesign = SearchSpace(reg="f-ssr", gamma2=0.1, energy_weight=[0, 30],
                           input_threshold=[0, 0.25]).points(TrainConfig(epochs=1))
    assert [p.train_name for p in codesign] == ["f-ssr-g0.1", "f-ssr-g0.1-t0.25",
                                                "f-ssr-g0.1-e30", "f-ssr-g0.1-e30-t0.25"]
    assert codesign[3].train_config(TrainConfig(epochs=1)) == TrainConfig(
        epochs=1, reg="f-ssr", gamma2=0.1, energy_weight=30.0, input_threshold=0.25)
    vhat = SearchSpace(reg="vhat", gamma2=0.1).points(TrainConfig(v_hat=0.25))
    assert [p.train_name for p in vhat] == ["vhat0.25-g0.1"]


@pytest.mark.parametrize("values, message", [
    ({"reg": ["l1"]}, "space: reg must be among none, m-ssr, f-ssr, vhat, not 'l1'"),
    ({"gamma2": [0.1, -1]}, "space: gamma2 must be numbers >= 0, not -1"),
    ({"weight_bits": [1]}, "space: weight_bits must be integers in [2, 16], not 1"),
    ({"weight_bits": [True]}, "space: weight_bits must be integers in [2, 16], not True"),
    ({"steps": [8.5]}, "space: steps must be integers in [2, 65536], not 8.5"),
    ({"lanes": [65]}, "space: lanes must be integers in [1, 64], not 65"),
    ({"bank_bytes": [0]}, "space: bank_bytes must be positive integers, not 0"),
    ({"lanes": []}, "space: lanes needs at least one value"),
    ({"lanes": [8, 8]}, "space: lanes repeats a value: [8, 8]"),
    ({"energy_weight": [-1]}, "space: energy_weight must be numbers >= 0, not -1"),
    ({"input_threshold": [1.5]}, "space: input_threshold must be numbers in [0, 1], not 1.5"),
    ({"prune": ["all"]}, "space: prune must be among none, inputs, dead, both, not 'all'"),
    ({"K": [8]}, "space: unknown dimension 'K': expected reg, gamma2, energy_weight, "
                 "input_threshold, weight_bits, steps, prune, lanes, bank_bytes or trainings"),
    ({"trainings": [["none", 0]], "energy_weight": [1]},
     "space: give trainings or reg, gamma2, energy_weight, input_threshold, not both"),
    ({"trainings": [["m-ssr"]]}, "space: trainings must be a non-empty list of [regularizer, "
                                 "gamma2, energy_weight, input_threshold] entries (the last "
                                 "two optional), not [['m-ssr']]"),
    ({"trainings": [["none", 0, 1, 2]]}, "space: input_threshold must be numbers in [0, 1], "
                                         "not 2"),
    ({"trainings": [["l1", 0.1]]}, "space: reg must be among none, m-ssr, f-ssr, vhat, "
                                   "not 'l1'"),
    ([1], "space: expected a table of dimensions"),
])
def test_space_rejects_bad_values_naming_them(values, message):
    with pytest.raises(ValueError) as exc_info:
        SearchSpace.from_values(values)
    assert str(exc_info.value).startswith(message)


def test_space_files_json_and_toml(tmp_path):
    (tmp_path / "s.toml").write_text('reg = ["none", "m-ssr"]\ngamma2 = 0.05\nlanes = [4, 8]\n')
    space = SearchSpace.from_values(load_space(tmp_path / "s.toml"))
    assert (space.reg, space.gamma2, space.lanes, space.steps) == (
        ("none", "m-ssr"), (0.05,), (4, 8), (64,))
    (tmp_path / "s.json").write_text('{"steps": [16, 32]}')
    assert SearchSpace.from_values(load_space(tmp_path / "s.json")).steps == (16, 32)
    (tmp_path / "bad.toml").write_text("reg = [")
    with pytest.raises(ValueError, match=r"bad.toml: not valid TOML \("):
        load_space(tmp_path / "bad.toml")
    (tmp_path / "s.yaml").write_text("reg: none")
    with pytest.raises(ValueError, match=r"s.yaml: a search space is a .json or .toml file"):
        load_space(tmp_path / "s.yaml")
    with pytest.raises(FileNotFoundError, match="no such search-space file"):
        load_space(tmp_path / "missing.json")


def test_space_subset_is_the_same_draw_each_time():
    points = list(range(20))
    assert subset(points, 5, 3) == subset(points, 5, 3)
    assert len(set(subset(points, 5, 3))) == 5
    assert subset(points, 5, 3) != subset(points, 5, 4)
    assert subset(points, 0, 3) == points == subset(points, 50, 3)
    with pytest.raises(ValueError, match="samples must be an integer >= 0, not -1"):
        subset(points, -1, 0)


def _row(name, accuracy, energy, latency, status="done", reg="none"):
    row = {"trial": name, "train_name": reg, "reg": reg, "gamma2": 0.0, "energy_weight": 0.0,
           "input_threshold": 0.0, "weight_bits": 8, "steps": 64, "prune": "none", "lanes": 8,
           "bank_bytes": 8192, "status": status}
    if status != "done":
        return {**row, "error": "ValueError: bad | worse"}
    return {**row, "float_accuracy": accuracy + 0.01, "int_accuracy": accuracy,
            "test_samples": 100, "energy_J": energy, "static_J": energy / 10,
            "latency_s": latency, "latency_cycles": latency * 1e8, "firing_rate": 0.2,
            "synops": 1000.0, "energy_samples": 50, "cosim": "missing", "trained": True,
            "train_s": 1.0, "quantize_s": 1.0, "energy_s": 1.0}


def test_pareto_front_keeps_the_points_no_other_beats():
    rows = [_row("a", 0.90, 5e-9, 3e-6), _row("b", 0.85, 2e-9, 4e-6),
            _row("c", 0.84, 3e-9, 1e-6), _row("d", 0.90, 6e-9, 2e-6),
            _row("e", 0.95, 9e-9, 5e-6), _row("f", 0.99, 1e-9, 1e-6, status="failed"),
            _row("g", 0.85, 2e-9, 9e-6)]
    assert [r["trial"] for r in pareto_front(rows, "energy_J")] == ["b", "a", "e"]
    assert [r["trial"] for r in pareto_front(rows, "latency_s")] == ["c", "d", "e"]
    assert pareto_front([], "energy_J") == []


def test_report_table_marks_the_fronts_and_failures(tmp_path):
    rows = [_row("a", 0.90, 5e-9, 3e-6), _row("b", 0.85, 2e-9, 4e-6, reg="m-ssr"),
            _row("x", 0, 0, 0, status="failed")]
    rows[1]["analog_energy_J"] = 7.5e-10
    paths = write_report(rows, tmp_path, title="mnist 784-16-10")
    assert [p.name for p in paths] == ["explore.csv", "explore.md", "pareto.png"]
    table = list(csv.DictReader((tmp_path / "explore.csv").open()))
    assert [(r["trial"], r["status"], r["front_energy"], r["front_latency"]) for r in table] \
        == [("a", "done", "True", "True"), ("b", "done", "True", "False"),
            ("x", "failed", "False", "False")]
    assert float(table[0]["energy_J"]) == 5e-9
    text = (tmp_path / "explore.md").read_text()
    assert "| a | none | 0 | 0 | 0 | 8 | 64 | none | 8 | 8192 | done | 91.00 | 90.00 | 5 | n/a " \
           "| 3 | 0.200 | 1000 | EL |" in text
    assert "| b | m-ssr | 0 | 0 | 0 | 8 | 64 | none | 8 | 8192 | done | 86.00 | 85.00 | 2 | " \
           "0.75 | 4 |" in text
    assert float(table[1]["analog_energy_J"]) == 7.5e-10 and table[0]["analog_energy_J"] == ""
    assert "| x | none | 0 | 0 | 0 | 8 | 64 | none | 8 | 8192 | failed: ValueError: bad / " \
           "worse |" in text
    assert "## Pareto front: accuracy against energy per inference\n\n| trial | integer " \
           "accuracy (%) | digital energy per inference (nJ) |\n|---|---|---|\n" \
           "| b | 85.00 | 2 |\n| a | 90.00 | 5 |\n" in text
    assert (tmp_path / "pareto.png").stat().st_size > 10_000
    paths = write_report(rows[2:], tmp_path / "", title="t")
    assert [p.name for p in paths] == ["explore.csv", "explore.md"]  # no point to plot


def test_explore_config_checks_every_option():
    with pytest.raises(ValueError, match="energy_samples must be an integer >= 1, not 0"):
        ExploreConfig(energy_samples=0)
    with pytest.raises(ValueError, match="cosim must be one of icarus, verilator or None"):
        ExploreConfig(cosim="xcelium")
    with pytest.raises(ValueError, match=r"v_hat must lie in \[0, threshold=1.0\]"):
        ExploreConfig(base=TrainConfig(v_hat=2.0), space=SearchSpace(reg=["vhat"]))
    assert ExploreConfig(data_dir="rel").data_dir.is_absolute()
    with pytest.raises(ValueError, match="Ray's socket paths need it at most 40"):
        ray_tmp_dir("/tmp/" + "x" * 40)


def _explore(out, *extra):
    return ("explore", "--arch", "784-16-10", "--epochs", "1", "--train-subset", "300",
            "--test-subset", "100", "--test-samples", "100", "--calibration-samples", "64",
            "--energy-samples", "50", "--out", out, *extra)


@pytest.mark.parametrize("extra, message", [
    (("--gamma2s", "0.1,x"), "ttfs: error: --gamma2s: expected comma-separated numbers, "
                             "not '0.1,x'"),
    (("--lanes", "0"), "ttfs: error: --lanes: lanes must be integers in [1, 64], not 0"),
    (("--regs", "l2"), "ttfs: error: --regs: reg must be among none, m-ssr, f-ssr, vhat, "
                       "not 'l2'"),
    (("--cpus", "0"), "ttfs: error: cpus must be an integer >= 1, not 0"),
    (("--cpus", "1", "--threads", "2"), "ttfs: error: a trial takes 2 CPUs (threads), more "
                                        "than the 1 of the local Ray instance"),
    (("--address", "auto", "--cpus", "1"), "ttfs: error: cpus and ray_tmp set up a local "
                                           "Ray instance"),
    (("--ray-tmp", "/tmp/" + "r" * 40), "ttfs: error: Ray's temporary folder /tmp/rrrr"),
    (("--energy-samples", "0"), "ttfs: error: energy_samples must be an integer >= 1"),
    (("--samples", "-2"), "ttfs: error: samples must be an integer >= 0, not -2"),
])
def test_cli_explore_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra,
                                                             message):
    assert _main(*_explore(tmp_path / "out", *extra)) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message) and err.count("\n") == 1, err
    assert out == "" and not (tmp_path / "out").exists()


def test_cli_explore_bad_space_file_is_one_line(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('reg = ["none"]\nbits = [4]\n')
    assert _main(*_explore(tmp_path / "out", "--space", space)) == 2
    assert capsys.readouterr().err == (f"ttfs: error: {space}: unknown dimension 'bits': "
                                       f"expected reg, gamma2, energy_weight, input_threshold, "
                                       f"weight_bits, steps, prune, lanes, bank_bytes or "
                                       f"trainings\n")
    space.write_text('steps = [1]\n')
    assert _main(*_explore(tmp_path / "out", "--space", space)) == 2
    assert capsys.readouterr().err == (f"ttfs: error: {space}: steps must be integers in "
                                       f"[2, 65536], not 1\n")
    assert not (tmp_path / "out").exists()


def test_cli_explore_refuses_a_folder_of_another_search(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    config = ExploreConfig(base=TrainConfig(arch=(784, 16, 10), epochs=2, train_subset=300,
                                            test_subset=100), test_samples=100,
                           calibration_samples=64, energy_samples=50)
    (out / "search.json").write_text(json.dumps(config.shared()))
    before = sorted(out.iterdir())
    assert _main(*_explore(out, "--regs", "none")) == 2
    assert capsys.readouterr().err == (f"ttfs: error: {out} holds a search with "
                                       f"train.epochs = 2, not 1: its trials cannot join this "
                                       f"one; use another --out\n")
    assert sorted(out.iterdir()) == before


def test_explore_reads_a_search_recorded_before_a_training_option_existed(tmp_path):
    """Options added to ``ttfs train`` since a search was recorded take their defaults
    (what the earlier code trained with); other settings must still match."""
    from flow.explore import _check_shared

    config = ExploreConfig(base=TrainConfig(arch=(784, 16, 10)))
    held = config.shared()
    for name in ("energy_target", "energy_analog", "augment_shift"):
        del held["train"][name]
    (tmp_path / "search.json").write_text(json.dumps(held))
    _check_shared(tmp_path, config)
    with pytest.raises(ValueError, match="train.energy_target = 'digital', not 'analog'"):
        _check_shared(tmp_path, replace(config, base=TrainConfig(arch=(784, 16, 10),
                                                                 energy_target="analog")))


def test_explore_analog_model_is_checked_when_the_search_is_configured(tmp_path):
    (tmp_path / "analog_energy.json").write_text('{"schema_version": 2}')
    with pytest.raises(ValueError, match="analog_energy.json: not an analog energy model"):
        ExploreConfig(analog_model=tmp_path)
    with pytest.raises(FileNotFoundError, match="none.json not found"):
        ExploreConfig(analog_model=tmp_path / "none.json")


def _trained_run(path, metrics=None, **config):
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(TrainConfig(**config).to_json()))
    (path / "metrics.json").write_text(json.dumps(metrics or {
        "test_accuracy": 0.9, "firing_rate": [0.2], "firing_rate_mean": 0.2,
        "epochs_done": config.get("epochs", 10), "complete": True}))
    (path / "model.pt").write_bytes(b"weights")
    return path


def test_explore_takes_matching_trained_runs_and_refuses_others(tmp_path):
    base = dict(arch=(784, 16, 10), epochs=2)
    config = ExploreConfig(base=TrainConfig(**base), space=SearchSpace(reg=["none", "m-ssr"],
                                                                       gamma2=[0.01]))
    none = _trained_run(tmp_path / "a", **base)
    m_ssr = _trained_run(tmp_path / "b", reg="m-ssr", gamma2=0.01, **base)
    assert [(run, point.train_name) for run, point in match_trained([none, m_ssr], config)] \
        == [(none, "none"), (m_ssr, "m-ssr-g0.01")]
    (_, point), _ = match_trained([none, m_ssr], config)
    train_dir = tmp_path / "out" / "train" / "none"
    adopt(none, train_dir, point.train_config(config.base))  # as the search's own training
    assert (train_dir / "model.pt").read_bytes() == b"weights"
    assert finished_training(train_dir, point.train_config(config.base))["epochs_done"] == 2
    copied = (train_dir / "model.pt").stat().st_mtime_ns
    adopt(none, train_dir, point.train_config(config.base))
    assert (train_dir / "model.pt").stat().st_mtime_ns == copied
    longer = _trained_run(tmp_path / "c", **dict(base, epochs=3))
    with pytest.raises(ValueError, match=r"c: matches no training of this search: differs "
                                         r"from the search's training in epochs \(3, not 2\)"):
        match_trained([none, longer], config)
    f_ssr = _trained_run(tmp_path / "d", reg="f-ssr", gamma2=0.01, **base)
    with pytest.raises(ValueError, match=r"d: matches no training of this search: its training "
                                         r"\(reg f-ssr, gamma2 0.01, energy_weight 0.0, "
                                         r"input_threshold 0.0\) is not searched"):
        match_trained([f_ssr], config)
    stopped = _trained_run(tmp_path / "e", {"test_accuracy": 0.9, "firing_rate": [0.2],
                                            "firing_rate_mean": 0.2, "epochs_done": 1,
                                            "complete": False}, **base)
    with pytest.raises(ValueError, match=r"e: its training is not finished \(1 of 2 epochs\)"):
        match_trained([stopped], config)
    with pytest.raises(ValueError, match="nowhere: not a finished training run"):
        match_trained([tmp_path / "nowhere"], config)
    # --trained alone: the search trains nothing but what the runs hold
    args = cli.build_parser().parse_args(["explore", "--trained", str(m_ssr), str(none),
                                          "--lanes", "4,8", "--out", str(tmp_path / "o")])
    assert explore_cmd.space_from_args(args).training_points() == (
        ("m-ssr", 0.01, 0.0, 0.0), ("none", 0.0, 0.0, 0.0))
    args.space_reg = "none"
    assert explore_cmd.space_from_args(args).training_points() == (("none", 0.0, 0.0, 0.0),)
    (none / "model.pt").unlink()
    with pytest.raises(ValueError, match=r"a: not a finished training run \(no model.pt\)"):
        match_trained([none], config)


@pytest.fixture
def ray_tmp():
    path = tempfile.mkdtemp(prefix="ttfs-ray-")  # short: Ray's socket paths must fit
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(not have_mnist(), reason="MNIST not found: run `ttfs data`")
def test_cli_explore_searches_on_local_ray_and_resumes(tmp_path, capsys, ray_tmp):
    out = tmp_path / "search"
    args = [str(arg) for arg in _explore(
        out, "--regs", "f-ssr", "--gamma2s", "0.1", "--energy-weights", "0,30",
        "--input-thresholds", "0.2", "--weight-bits", "6", "--steps", "32", "--prunes", "both",
        "--lanes", "4,8",
        "--cpus", "2", "--ray-tmp", ray_tmp)]
    assert _main(*args) == 0
    printed = capsys.readouterr().out
    assert "4 points, 0 finished before; running 4 on a local Ray instance of 2 CPUs" \
        in printed
    rows = list(csv.DictReader((out / "explore.csv").open()))
    assert [(r["trial"], r["status"]) for r in rows] == [
        ("f-ssr-g0.1-t0.2_w6-k32-pboth_l4-b8192", "done"),
        ("f-ssr-g0.1-e30-t0.2_w6-k32-pboth_l4-b8192", "done"),
        ("f-ssr-g0.1-t0.2_w6-k32-pboth_l8-b8192", "done"),
        ("f-ssr-g0.1-e30-t0.2_w6-k32-pboth_l8-b8192", "done")]
    # two trainings and two integer networks, each computed once for two trials
    assert sorted(r["trained"] for r in rows) == ["False", "False", "True", "True"]
    assert sorted(p.name for p in (out / "quant").iterdir() if p.is_dir()) == [
        "f-ssr-g0.1-e30-t0.2_w6-k32-pboth", "f-ssr-g0.1-t0.2_w6-k32-pboth"]
    assert (out / "trials" / rows[0]["trial"] / "network.json").read_bytes() == \
        (out / "trials" / rows[2]["trial"] / "network.json").read_bytes()
    for row in rows:  # each trial's own training and energy report, for its point
        trained_with = json.loads((out / "trials" / row["trial"] / "config.json").read_text())
        assert (trained_with["reg"], trained_with["input_threshold"]) == ("f-ssr", 0.2)
        assert trained_with["energy_weight"] == float(row["energy_weight"])
        assert bool(trained_with["energy_spike_pJ"]) == (row["energy_weight"] == "30.0")
        report = json.loads((out / "trials" / row["trial"] / "report.json").read_text())
        assert float(row["energy_J"]) == report["digital"]["energy_J"]["mean"] > 0
        assert report["digital"]["lanes"] == int(row["lanes"])
        assert (report["network"]["weight_bits"], report["network"]["steps"]) == (6, 32)
        assert report["network"]["sizes"][0] < 784  # pixels never lit: pruned
        assert report["samples"] == 50
    assert any(r["front_energy"] == "True" for r in rows)
    assert (out / "pareto.png").stat().st_size > 10_000
    assert "## Pareto front: accuracy against latency" in (out / "explore.md").read_text()
    assert "front of accuracy against energy: " in printed

    # a rerun reads every finished trial and starts no Ray
    trained = {p: p.stat().st_mtime_ns for p in (out / "train").glob("*/model.pt")}
    assert _main(*args) == 0
    assert "4 points, all finished before" in capsys.readouterr().out
    # a trial stopped before its end runs again (here without Ray), on the training done
    trial = rows[3]["trial"]
    (out / "trials" / trial / "trial.json").unlink()
    config = explore_cmd.config_from_args(cli.build_parser().parse_args(args))
    (point,) = [p for p in config.points() if p.name == trial]
    assert finished_row(out / "trials" / trial, point) is None
    row = run_trial(out, point, config)
    assert row["trained"] is False and row["int_accuracy"] == float(rows[3]["int_accuracy"])
    assert row["energy_J"] == float(rows[3]["energy_J"])  # the stages are deterministic
    assert {p: p.stat().st_mtime_ns for p in (out / "train").glob("*/model.pt")} == trained
    assert finished_row(out / "trials" / trial, point) == row
    assert finished_row(out / "trials" / trial, replace(point, lanes=4)) is None

    # priced with an analog model: the trial is priced again on its training and network
    from hardware.spice.energy_model import AnalogEnergies, save

    save(AnalogEnergies((0.0, 3e-15, 1.8), (4e-14, 0.0, 0.0), 1.2e-12, 5e-15, 3.7e-6, 3e-13,
                        2.5e-13, 3.2e-16, {"name": "test", "dt_s": 1e-7}, {}), tmp_path / "a")
    analog = replace(config, analog_model=tmp_path / "a")
    assert finished_row(out / "trials" / trial, point, analog.analog_digest) is None
    priced = run_trial(out, point, analog)
    report = json.loads((out / "trials" / trial / "report.json").read_text())
    assert priced["analog_energy_J"] == report["analog"]["energy_J"]["mean"] > 0
    assert priced["energy_J"] == row["energy_J"] and priced["trained"] is False
    assert finished_row(out / "trials" / trial, point, analog.analog_digest) == priced
    assert finished_row(out / "trials" / trial, point) == priced
