"""The Python API (flow.api): the README's example runs as written, configs refuse bad
values with a message naming the field, and the API is reachable from ``flow``."""
import os
import re
import time
from pathlib import Path

import pytest

import flow
from flow import api

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_example():
    text = README.read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_api_names_are_reachable_from_flow():
    assert set(flow._API) == set(api.__all__)
    assert flow.QuantizeConfig is api.QuantizeConfig and flow.run_flow is api.run_flow


@pytest.mark.parametrize("make, message", [
    (lambda: api.QuantizeConfig(weight_bits=40), r"weight_bits must be an integer in \[2, 16\], not 40"),
    (lambda: api.QuantizeConfig(test_samples=-1), r"test_samples must be an integer >= 0, not -1"),
    (lambda: api.ExportConfig(lanes=(2, 0)), r"lanes must be a positive integer or a tuple"),
    (lambda: api.ExportConfig(testbench=1.5), r"testbench must be an integer >= 0, not 1.5"),
    (lambda: api.CosimConfig(sim="modelsim"), r"sim must be one of icarus, verilator, not 'modelsim'"),
    (lambda: api.SpiceConfig(level="ideal"), r"level must be one of .*, not 'ideal'"),
    (lambda: api.EnergyConfig(samples=0), r"samples must be a positive integer, not 0"),
    (lambda: api.TrainConfig(reg="l1"), r"reg must be one of .*, not 'l1'"),
])
def test_api_configs_refuse_bad_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_api_configs_are_frozen():
    config = api.CosimConfig()
    with pytest.raises(AttributeError):
        config.samples = 3


@pytest.mark.icarus
def test_api_readme_example_runs_end_to_end(tmp_path, monkeypatch):
    root = Path(os.environ.get("TTFS_DATA", README.parent / "data")).resolve()
    if not any((root / "mnist").glob("t10k-images-idx3-ubyte*")):
        pytest.skip("MNIST not found in $TTFS_DATA or ./data: run `ttfs data mnist`")
    monkeypatch.setenv("TTFS_DATA", str(root))
    monkeypatch.chdir(tmp_path)
    began = time.perf_counter()
    exec(compile(_readme_example(), "README.md", "exec"), {})
    print(f"README example: {time.perf_counter() - began:.1f} s")
    run = tmp_path / "runs" / "tiny"
    for name in ("model.pt", "network.json", "verilog/ttfs_top.v", "verilog/ttfs_top_tb.v",
                 "cosim.json"):
        assert (run / name).is_file(), name
    assert '"mismatches": 0' in (run / "cosim.json").read_text()
