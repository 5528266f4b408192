"""``ttfs export-verilog`` on a saved random network, and its usage errors."""
import json

import pytest

from hardware.rtl.cases import CaseSpec, random_network
from mapping import allocation as allocation_io
from mapping import network as network_io
from mapping.allocation import CoreLimits, allocate


@pytest.fixture
def run_dir(tmp_path):
    network = random_network(CaseSpec((10, 6, 3), weight_bits=5, steps=8, seed=60))
    network_io.save(network, tmp_path / "run")
    allocation_io.save(allocate(network, CoreLimits(max_neurons=4)), tmp_path / "run")
    return tmp_path / "run"


def test_rtl_cli_export_writes_verilog_and_sidecar_where_asked(run_dir, tmp_path,
                                                               ttfs_subprocess):
    status, out, err = ttfs_subprocess("export-verilog", run_dir, "--out", tmp_path / "v",
                                       "--lanes", "2,3")
    assert status == 0, err
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["ttfs_top.json", "ttfs_top.v"]
    sidecar = json.loads((tmp_path / "v" / "ttfs_top.json").read_text())
    assert sidecar["parameters"]["lanes"] == [2, 3]
    assert sidecar["parameters"]["cores"] == [[0, 0, 3], [0, 3, 6], [1, 0, 3]]
    assert "module ttfs_top(" in (tmp_path / "v" / "ttfs_top.v").read_text()
    assert "ttfs_top.v" in out


def test_rtl_cli_export_reports_a_missing_network_in_one_line(tmp_path, ttfs_subprocess):
    status, out, err = ttfs_subprocess("export-verilog", tmp_path / "nothing")
    assert status == 2
    assert err.strip().count("\n") == 0 and "network.json not found" in err


def test_rtl_cli_cosim_rejects_an_unknown_simulator(run_dir, ttfs_subprocess):
    status, _, err = ttfs_subprocess("cosim", run_dir, "--sim", "modelsim")
    assert status == 2
    assert "invalid choice: 'modelsim'" in err
