"""``ttfs export-verilog`` and ``ttfs cosim``: the digital core of a quantized run.

``ttfs export-verilog runs/NAME [--out DIR] [--lanes N]`` writes ``ttfs_top.v`` (the network
top with the run's weights) and ``ttfs_top.json`` (ports and parameters) into ``DIR``
(default ``runs/NAME/verilog``) and lints the Verilog with Verilator when it is installed.
``ttfs cosim runs/NAME --sim icarus|verilator --samples N`` co-simulates the first ``N``
test images (from ``--offset``) on the exported Verilog against the reference simulator,
building in ``runs/NAME/cosim_build/SIM``, and writes ``runs/NAME/cosim.json`` (or
``--out``); a mismatch exits 1 and names the first differing event.
"""
import json
import time
from pathlib import Path

from hardware import tools
from mapping import allocation as allocation_io
from mapping import network as network_io
from mapping import reference
from mapping.files import write_text

from . import runs

SCHEMA_VERSION = 1
DEFAULT_LANES = 8


def _lanes(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--lanes takes an integer or one per layer, not {text!r}") from None
    if any(value < 1 for value in values):
        raise ValueError(f"--lanes must be positive integers, not {text!r}")
    return values[0] if len(values) == 1 else values


def _load(run_dir):
    """The run's integer network and its allocation (allocated with default limits if the
    run has no ``allocation.json``)."""
    network = network_io.load(run_dir)
    if (Path(run_dir) / allocation_io.ALLOCATION_FILE).is_file():
        allocation = allocation_io.load(run_dir, network)
    else:
        allocation = allocation_io.allocate(network)
    return network, allocation


def _export(args):
    from hardware.rtl.export import lint, write_verilog
    from hardware.rtl.top import NetworkTop

    network, allocation = _load(args.run)
    out = Path(args.out) if args.out else Path(args.run) / "verilog"
    top = NetworkTop(network, allocation, lanes=_lanes(args.lanes))
    verilog_path, sidecar_path = write_verilog(top, out)
    print(f"wrote {verilog_path} and {sidecar_path}: sizes {network.sizes}, K={network.steps}, "
          f"{len(allocation.cores)} cores, lanes {list(top.lanes)}")
    if tools.available()["verilator"]:
        waived = lint(verilog_path)
        print("verilator --lint-only: clean apart from the documented waivers ("
              + ", ".join(f"{name} x{count}" for name, count in waived.items()) + ")")
    else:
        print(f"verilator not installed, lint skipped ({tools.INSTALL_HINT['verilator']})")
    return 0


def _cosim(args):
    from hardware.rtl.cosim import run_cosim
    from model import data

    if args.samples < 1:
        raise ValueError(f"--samples must be at least 1, not {args.samples}")
    lanes = _lanes(args.lanes)
    if args.out and not Path(args.out).parent.is_dir():
        raise FileNotFoundError(f"--out {args.out}: folder {Path(args.out).parent} does not "
                                f"exist")
    run_dir = Path(args.run)
    network, allocation = _load(run_dir)
    dataset = args.dataset or network.meta.get("dataset", "mnist")
    split = data.load(dataset, "test", root=args.data_dir)
    runs.check_classes(network, split, dataset)
    stop = min(args.offset + args.samples, len(split.labels))
    if args.offset < 0 or args.offset >= stop:
        raise ValueError(f"--offset {args.offset} leaves no sample of the "
                         f"{len(split.labels)} test images")
    indices = list(range(args.offset, stop))
    inputs = reference.encode(network, split.images[args.offset:stop])
    began = time.perf_counter()
    results = run_cosim(network, inputs, run_dir / "cosim_build" / args.sim, sim=args.sim,
                        allocation=allocation, lanes=lanes,
                        waves=args.waves)
    wall = time.perf_counter() - began
    for record, index in zip(results["per_sample"], indices):
        record["index"] = index
        record["label"] = int(split.labels[index])
    doc = {"schema_version": SCHEMA_VERSION, "simulator": args.sim, "dataset": dataset,
           "indices": indices, "wall_s": wall,
           "inferences_per_s": len(indices) / results["simulation_s"], **results}
    out = Path(args.out) if args.out else run_dir / "cosim.json"
    write_text(out, json.dumps(doc, indent=1) + "\n")
    cycles = [r["cycles"] for r in results["per_sample"]]
    bound = [r["lower_bound_cycles"] for r in results["per_sample"]]
    print(f"{args.sim}: {results['samples']} samples, {results['mismatches']} mismatches, "
          f"{sum(cycles) / len(cycles):.0f} cycles per inference (lower bound "
          f"{sum(bound) / len(bound):.0f}), {doc['inferences_per_s']:.2f} inferences/s "
          f"simulated; wrote {out}")
    if results["mismatches"]:
        print(f"first mismatch: {results['first_mismatch']}")
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
