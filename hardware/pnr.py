"""iCE40 place and route with nextpnr-ice40, and the bitstream with IceStorm's icepack.

The core's ports (address-event streams, prediction, event counters: a few hundred bits)
outnumber the pins of an iCE40 package (39 user I/O on the UP5K's SG48), so the placed
design is the core inside :func:`io_wrapper`: a scan chain that shifts the inputs in
through one pin and captures all outputs into a shift register read out through another.
The wrapper keeps every output of the core observable (Yosys removes nothing), adds one
LUT and one flip-flop per port bit, and puts a flip-flop at each end of every path, so it
lengthens no path of the core; its cells are reported apart from the core's.
"""
import json
import re
import subprocess
import time
from pathlib import Path

from hardware import tools

__all__ = ["ICE40_DEVICES", "WRAPPER_NAME", "DoesNotFit", "PlaceAndRouteError", "io_wrapper",
           "place_and_route", "pack_bitstream", "nextpnr_version"]

#: iCE40 devices nextpnr-ice40 knows, with the package used (nextpnr's default for each).
ICE40_DEVICES = {"up5k": "sg48", "up3k": "sg48", "hx8k": "ct256", "hx4k": "tq144",
                 "hx1k": "tq144", "lp8k": "cm81", "lp4k": "cm81", "lp1k": "tq144",
                 "lp384": "qn32"}
WRAPPER_NAME = "ttfs_fpga"
#: Resources listed in the utilisation even when unused (where the device has them): the
#: memories and multipliers a reader looks for (others only when used).
ALWAYS_REPORTED = ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_SPRAM", "ICESTORM_DSP")
#: 4-kbit block RAMs (SB_RAM40_4K) of each device (Lattice iCE40 family data sheets):
#: nextpnr-ice40 aborts without an error line on a design that needs more than a device has.
ICE40_BLOCK_RAMS = {"up5k": 30, "up3k": 30, "hx8k": 32, "hx4k": 32, "hx1k": 16, "lp8k": 32,
                    "lp4k": 32, "lp1k": 16, "lp384": 0}

#: What lowers the use of each nextpnr resource, for the error when a design does not fit.
_KNOBS = {
    "ICESTORM_LC": "fewer lanes (`ttfs export-verilog --lanes`), fewer or smaller cores "
                   "(a smaller hidden layer, a larger `ttfs quantize --max-neurons`), or a "
                   "larger device",
    "ICESTORM_RAM": "fewer weight bits (`ttfs quantize --weight-bits`), a smaller layer, or "
                    "a larger device",
}


class PlaceAndRouteError(RuntimeError):
    """nextpnr or icepack failed; the message is one line."""


class DoesNotFit(PlaceAndRouteError):
    """The design needs more of a resource than the device has."""


def nextpnr_version():
    """``nextpnr-ice40 --version`` (e.g. ``nextpnr-ice40 -- ... (Version 0.4-1+b1)``)."""
    tools.require("nextpnr")
    result = subprocess.run(["nextpnr-ice40", "--version"], capture_output=True, text=True)
    return (result.stdout + result.stderr).strip().splitlines()[0]


def io_wrapper(ports, *, top, clock="clk", reset="rst"):
    """Verilog of module :data:`WRAPPER_NAME` holding ``top`` behind a scan chain.

    ``ports`` is the export sidecar's list of ``{"name", "direction", "width"}`` (clock and
    reset excluded). Pins: ``clk``, ``rst``, ``scan_in`` with ``scan_en`` (shift the input
    chain by one), ``capture`` (load all outputs; otherwise they shift out) and ``scan_out``.
    """
    inputs = [p for p in ports if p["direction"] == "input"]
    outputs = [p for p in ports if p["direction"] == "output"]
    if not inputs or not outputs:
        raise ValueError(f"the wrapper needs inputs and outputs, got {len(inputs)} inputs "
                         f"and {len(outputs)} outputs")
    n_in = sum(p["width"] for p in inputs)
    n_out = sum(p["width"] for p in outputs)
    connections, offset_in, offset_out = [], 0, 0
    for port in ports:
        if port["direction"] == "input":
            bits, offset_in = (offset_in, offset_in + port["width"]), offset_in + port["width"]
            connections.append(f"    .{port['name']}(chain_in[{bits[1] - 1}:{bits[0]}])")
        else:
            bits, offset_out = (offset_out, offset_out + port["width"]), offset_out + port["width"]
            connections.append(f"    .{port['name']}(core_out[{bits[1] - 1}:{bits[0]}])")
    return "\n".join([
        f"// Scan-chain wrapper of {top} for place and route (hardware/pnr.py).",
        f"module {WRAPPER_NAME}(input clk, input rst, input scan_in, input scan_en,",
        "                input capture, output scan_out);",
        f"  reg [{n_in - 1}:0] chain_in = 0;",
        f"  reg [{n_out - 1}:0] chain_out = 0;",
        f"  wire [{n_out - 1}:0] core_out;",
        "  always @(posedge clk) if (scan_en) chain_in <= "
        + (f"{{chain_in[{n_in - 2}:0], scan_in}};" if n_in > 1 else "scan_in;"),
        "  always @(posedge clk) chain_out <= capture ? core_out : "
        + (f"{{1'b0, chain_out[{n_out - 1}:1]}};" if n_out > 1 else "1'b0;"),
        "  assign scan_out = chain_out[0];",
        f"  {top} core(",
        f"    .{clock}(clk), .{reset}(rst),",
        ",\n".join(connections),
        "  );",
        "endmodule",
        "",
    ])


