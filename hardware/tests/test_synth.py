"""Yosys synthesis of an exported core (hardware/synth.py): cell counts, memories, errors."""
import re

import pytest

from hardware import synth
from hardware.rtl.cases import CaseSpec, random_network
from hardware.rtl.export import write_verilog
from hardware.rtl.top import NetworkTop

#: a two-layer core small enough to synthesize in seconds
SPEC = CaseSpec(sizes=(12, 6, 3), weight_bits=4, steps=8, seed=3)


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    """The exported Verilog of :data:`SPEC` with 2 lanes."""
    top = NetworkTop(random_network(SPEC), lanes=2)
    verilog, _ = write_verilog(top, tmp_path_factory.mktemp("core"))
    return verilog


def _with_text_before_endmodule(verilog, text, out):
    """A copy of the exported Verilog with ``text`` added at the end of module ttfs_top."""
    source = verilog.read_text()
    start = source.index("module ttfs_top(")
    end = source.index("endmodule", start)
    out.write_text(source[:end] + text + "\n" + source[end:])
    return out


@pytest.mark.yosys
def test_synth_ecp5_counts_every_module_and_says_where_each_memory_went(core, tmp_path):
    result = synth.synthesize([core], tmp_path, target="ecp5")
    assert result["yosys"].startswith("Yosys ")
    assert result["luts"] > 100 and result["flip_flops"] > 50 and result["latches"] == []
    assert result["luts"] == result["cells_by_type"]["LUT4"] + 2 * result["cells_by_type"].get(
        "CCU2C", 0)
    assert result["distributed_rams"] == result["cells_by_type"].get("TRELLIS_DPR16X4", 0)
    modules = result["modules"]
    assert {"ttfs_top", "ttfs_top.layer0", "ttfs_top.layer0.core0", "ttfs_top.layer1.core0",
            "ttfs_top.list0"} <= set(modules)
    # a module's figures include its submodules; the top's are the whole design's
    assert modules["ttfs_top"]["luts"] == result["luts"]
    assert modules["ttfs_top.layer0"]["luts"] >= modules["ttfs_top.layer0.core0"]["luts"] > 0
    names = {(m["module"], m["name"]) for m in result["memories"]}
    assert {("ttfs_top.layer0.core0", "weights"), ("ttfs_top.layer0.core0", "state")} <= names
    for memory in result["memories"]:
        assert memory["bits"] == memory["width"] * memory["depth"]
        assert memory["mapped_to"] in ("ecp5_dp16kd", "trellis_dpr16x4", "flip-flops", "logic")
        if memory["name"] == "weights":   # a ROM: no write port
            assert memory["write_ports"] == 0
    for name in ("yosys.log", "stat.json", "mems.il", "netlist.json"):
        assert (tmp_path / name).is_file()


@pytest.mark.yosys
def test_synth_stops_at_a_latch_and_names_it(core, tmp_path):
    broken = _with_text_before_endmodule(
        core, "  reg debug_hold;\n  always @* if (rst) debug_hold = clk;", tmp_path / "l.v")
    with pytest.raises(synth.SynthesisError,
                       match=r"^1 latch\(es\) inferred, the core must have none: "
                             r"\\ttfs_top\.\\debug_hold$"):
        synth.synthesize([broken], tmp_path / "work", target="generic")
    assert "Latch inferred" in (tmp_path / "work" / "yosys.log").read_text()
    assert not (tmp_path / "work" / "netlist.json").exists()


@pytest.mark.yosys
def test_synth_reports_an_undefined_module_in_one_line(core, tmp_path):
    broken = _with_text_before_endmodule(core, "  no_such_block probe ();", tmp_path / "u.v")
    with pytest.raises(synth.SynthesisError) as info:
        synth.synthesize([broken], tmp_path / "work", target="ice40")
    message = str(info.value)
    assert "\n" not in message
    assert re.match(r"^yosys failed: Module `\\no_such_block' referenced in module "
                    r"`\\ttfs_top' in cell `\\probe' is not part of the design\.$", message)


def test_synth_rejects_an_unknown_target_and_a_missing_file(core, tmp_path):
    with pytest.raises(ValueError, match="^target must be one of generic, ice40, ecp5, "
                                         "not 'xilinx'$"):
        synth.synthesize([core], tmp_path, target="xilinx")
    with pytest.raises(ValueError, match="nothing.v: no such Verilog file$"):
        synth.synthesize([tmp_path / "nothing.v"], tmp_path, target="generic")


def test_synth_subtree_cells_expands_submodules_by_their_count():
    modules = {"top": {"SB_LUT4": 2, "\\top.a": 1, "top.b": 2},
               "top.a": {"SB_LUT4": 3, "SB_DFF": 1},
               "top.b": {"SB_RAM40_4K": 1, "top.a": 1}}
    assert synth.subtree_cells(modules, "top") == {"SB_LUT4": 11, "SB_DFF": 3, "SB_RAM40_4K": 2}


def test_synth_resources_count_each_target_cells():
    assert synth.resources({"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 4, "DP16KD": 2,
                            "TRELLIS_DPR16X4": 5, "MULT18X18D": 1, "PFUMX": 2}, "ecp5") == {
        "cells": 27, "luts": 16, "flip_flops": 4, "block_rams": 2, "block_ram_bits": 36864,
        "distributed_rams": 5, "dsps": 1}
    assert synth.resources({"SB_LUT4": 7, "SB_CARRY": 2, "SB_DFFE": 3, "SB_DFFSR": 1,
                            "SB_RAM40_4K": 1, "SB_SPRAM256KA": 1}, "ice40") == {
        "cells": 15, "luts": 7, "flip_flops": 4, "block_rams": 2,
        "block_ram_bits": 4096 + 262144, "distributed_rams": 0, "dsps": 0}
    assert synth.resources({"$lut": 5, "$_DFF_P_": 2, "$_SDFFE_PP0P_": 1, "$mem_v2": 2,
                            "$mem_v2:sync": 1, "$mem_v2:sync_bits": 96, "$mem_v2:async": 1},
                           "generic") == {
        "cells": 10, "luts": 5, "flip_flops": 3, "block_rams": 1, "block_ram_bits": 96,
        "distributed_rams": 1, "dsps": 0}


def test_synth_stat_modules_ignores_the_hierarchy_text_yosys_0_23_writes_into_its_json():
    text = ('{\n "creator": "Yosys 0.23",\n "modules": {\n  "\\\\top": {"num_cells_by_type": '
            '{"LUT4": 2}}\n },\n       top.core0         1\n "design": {}\n}\n')
    assert synth._stat_modules(text) == {"\\top": {"num_cells_by_type": {"LUT4": 2}}}
