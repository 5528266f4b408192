"""Verilog export of a network top, with a JSON sidecar describing its ports and parameters.

The Verilog is what :func:`amaranth.back.verilog.convert` emits for a
:class:`~hardware.rtl.top.NetworkTop`, with the weights in memory initialisers, plus one
line per module that makes it start correctly on event-driven simulators
(:func:`fix_time_zero`); it has no `` `timescale `` (simulators are given one). The sidecar
``<name>.json`` records the schema version, the top module's name, every port (name,
direction, width) and the parameters, so that a test bench or a synthesis script needs
nothing but these two files.
"""
import json
import re
import subprocess
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from hardware import tools
from mapping.files import write_text

from .top import NetworkTop

__all__ = ["SCHEMA_VERSION", "TOP_NAME", "write_verilog", "ports", "fix_time_zero"]

SCHEMA_VERSION = 1
TOP_NAME = "ttfs_top"


def ports(top):
    """The Verilog ports of ``top``: a list of ``{"name", "direction", "width"}``."""
    result = []
    for path, member, value in top.signature.flatten(top):
        name = "__".join(str(part) for part in path)
        direction = "input" if member.flow == wiring.In else "output"
        result.append({"name": name, "direction": direction, "width": len(value)})
    return result


def _convert(top, name):
    from amaranth._toolchain.yosys import YosysError
    from wasmtime import WasmtimeError

    try:
        return verilog.convert(top, name=name, emit_src=False)
    except (OSError, YosysError, WasmtimeError) as exc:
        # yosys runs as WebAssembly and writes its own temporary files: a full disk or a
        # file-size limit surfaces here as the runtime's error
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = re.sub(r"^[\w.]+Error: ", "", lines[-1]) if lines else type(exc).__name__
        raise RuntimeError(f"Verilog conversion by yosys failed: {detail}") from None


#: ``reg <name> = 0;`` of the register Yosys adds so that ``always @*`` blocks run at time 0.
_KICK = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$",
                   re.MULTILINE)


def fix_time_zero(text):
    """``text`` (Verilog from Yosys) with each module's time-0 trigger fired after time 0.

    Yosys makes every ``always @*`` block read a register initialised to 0 in its
    declaration, expecting the initialisation to run the blocks once at time 0. Icarus 11
    performs declaration initialisations before any process starts (SystemVerilog
    semantics), so a block whose inputs never change afterwards keeps ``x``. An
    ``initial #0`` that sets the register to 1 runs once every block waits on its inputs.
    Verilator settles every block at time 0 by itself, and refuses a delay unless told
    ``--timing`` or ``--no-timing``, so the line is left out for it (`` `ifndef VERILATOR ``);
    Yosys ignores it (the synthesized netlist is the same). Returns ``(text, number of
    modules fixed)``.
    """
    return _KICK.subn(lambda m: f"{m.group(0)}\n`ifndef VERILATOR  // Icarus: see "
                                f"hardware/rtl/export.py, fix_time_zero\n"
                                f"{m.group(1)}initial #0 {m.group(2)}= 1;\n`endif", text)


def write_verilog(top, out_dir, *, name=TOP_NAME):
    """Write ``<name>.v`` and ``<name>.json`` for a :class:`NetworkTop` into ``out_dir``.

    Returns the paths of the Verilog file and of the sidecar.
    """
    if not isinstance(top, NetworkTop):
        raise TypeError(f"write_verilog takes a NetworkTop, not {type(top).__name__}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sidecar = {
        "schema_version": SCHEMA_VERSION,
        "top": name,
        "ports": ports(top),
        "clock": "clk",
        "reset": "rst",
        "parameters": top.parameters(),
        "network_meta": top.network.meta,
    }
    text, _ = fix_time_zero(_convert(top, name))
    verilog_path, json_path = out_dir / f"{name}.v", out_dir / f"{name}.json"
    write_text(verilog_path, text)
    write_text(json_path, json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return verilog_path, json_path


#: Verilator warnings that the Verilog emitted by Amaranth's Yosys back end trips, and why
#: they cannot be fixed in the Amaranth source (see docs/rtl.md).
LINT_WAIVERS = {
    "CASEINCOMPLETE": "Yosys writes FSM and Array selections as `casez` without a default; "
                      "the signals hold their previous value, which is the intended logic",
    "WIDTHEXPAND": "Yosys emits each operand at its own width and relies on Verilog's "
                   "context-determined extension (signed where Amaranth says signed)",
    "WIDTHTRUNC": "Yosys writes the FSM idle test as `! fsm_state` on a multi-bit state",
}


class LintError(RuntimeError):
    """Verilator found problems beyond the waived ones."""


def lint(verilog_path):
    """Run ``verilator --lint-only`` with :data:`LINT_WAIVERS` on ``verilog_path``.

    Returns the warning counts of the waived categories (found by a second run without the
    waivers). Raises :class:`LintError` with Verilator's report if the waived run fails,
    :class:`hardware.tools.SimulatorMissing` if Verilator is absent.
    """
    tools.require("verilator")
    waived = [f"-Wno-{name}" for name in LINT_WAIVERS]
    strict = subprocess.run(["verilator", "--lint-only", *waived, str(verilog_path)],
                            capture_output=True, text=True)
    if strict.returncode != 0:
        raise LintError(f"verilator --lint-only {' '.join(waived)} {verilog_path} failed:\n"
                        f"{strict.stderr[-4000:]}")
    plain = subprocess.run(["verilator", "--lint-only", "-Wno-fatal", str(verilog_path)],
                           capture_output=True, text=True)
    counts = {name: 0 for name in LINT_WAIVERS}
    for name in re.findall(r"%Warning-([A-Z]+):", plain.stderr):
        counts[name] = counts.get(name, 0) + 1
    return counts
