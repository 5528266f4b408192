"""FPGA synthesis of an exported core with the system Yosys.

One pass list per target, run by one Yosys process:

1. ``read_verilog``, ``hierarchy -check``, ``proc``; any latch (``$dlatch``) stops Yosys
   here: latches are never intended in the core, and :func:`synthesize` raises
   :class:`SynthesisError` naming the signals ``proc_dlatch`` reported;
2. the target's synthesis script (``synth_ice40``, ``synth_ecp5``, or the generic
   ``synth -lut 4``) up to memory mapping, hierarchy kept (``-noflatten``) so that every
   module of the core (each layer, each core, each spike list) is counted on its own;
3. the inferred memories are written out (``mems.il``) before mapping, so the report can
   say what each one became;
4. the rest of the script maps memories, gates, flip-flops and LUTs; ``stat -json`` counts
   the cells of every module; ``check -assert`` fails on driver conflicts and loops; the
   flattened netlist is written for place and route.

The generic target keeps memories as abstract ``$mem_v2`` cells (no RAM library to map them
to) and maps logic to 4-input LUTs. Keeping the hierarchy costs a little optimisation across
module boundaries (see docs/synth.md for the measured difference)."""
import json
import re
import subprocess
import time
from pathlib import Path

from hardware import tools

__all__ = ["TARGETS", "SynthesisError", "synthesize", "yosys_version", "subtree_cells",
           "resources"]

TARGETS = ("generic", "ice40", "ecp5")

#: Cell types of each target, by resource. An ECP5 CCU2C is two LUT4s with their carry.
_LUT = {"generic": {"$lut": 1}, "ice40": {"SB_LUT4": 1}, "ecp5": {"LUT4": 1, "CCU2C": 2}}
_BRAM = {"generic": {}, "ice40": {"SB_RAM40_4K": 4096, "SB_SPRAM256KA": 262144},
         "ecp5": {"DP16KD": 18432, "PDPW16KD": 18432}}
_DRAM = {"generic": (), "ice40": (), "ecp5": ("TRELLIS_DPR16X4",)}
_DSP = {"generic": (), "ice40": ("SB_MAC16",), "ecp5": ("MULT18X18D", "ALU54B")}
_FF = re.compile(r"^(\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DFFSR)\w*|SB_DFF\w*|TRELLIS_FF)$")


class SynthesisError(RuntimeError):
    """Yosys failed, or the design has latches; the message is one line."""


