"""``ttfs synth`` on a saved random network: export when missing, files written, exit codes."""
import json
import os
import sys

import pytest

from flow import digital_report
from hardware.costs import load_costs
from hardware.rtl.cases import CaseSpec, random_network
from hardware.rtl.export import write_verilog
from hardware.rtl.top import NetworkTop
from mapping import network as network_io


@pytest.fixture
def run_dir(tmp_path):
    network = random_network(CaseSpec((6, 4, 2), weight_bits=4, steps=4, seed=61))
    network_io.save(network, tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.yosys
def test_synth_cmd_exports_the_verilog_then_writes_the_summary(run_dir, ttfs_subprocess):
    status, out, err = ttfs_subprocess("synth", run_dir, "--target", "generic")
    assert status == 0, err
    assert (run_dir / "verilog" / "ttfs_top.v").is_file()   # exported first, default lanes
    doc = json.loads((run_dir / "synth.json").read_text())
    assert (doc["schema_version"], doc["target"], doc["device"], doc["fmax_MHz"]) == (
        1, "generic", None, None)
    assert doc["design"]["lanes"] == [8, 8] and doc["design"]["sizes"] == [6, 4, 2]
    assert doc["design"]["skip_idle"] is True
    assert doc["luts"] > 0 and doc["block_rams"] >= 2   # the weight ROMs read synchronously
    assert (run_dir / doc["logs"]["yosys"]).is_file()
    assert "# Synthesis: generic" in (run_dir / "synth.md").read_text()
    assert out.startswith(f"wrote {run_dir / 'verilog' / 'ttfs_top.v'}")
    assert f"\ngeneric: {doc['luts']} LUTs, {doc['flip_flops']} flip-flops" in out


@pytest.mark.yosys
@pytest.mark.nextpnr
def test_synth_cmd_places_routes_packs_and_feeds_the_energy_clock(run_dir, ttfs_subprocess):
    status, out, err = ttfs_subprocess("synth", run_dir, "--target", "ice40", "--device", "up5k")
    assert status == 0, err
    doc = json.loads((run_dir / "synth.json").read_text())
    bitstream = run_dir / doc["bitstream"]
    assert bitstream.read_bytes()[:8] == bytes.fromhex("ff0000ff7eaa997e")   # iCE40 preamble
    cells = doc["utilisation"]["ICESTORM_LC"]
    assert (f"ice40 up5k: {doc['luts']} LUTs" in out and f"placed: {cells['used']}/5280 logic "
            f"cells, Fmax {doc['fmax_MHz']:.2f} MHz; bitstream {bitstream}" in out)
    # the energy report reads the achieved clock and the cell count of this record
    network = network_io.load(run_dir)
    record, note = digital_report.synth_record(run_dir, network, 8)
    assert note is None and record == doc
    clock_Hz, source = digital_report.clock(record, note, load_costs())
    assert clock_Hz == doc["fmax_MHz"] * 1e6
    assert source.startswith(f"synth.json: the maximum clock frequency that place and route "
                             f"achieved for ice40 up5k ({doc['fmax_MHz']:.2f} MHz, nextpnr "
                             f"seed 1)")
    cells, _ = digital_report.logic_size(record, note, network, None, 8)
    assert cells == doc["cells"] > 0
    assert digital_report.synth_record(run_dir, network, 2)[0] is None   # other lanes


@pytest.mark.yosys
def test_synth_cmd_fails_with_exit_1_on_a_latch(run_dir, ttfs_subprocess):
    verilog, _ = write_verilog(NetworkTop(network_io.load(run_dir), lanes=2), run_dir / "verilog")
    source = verilog.read_text()
    end = source.index("endmodule")
    verilog.write_text(source[:end] + "  reg hold;\n  always @* if (rst) hold = clk;\n"
                       + source[end:])
    status, out, err = ttfs_subprocess("synth", run_dir, "--target", "ice40")
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("ttfs synth: 1 latch(es) inferred")
    assert not (run_dir / "synth.json").exists()
    assert (run_dir / "synth" / "ice40" / "yosys.log").is_file()


def test_synth_cmd_reports_a_device_of_another_target_in_one_line(run_dir, ttfs_subprocess):
    status, _, err = ttfs_subprocess("synth", run_dir, "--target", "ecp5", "--device", "up5k")
    assert status == 2
    assert err == ("ttfs: error: device for ecp5 must be one of 12k, 25k, 45k, 85k, "
                   "not 'up5k'\n")


def test_synth_cmd_reports_a_missing_run(tmp_path, ttfs_subprocess):
    status, _, err = ttfs_subprocess("synth", tmp_path / "nothing")
    assert status == 2 and "nothing: no such run directory" in err


def test_synth_cmd_refuses_an_export_older_than_the_network(run_dir, ttfs_subprocess):
    verilog, _ = write_verilog(NetworkTop(network_io.load(run_dir), lanes=2), run_dir / "verilog")
    later = verilog.stat().st_mtime + 5
    os.utime(run_dir / "network.json", (later, later))   # quantized again after the export
    status, out, err = ttfs_subprocess("synth", run_dir, "--target", "generic")
    assert status == 2 and err.count("\n") == 1
    assert err == (f"ttfs: error: {verilog} is older than {run_dir / 'network.json'}: it may "
                   f"hold an earlier network; rerun `ttfs export-verilog {run_dir}` (with the "
                   f"--lanes you want), then `ttfs synth`\n")
    assert not (run_dir / "synth.json").exists()
