"""From an exported core to an iCE40 bitstream (hardware/fpga.py), and what fails how."""
import json
import math

import pytest

from hardware import fpga, pnr, synth
from hardware.rtl.cases import CaseSpec, random_network
from hardware.rtl.export import write_verilog
from hardware.rtl.top import NetworkTop

SPEC = CaseSpec(sizes=(12, 6, 3), weight_bits=4, steps=8, seed=3)
#: keys agreed with the energy report (docs/synth.md)
INTERFACE = ("target", "device", "cells", "luts", "flip_flops", "block_rams", "block_ram_bits",
             "distributed_rams", "dsps", "fmax_MHz")


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    verilog, _ = write_verilog(NetworkTop(random_network(SPEC), lanes=2),
                               tmp_path_factory.mktemp("core") / "verilog")
    return verilog


@pytest.fixture(scope="module")
def placed(core):
    """The core synthesized, placed and routed on an UP5K, and packed into a bitstream."""
    out = core.parent.parent / "synth" / "ice40"
    return fpga.implement(core, out, fpga.FpgaConfig(target="ice40", device="up5k"),
                          relative_to=core.parent.parent), out


@pytest.mark.yosys
@pytest.mark.nextpnr
def test_fpga_ice40_places_routes_and_packs_a_bitstream(placed, core):
    doc, out = placed
    assert all(key in doc for key in INTERFACE)
    assert (doc["target"], doc["device"], doc["pnr"]["package"]) == ("ice40", "up5k", "sg48")
    assert json.loads(json.dumps(doc)) == doc
    assert 1 < doc["fmax_MHz"] < 500 and math.isfinite(doc["fmax_MHz"])
    cells = doc["utilisation"]["ICESTORM_LC"]
    assert cells["available"] == 5280
    # memories and multipliers are listed even when unused: weights are initialised ROMs,
    # and Yosys's SPRAM rule has no initial contents
    assert doc["utilisation"]["ICESTORM_RAM"] == {"used": doc["block_rams"], "available": 30}
    assert doc["utilisation"]["ICESTORM_SPRAM"] == {"used": 0, "available": 4}
    assert doc["utilisation"]["ICESTORM_DSP"] == {"used": 0, "available": 8}
    # every LUT and flip-flop of the core and the wrapper sits in a logic cell
    assert cells["used"] >= max(doc["luts"] + doc["io_wrapper"]["luts"],
                                doc["flip_flops"] + doc["io_wrapper"]["flip_flops"])
    assert doc["io_wrapper"]["flip_flops"] == sum(
        p["width"] for p in json.loads(core.with_suffix(".json").read_text())["ports"])
    assert doc["bitstream"] == "synth/ice40/ttfs_top.bin"
    bitstream = (out / "ttfs_top.bin").read_bytes()
    assert bitstream[:8] == bytes.fromhex("ff0000ff7eaa997e")   # iCE40 preamble
    assert doc["logs"] == {"yosys": "synth/ice40/yosys.log", "nextpnr": "synth/ice40/nextpnr.log"}
    assert doc["weight_memories"]["total"] == 2
    page = fpga.summary_markdown(doc)
    assert f"**{doc['fmax_MHz']:.2f} MHz**" in page and "weight memories" in page
    assert "`ttfs_top.layer1.core0`" in page


@pytest.mark.yosys
@pytest.mark.nextpnr
def test_fpga_says_by_how_much_a_design_misses_a_small_device(placed, tmp_path):
    _, out = placed
    with pytest.raises(pnr.DoesNotFit, match=r"^the design does not fit the iCE40 LP384: "
                                             r"ICESTORM_RAM \d+ of 0 \(\d+ over\): "
                                             r"fewer weight bits"):
        pnr.place_and_route(out / "netlist.json", tmp_path, device="lp384")


@pytest.mark.yosys
def test_fpga_failed_synthesis_keeps_its_log_in_place(core, tmp_path):
    broken = tmp_path / "verilog" / "ttfs_top.v"
    broken.parent.mkdir()
    broken.write_text(core.read_text().replace("endmodule", "endmodule\nmodule", 1))
    broken.with_suffix(".json").write_text(core.with_suffix(".json").read_text())
    with pytest.raises(synth.SynthesisError, match=r"^yosys failed: .*\(logs in .*synth/ecp5\)$"):
        fpga.implement(broken, tmp_path / "synth" / "ecp5", fpga.FpgaConfig(target="ecp5"))
    assert (tmp_path / "synth" / "ecp5" / "yosys.log").is_file()
    assert [p.name for p in (tmp_path / "synth").iterdir()] == ["ecp5"]   # nothing staged left


def test_fpga_config_checks_target_device_and_clock():
    assert fpga.FpgaConfig(target="ice40").device == "up5k"
    assert fpga.FpgaConfig(target="ecp5").device == "85k"
    assert fpga.FpgaConfig(target="generic").device is None
    assert not fpga.FpgaConfig(target="ecp5").place_and_route
    with pytest.raises(ValueError, match="^device for ecp5 must be one of 12k, 25k, 45k, 85k, "
                                         "not 'up5k'$"):
        fpga.FpgaConfig(target="ecp5", device="up5k")
    with pytest.raises(ValueError, match=r"^device for generic must be one of none \(omit "
                                         r"--device\), not 'hx8k'$"):
        fpga.FpgaConfig(target="generic", device="hx8k")
    with pytest.raises(ValueError, match="^freq_MHz must be a positive number, not 0$"):
        fpga.FpgaConfig(freq_MHz=0)


def test_fpga_rejects_a_verilog_without_its_sidecar(tmp_path):
    (tmp_path / "ttfs_top.v").write_text("module ttfs_top(); endmodule\n")
    with pytest.raises(ValueError, match="ttfs_top.json: not a readable export sidecar"):
        fpga.implement(tmp_path / "ttfs_top.v", tmp_path / "out")