def place_and_route(netlist, work_dir, *, device, freq_MHz=12.0, seed=1):
    """Place and route a flattened Yosys JSON ``netlist`` on an iCE40 ``device``.

    Writes ``nextpnr.log``, ``nextpnr_report.json`` and ``design.asc`` into ``work_dir``.

    Returns
    -------
    dict
        ``device``, ``package``, ``nextpnr`` (version), ``utilisation`` ({resource: {"used",
        "available"}}, nextpnr's names, unused resources left out), ``fmax_MHz`` (the
        achieved maximum clock frequency of ``clk``, from nextpnr's timing analysis),
        ``target_MHz``, ``seed``, ``wall_s``.

    Raises
    ------
    DoesNotFit
        naming the resource, by how much it is exceeded, and what helps.
    PlaceAndRouteError
        if nextpnr fails otherwise.
    """
    if device not in ICE40_DEVICES:
        raise ValueError(f"iCE40 device must be one of {', '.join(ICE40_DEVICES)}, "
                         f"not {device!r}")
    if not freq_MHz > 0:
        raise ValueError(f"freq_MHz must be positive, not {freq_MHz!r}")
    version = nextpnr_version()
    rams = _block_rams(netlist)
    if rams > ICE40_BLOCK_RAMS[device]:
        raise DoesNotFit(_not_fit_message(
            {"ICESTORM_RAM": {"used": rams, "available": ICE40_BLOCK_RAMS[device]}}, device))
    work_dir = Path(work_dir)
    log, report = work_dir / "nextpnr.log", work_dir / "nextpnr_report.json"
    began = time.perf_counter()
    result = subprocess.run(
        ["nextpnr-ice40", f"--{device}", "--package", ICE40_DEVICES[device], "--json",
         str(netlist), "--asc", str(work_dir / "design.asc"), "--report", str(report),
         "--freq", str(freq_MHz), "--seed", str(seed), "--timing-allow-fail", "-q",
         "-l", str(log)],
        capture_output=True, text=True)
    wall = time.perf_counter() - began
    text = log.read_text(errors="replace") if log.is_file() else ""
    used = _utilisation_from_log(text)
    over = {name: u for name, u in used.items() if u["used"] > u["available"]}
    if over:
        raise DoesNotFit(_not_fit_message(over, device))
    if result.returncode != 0:
        errors = [l for l in (text + result.stderr).splitlines() if l.startswith("ERROR:")]
        raise PlaceAndRouteError(f"nextpnr-ice40 failed: "
                                 f"{errors[0][6:].strip() if errors else 'no error line'}")
    doc = json.loads(report.read_text())
    clocks = {name: value for name, value in doc.get("fmax", {}).items()}
    fmax = next((v["achieved"] for name, v in sorted(clocks.items()) if "clk" in name), None)
    return {
        "device": device, "package": ICE40_DEVICES[device], "nextpnr": version,
        "utilisation": {name: value for name, value in sorted(doc["utilization"].items())
                        if value["used"] or (name in ALWAYS_REPORTED and value["available"])},
        "fmax_MHz": fmax, "target_MHz": freq_MHz, "seed": seed, "wall_s": wall,
    }


def _block_rams(netlist):
    """Number of SB_RAM40_4K cells in a Yosys JSON netlist."""
    modules = json.loads(Path(netlist).read_text()).get("modules", {})
    return sum(cell.get("type") == "SB_RAM40_4K" for module in modules.values()
               for cell in module.get("cells", {}).values())


def _utilisation_from_log(text):
    """``{resource: {"used", "available"}}`` from the last "Device utilisation" block."""
    found = {}
    for name, used, available in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%$", text,
                                            re.M):
        found[name] = {"used": int(used), "available": int(available)}
    return found


def _not_fit_message(over, device):
    parts = []
    for name, u in sorted(over.items()):
        knob = _KNOBS.get(name, "a larger device")
        share = f"{u['used'] / u['available']:.0%}, " if u["available"] else ""
        parts.append(f"{name} {u['used']} of {u['available']} "
                     f"({share}{u['used'] - u['available']} over): {knob}")
    return f"the design does not fit the iCE40 {device.upper()}: " + "; ".join(parts)


def pack_bitstream(asc, out):
    """``icepack asc out``: the binary bitstream; raises :class:`PlaceAndRouteError`."""
    tools.require("nextpnr")
    result = subprocess.run(["icepack", str(asc), str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        raise PlaceAndRouteError(f"icepack failed: {result.stderr.strip()[-300:]}")
    return Path(out)