def yosys_version():
    """``yosys -V`` (e.g. ``Yosys 0.23 (git sha1 7ce5011c24b)``)."""
    tools.require("yosys")
    return subprocess.run(["yosys", "-V"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _script(verilog_paths, top, target, work_dir, *, spram):
    reads = "; ".join(f"read_verilog {Path(p).resolve()}" for p in verilog_paths)
    mems = f"write_rtlil -selected {work_dir / 'mems.il'}"
    if target == "generic":
        head = f"synth -top {top} -lut 4 -run :fine"
        tail = ("opt -fast -full; opt -full; techmap; opt -fast; abc -fast -lut 4; opt -fast; "
                "hierarchy -check")
    else:
        options = f"-top {top} -noflatten" + (" -spram" if spram else "")
        head = f"synth_{target} {options} -run :map_ram"
        tail = f"synth_{target} {options} -run map_ram:"
    stat = f"tee -q -o {work_dir / 'stat.json'} stat -json"
    return (f"{reads}; hierarchy -check -top {top}; proc; "
            f"select -assert-none t:$dlatch t:$adlatch t:$dlatchsr; "
            f"{head}; select t:$mem_v2; {mems}; "
            f"select -clear; {tail}; {stat}; check -assert; "
            f"flatten; opt_clean; write_json {work_dir / 'netlist.json'}")


def synthesize(verilog_paths, work_dir, *, target, top="ttfs_top", spram=False):
    """Synthesize ``verilog_paths`` (top module ``top``) for ``target`` in ``work_dir``.

    Writes ``yosys.log``, ``mems.il`` (the memories before mapping), ``stat.json`` and the
    flattened ``netlist.json`` into ``work_dir``.

    Returns
    -------
    dict
        ``cells_by_type`` and :func:`resources` of the whole design (``cells``, ``luts``,
        ``flip_flops``, ``block_rams``, ``block_ram_bits``, ``distributed_rams``, ``dsps``),
        ``modules`` (the same per module, submodules included), ``memories`` (name, width,
        depth, bits, read ``sync``/``async``, what it was mapped to), ``latches`` (always
        empty: latches raise), ``yosys`` (version) and ``wall_s``.

    Raises
    ------
    ValueError
        if ``target`` is unknown or a file is missing.
    SynthesisError
        if Yosys fails (its first error line) or infers a latch (the signals).
    hardware.tools.SimulatorMissing
        if ``yosys`` is not installed.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    for path in verilog_paths:
        if not Path(path).is_file():
            raise ValueError(f"{path}: no such Verilog file")
    version = yosys_version()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "yosys.log"
    began = time.perf_counter()
    result = subprocess.run(
        ["yosys", "-q", "-l", str(log), "-p",
         _script(verilog_paths, top, target, work_dir, spram=spram)],
        capture_output=True, text=True)
    wall = time.perf_counter() - began
    text = log.read_text(errors="replace") if log.is_file() else ""
    latches = sorted(set(re.findall(r"^Latch inferred for signal `(.+?)' from process", text,
                                    re.M)))
    if latches:
        raise SynthesisError(f"{len(latches)} latch(es) inferred, the core must have none: "
                             f"{', '.join(latches[:5])}{' ...' if len(latches) > 5 else ''}")
    if result.returncode != 0:
        raise SynthesisError(f"yosys failed: {_first_error(text + result.stderr)}")
    stat = _stat_modules((work_dir / "stat.json").read_text())
    modules = {name.lstrip("\\"): m["num_cells_by_type"] for name, m in stat.items()}
    memories = _memories((work_dir / "mems.il").read_text(), text, target)
    if target == "generic":
        for memory in memories:   # abstract memories: count them by read kind (resources)
            own = modules[memory["module"]]
            own[f"$mem_v2:{memory['read']}"] = own.get(f"$mem_v2:{memory['read']}", 0) + 1
            if memory["read"] == "sync":
                own["$mem_v2:sync_bits"] = own.get("$mem_v2:sync_bits", 0) + memory["bits"]
    totals = {name: subtree_cells(modules, name) for name in modules}
    design = totals[top]
    return {
        "yosys": version, "wall_s": wall, **resources(design, target),
        "cells_by_type": {kind: n for kind, n in sorted(design.items()) if ":" not in kind},
        "modules": {name: resources(cells, target) for name, cells in sorted(totals.items())},
        "memories": memories, "latches": latches,
    }


def _stat_modules(text):
    """The ``"modules"`` object of ``stat -json`` output. Yosys 0.23 prints the design
    hierarchy as plain text after it (not JSON), so only that object is decoded."""
    start = text.find("{", text.index('"modules":'))
    return json.JSONDecoder().raw_decode(text, start)[0]


def _first_error(text):
    for line in text.splitlines():
        if line.startswith("ERROR:"):
            return line[len("ERROR:"):].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def subtree_cells(modules, name):
    """Cell counts by type of module ``name`` with its submodules expanded.

    ``modules`` maps each module name to its own ``num_cells_by_type`` (from ``stat
    -json``), where an instance of a submodule is a cell whose type is the module's name.
    """
    total = {}
    for kind, count in modules[name].items():
        sub = kind.lstrip("\\")
        parts = subtree_cells(modules, sub) if sub in modules else {kind: 1}
        for part, n in parts.items():
            total[part] = total.get(part, 0) + n * count
    return total


def resources(cells, target):
    """The FPGA resources of a cell count ``{type: count}`` for ``target``.

    ``luts`` counts logic LUT4s (an ECP5 CCU2C carry cell is two), ``block_ram_bits`` the
    capacity of the block RAMs used (4 kbit per iCE40 SB_RAM40_4K, 256 kbit per SPRAM,
    18 kbit per ECP5 DP16KD). For the generic target memories stay abstract: those read
    synchronously count as block RAMs with their own bits, the others as distributed RAMs.
    """
    luts = sum(count * _LUT[target].get(kind, 0) for kind, count in cells.items())
    if target == "generic":
        block, block_bits, dist = (cells.get("$mem_v2:sync", 0), cells.get("$mem_v2:sync_bits", 0),
                                   cells.get("$mem_v2:async", 0))
    else:
        block = sum(cells.get(kind, 0) for kind in _BRAM[target])
        block_bits = sum(cells.get(kind, 0) * bits for kind, bits in _BRAM[target].items())
        dist = sum(cells.get(kind, 0) for kind in _DRAM[target])
    return {
        "cells": sum(n for kind, n in cells.items() if not kind.startswith("$mem_v2:")),
        "luts": luts,
        "flip_flops": sum(n for kind, n in cells.items() if _FF.match(kind)),
        "block_rams": block, "block_ram_bits": block_bits, "distributed_rams": dist,
        "dsps": sum(cells.get(kind, 0) for kind in _DSP[target]),
    }


def _memories(rtlil, log, target):
    """The memories before mapping, from ``write_rtlil`` of the ``$mem_v2`` cells, each with
    what ``memory_libmap`` made of it (the log names it ``module.memid``)."""
    mapped = {}
    for name, cell in re.findall(r"^mapping memory (\S+) via (\S+)$", log, re.M):
        mapped[name] = cell.strip("$_").lower()
    for name in re.findall(r"^using FF mapping for memory (\S+)$", log, re.M):
        mapped[name] = "flip-flops"   # a ROM (no write port) becomes logic: see below
    found = []
    for module, body in re.findall(r"^module \\(\S+)\n(.*?)^end$", rtlil, re.M | re.S):
        for cell, params in re.findall(r"cell \$mem_v2 (\S+)\n(.*?)\n\s*end", body, re.S):
            p = dict(re.findall(r"parameter \\(\w+) (\S+)", params))
            memid = p["MEMID"].strip('"').lstrip("\\")
            width, depth = int(p["WIDTH"]), int(p["SIZE"])
            sync = set(p["RD_CLK_ENABLE"].split("'")[1]) == {"1"} if int(p["RD_PORTS"]) else True
            key = f"{module}.{memid}"
            found.append({
                "module": module, "name": memid, "width": width, "depth": depth,
                "bits": width * depth, "read_ports": int(p["RD_PORTS"]),
                "write_ports": int(p["WR_PORTS"]), "read": "sync" if sync else "async",
                "mapped_to": ("logic" if mapped.get(key) == "flip-flops"
                              and not int(p["WR_PORTS"]) else
                              mapped.get(key, "abstract memory" if target == "generic"
                                         else "unknown")),
            })
    return sorted(found, key=lambda m: (m["module"], m["name"]))
