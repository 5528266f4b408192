"""``ttfs synth``: FPGA synthesis, iCE40 place and route and bitstream of a run's core.

``ttfs synth runs/NAME --target generic|ice40|ecp5 [--device D] [--no-pnr]`` synthesizes
the run's exported Verilog (``runs/NAME/verilog/ttfs_top.v``; exported first, with the
default lanes, if missing; refused if older than the run's network) with the system Yosys,
and for iCE40 places and routes it with nextpnr-ice40 and packs a bitstream with icepack.
It writes ``runs/NAME/synth.json`` and ``runs/NAME/synth.md``, and the logs, netlist and
bitstream into ``runs/NAME/synth/TARGET/``. Exit status 1 when the design has latches, Yosys or nextpnr
fails, or it does not fit the device (the message says by how much and what helps).
"""
import json
import sys
from pathlib import Path

from hardware import fpga, pnr, synth
from mapping.allocation import ALLOCATION_FILE
from mapping.files import write_text
from mapping.network import NETWORK_FILE, WEIGHTS_FILE

from . import rtl_stage


def _export_if_missing(run_dir):
    """The run's exported Verilog; exported first (default lanes) when missing. An export
    older than the network it was made from is refused, not synthesized."""
    verilog = run_dir / "verilog" / "ttfs_top.v"
    if verilog.is_file() and verilog.with_suffix(".json").is_file():
        exported = min(verilog.stat().st_mtime, verilog.with_suffix(".json").stat().st_mtime)
        for name in (NETWORK_FILE, WEIGHTS_FILE, ALLOCATION_FILE):
            if (run_dir / name).is_file() and (run_dir / name).stat().st_mtime > exported:
                raise ValueError(f"{verilog} is older than {run_dir / name}: it may hold an "
                                 f"earlier network; rerun `ttfs export-verilog {run_dir}` "
                                 f"(with the --lanes you want), then `ttfs synth`")
        return verilog
    result = rtl_stage.export_verilog(run_dir)
    print(f"wrote {result.verilog} and {result.sidecar} (ttfs export-verilog, lanes "
          f"{result.parameters['lanes']})")
    return result.verilog


def _synth(args):
    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run directory")
    config = fpga.FpgaConfig(target=args.target, device=args.device, pnr=not args.no_pnr,
                             freq_MHz=args.freq, seed=args.seed)
    verilog = _export_if_missing(run_dir)
    out_dir = run_dir / "synth" / config.target
    try:
        doc = fpga.implement(verilog, out_dir, config, relative_to=run_dir)
    except (synth.SynthesisError, pnr.PlaceAndRouteError) as exc:
        print(f"ttfs synth: {exc}", file=sys.stderr)
        return 1
    write_text(run_dir / "synth.json", json.dumps(doc, indent=1) + "\n")
    write_text(run_dir / "synth.md", fpga.summary_markdown(doc))
    where = f"{config.target}" + (f" {config.device}" if config.device else "")
    line = (f"{where}: {doc['luts']} LUTs, {doc['flip_flops']} flip-flops, "
            f"{doc['block_rams']} block RAMs ({doc['block_ram_bits']} bits), "
            f"{doc['distributed_rams']} distributed RAMs, {doc['dsps']} DSPs")
    if doc["fmax_MHz"] is not None:
        cells = doc["utilisation"].get("ICESTORM_LC", {})
        line += (f"; placed: {cells.get('used')}/{cells.get('available')} logic cells, "
                 f"Fmax {doc['fmax_MHz']:.2f} MHz; bitstream {run_dir / doc['bitstream']}")
    print(line)
    if config.target == "ecp5":
        over = [f"{k} {u['used']} of {u['available']}" for k, u in doc["utilisation"].items()
                if u["used"] > u["available"]]
        if over:
            print(f"note: more than the LFE5U-{config.device.upper()}F's data-sheet capacity: "
                  f"{', '.join(over)}")
    w = doc["weight_memories"]
    print(f"weight memories in block RAM: {w['in_ram']} of {w['total']}"
          + (f" (not: {', '.join(m['module'] for m in w['elsewhere'])})" if w["elsewhere"]
             else ""))
    print(f"wrote {run_dir / 'synth.json'}, {run_dir / 'synth.md'} and logs in {out_dir}")
    return 0


def add_parser(subparsers):
    summary = __doc__.split("\n\n")[0]
    p = subparsers.add_parser("synth", help="FPGA synthesis, place and route, bitstream",
                              description=summary)
    p.add_argument("run", help="run directory (runs/NAME) with a quantized network")
    p.add_argument("--target", choices=synth.TARGETS, default="ice40",
                   help="generic (4-input LUTs, memories kept abstract), ice40 (with place "
                        "and route) or ecp5 (synthesis only); default ice40")
    p.add_argument("--device", default=None,
                   help=f"iCE40: {', '.join(pnr.ICE40_DEVICES)} (default up5k); ECP5: "
                        f"{', '.join(fpga.ECP5_DEVICES)} (default 85k)")
    p.add_argument("--no-pnr", action="store_true",
                   help="iCE40: synthesis only, no place and route or bitstream")
    p.add_argument("--freq", type=float, default=12.0,
                   help="iCE40 placer's target clock in MHz (default 12; the achieved "
                        "maximum is reported either way)")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
    p.set_defaults(handler=_synth)
