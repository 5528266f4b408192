"""``ttfs export-verilog`` and ``ttfs cosim``: the digital core of a quantized run.

``ttfs export-verilog runs/NAME [--out DIR] [--lanes N] [--testbench N]`` writes
``ttfs_top.v`` (the network top with the run's weights) and ``ttfs_top.json`` (ports and
parameters) into ``DIR`` (default ``runs/NAME/verilog``), lints the Verilog with Verilator
when it is installed, and with ``--testbench N`` adds a self-checking Verilog testbench of
the first ``N`` test images (from ``--offset``) that runs without Python.
``ttfs cosim runs/NAME --sim icarus|verilator --samples N`` co-simulates the first ``N``
test images (from ``--offset``) on the exported Verilog against the reference simulator,
building in ``runs/NAME/cosim_build/SIM``, and writes ``runs/NAME/cosim.json`` (or
``--out``); a mismatch exits 1 and names the first differing event.
"""
from hardware import tools

from . import rtl_stage
from .rtl_stage import DEFAULT_LANES


def _lanes(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--lanes takes an integer or one per layer, not {text!r}") from None
    if any(value < 1 for value in values):
        raise ValueError(f"--lanes must be positive integers, not {text!r}")
    return values[0] if len(values) == 1 else values


def _export(args):
    config = rtl_stage.ExportConfig(out=args.out, lanes=_lanes(args.lanes),
                                    testbench=args.testbench, offset=args.offset,
                                    dataset=args.dataset, data_dir=args.data_dir)
    result = rtl_stage.export_verilog(args.run, config)
    params = result.parameters
    print(f"wrote {result.verilog} and {result.sidecar}: sizes {params['sizes']}, "
          f"K={params['steps']}, {len(params['cores'])} cores, lanes {params['lanes']}")
    if result.lint is not None:
        print("verilator --lint-only: clean apart from the documented waivers ("
              + ", ".join(f"{name} x{count}" for name, count in result.lint.items()) + ")")
    else:
        print(f"verilator not installed, lint skipped ({tools.INSTALL_HINT['verilator']})")
    bench = result.testbench
    if bench is not None:
        print(f"wrote {bench.verilog} and {len(bench.hex_files)} hex files: test images "
              f"{result.indices[0]}..{result.indices[-1]}, checking output spike steps, "
              f"prediction and {len(bench.checked)} counters"
              + (f" (not checked, no reference value: {', '.join(bench.unchecked)})"
                 if bench.unchecked else ""))
        print(f"run it: cd {bench.verilog.parent} && iverilog -g2012 -o tb.vvp "
              f"{result.verilog.name} {bench.verilog.name} && vvp -n tb.vvp")
    return 0


def _cosim(args):
    config = rtl_stage.CosimConfig(sim=args.sim, samples=args.samples, offset=args.offset,
                                   lanes=_lanes(args.lanes), out=args.out, waves=args.waves,
                                   dataset=args.dataset, data_dir=args.data_dir)
    result = rtl_stage.cosimulate(args.run, config)
    doc, out = result.record, result.path
    cycles = [r["cycles"] for r in doc["per_sample"]]
    bound = [r["lower_bound_cycles"] for r in doc["per_sample"]]
    print(f"{args.sim}: {doc['samples']} samples, {doc['mismatches']} mismatches, "
          f"{sum(cycles) / len(cycles):.0f} cycles per inference (lower bound "
          f"{sum(bound) / len(bound):.0f}), {doc['inferences_per_s']:.2f} inferences/s "
          f"simulated; wrote {out}")
    if doc["mismatches"]:
        print(f"first mismatch: {doc['first_mismatch']}")
        return 1
    return 0


def add_parser(subparsers):
    summary = __doc__.split("\n\n")[0]
    p = subparsers.add_parser("export-verilog", help="Verilog of a run's network top",
                              description=summary)
    p.add_argument("run", help="run directory (runs/NAME) with a quantized network")
    p.add_argument("--out", default=None, help="output directory (default RUN/verilog)")
    p.add_argument("--lanes", default=str(DEFAULT_LANES),
                   help=f"neurons per core and cycle, one value or one per layer "
                        f"(default {DEFAULT_LANES})")
    p.add_argument("--testbench", type=int, default=0, metavar="N",
                   help="also write a self-checking Verilog testbench (ttfs_top_tb.v and hex "
                        "files) of N test images (default 0: none)")
    p.add_argument("--offset", type=int, default=0,
                   help="first test image of the testbench (default 0)")
    p.add_argument("--dataset", default=None,
                   help="mnist or fashion-mnist (default: the run's)")
    p.add_argument("--data-dir", default=None,
                   help="data directory (default: $TTFS_DATA or ./data)")
    p.set_defaults(handler=_export)

    p = subparsers.add_parser("cosim", help="co-simulate the Verilog against the reference",
                              description=summary)
    p.add_argument("run", help="run directory (runs/NAME) with a quantized network")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus")
    p.add_argument("--samples", type=int, default=10, help="test images (default 10)")
    p.add_argument("--offset", type=int, default=0, help="first test image (default 0)")
    p.add_argument("--lanes", default=str(DEFAULT_LANES),
                   help=f"as for export-verilog (default {DEFAULT_LANES})")
    p.add_argument("--out", default=None, help="record to write (default RUN/cosim.json)")
    p.add_argument("--waves", action="store_true",
                   help="dump waveforms into the build directory (large)")
    p.add_argument("--dataset", default=None,
                   help="mnist or fashion-mnist (default: the run's)")
    p.add_argument("--data-dir", default=None,
                   help="data directory (default: $TTFS_DATA or ./data)")
    p.set_defaults(handler=_cosim)
