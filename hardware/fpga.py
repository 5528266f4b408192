"""From an exported core to FPGA figures: synthesis, iCE40 place and route, bitstream.

:func:`implement` runs the passes in order, each only if the one before succeeded:

1. for iCE40, wrap the core in the scan chain of :func:`hardware.pnr.io_wrapper` (the core
   has more port bits than the package has pins);
2. synthesize with Yosys (:func:`hardware.synth.synthesize`), hierarchy kept for per-module
   figures; latches or Yosys errors stop here;
3. iCE40 only (unless ``pnr=False``): place and route with nextpnr-ice40 on the device,
   then pack the bitstream with icepack. A design that does not fit stops here.

All files of one call go into one directory, staged beside it and swapped in at the end,
also when a pass fails (its log then tells why); :func:`implement` returns the JSON-ready
summary that ``ttfs synth`` writes as ``synth.json``.
"""
import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import pnr, synth

__all__ = ["SCHEMA_VERSION", "ECP5_DEVICES", "FpgaConfig", "implement", "summary_markdown"]

SCHEMA_VERSION = 1

#: ECP5 (LFE5U) capacities from Lattice's ECP5 family data sheet (FPGA-DS-02012, table 1.1):
#: LUT4s, 18-kbit block RAMs (sysMEM EBR) and 18x18 multipliers. Synthesis only: nextpnr-ecp5
#: is not packaged in Debian 12, so ECP5 utilisation is the synthesized count over these.
ECP5_DEVICES = {"12k": {"luts": 12288, "block_rams": 32, "dsps": 28},
                "25k": {"luts": 24288, "block_rams": 56, "dsps": 28},
                "45k": {"luts": 43848, "block_rams": 108, "dsps": 72},
                "85k": {"luts": 83640, "block_rams": 208, "dsps": 156}}
DEFAULT_DEVICE = {"generic": None, "ice40": "up5k", "ecp5": "85k"}


@dataclass(frozen=True)
class FpgaConfig:
    """What :func:`implement` builds.

    Members
    -------
    target : "generic", "ice40" or "ecp5"
    device : iCE40 device (:data:`hardware.pnr.ICE40_DEVICES`, default up5k) or ECP5 size
        (:data:`ECP5_DEVICES`, default 85k); None for generic (or for the default)
    pnr : iCE40 only: place and route and pack a bitstream
    freq_MHz : clock the iCE40 placer aims at (the achieved Fmax is reported either way)
    seed : nextpnr's placement seed (results are deterministic for one seed)
    """

    target: str = "ice40"
    device: object = None
    pnr: bool = True
    freq_MHz: float = 12.0
    seed: int = 1

    def __post_init__(self):
        if self.target not in synth.TARGETS:
            raise ValueError(f"target must be one of {', '.join(synth.TARGETS)}, "
                             f"not {self.target!r}")
        devices = {"generic": {}, "ice40": pnr.ICE40_DEVICES, "ecp5": ECP5_DEVICES}[self.target]
        if self.device is None:
            object.__setattr__(self, "device", DEFAULT_DEVICE[self.target])
        elif self.device not in devices:
            known = ", ".join(devices) or "none (omit --device)"
            raise ValueError(f"device for {self.target} must be one of {known}, "
                             f"not {self.device!r}")
        if not (isinstance(self.freq_MHz, (int, float)) and self.freq_MHz > 0):
            raise ValueError(f"freq_MHz must be a positive number, not {self.freq_MHz!r}")

    @property
    def place_and_route(self):
        return self.target == "ice40" and self.pnr


def implement(verilog_path, out_dir, config=FpgaConfig(), *, relative_to=None):
    """Synthesize the exported core ``verilog_path`` (with its sidecar ``<name>.json``
    beside it) for ``config`` into ``out_dir``; returns the summary dict (see
    docs/synth.md). File names in it are relative to ``relative_to`` (default: absolute).

    Raises
    ------
    ValueError
        if the Verilog or its sidecar is missing or unreadable.
    hardware.synth.SynthesisError, hardware.pnr.DoesNotFit, hardware.pnr.PlaceAndRouteError
        when a pass fails; ``out_dir`` then holds the logs so far.
    hardware.tools.SimulatorMissing
        if a tool is not installed.
    """
    verilog_path, out_dir = Path(verilog_path), Path(out_dir)
    sidecar = _sidecar(verilog_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staged.chmod(0o755)   # mkdtemp's 0700 would outlive the swap
    try:
        doc = _passes(verilog_path, sidecar, staged, config)
    except (synth.SynthesisError, pnr.PlaceAndRouteError) as exc:
        _swap(staged, out_dir)
        raise type(exc)(f"{exc} (logs in {out_dir})") from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _swap(staged, out_dir)
    base = Path(relative_to) if relative_to is not None else None
    name = (lambda p: str(Path(p).relative_to(base)) if base else str(p))
    doc["design"]["verilog"] = name(verilog_path)
    doc["logs"] = {tool: name(out_dir / f"{tool}.log") for tool in doc["logs"]}
    if doc["bitstream"] is not None:
        doc["bitstream"] = name(out_dir / doc["bitstream"])
    return doc


def _passes(verilog_path, sidecar, work, config):
    sources, top = [verilog_path], sidecar["top"]
    if config.target == "ice40":
        wrapper = work / f"{pnr.WRAPPER_NAME}.v"
        wrapper.write_text(pnr.io_wrapper(sidecar["ports"], top=top, clock=sidecar["clock"],
                                          reset=sidecar["reset"]))
        sources, synth_top = [verilog_path, wrapper], pnr.WRAPPER_NAME
    else:
        synth_top = top
    result = synth.synthesize(sources, work, target=config.target, top=synth_top,
                              spram=config.target == "ice40" and config.device.startswith("up"))
    core = result["modules"][top]
    doc = {
        "schema_version": SCHEMA_VERSION, "target": config.target, "device": config.device,
        **{key: core[key] for key in ("cells", "luts", "flip_flops", "block_rams",
                                      "block_ram_bits", "distributed_rams", "dsps")},
        "fmax_MHz": None,
        "design": {"top": top, "verilog": str(verilog_path),
                   "sha256": hashlib.sha256(verilog_path.read_bytes()).hexdigest(),
                   **{k: sidecar["parameters"].get(k) for k in
                      ("sizes", "steps", "weight_bits", "lanes", "cores", "skip_idle",
                       "wake_step")}},
        "tools": {"yosys": result["yosys"]},
        "modules": {n: r for n, r in result["modules"].items() if n == top or
                    n.startswith(top + ".")},
        "io_wrapper": _wrapper_only(result, synth_top, top) if synth_top != top else None,
        "memories": result["memories"],
        "weight_memories": _weight_memories(result["memories"], top),
        "latches": result["latches"],
        "utilisation": _ecp5_utilisation(core, config.device) if config.target == "ecp5"
        else None,
        "pnr": None, "bitstream": None, "logs": {"yosys": None},
        "wall_s": {"synthesis": result["wall_s"]},
    }
    if config.place_and_route:
        doc["logs"]["nextpnr"] = None
        placed = pnr.place_and_route(work / "netlist.json", work, device=config.device,
                                     freq_MHz=config.freq_MHz, seed=config.seed)
        doc["tools"]["nextpnr"] = placed.pop("nextpnr")
        doc["tools"]["icepack"] = _icestorm_version()
        doc["wall_s"]["pnr"] = placed.pop("wall_s")
        doc["fmax_MHz"] = placed["fmax_MHz"]
        doc["utilisation"] = placed["utilisation"]
        doc["pnr"] = placed
        doc["bitstream"] = pnr.pack_bitstream(work / "design.asc", work / f"{top}.bin").name
    return doc


def _sidecar(verilog_path):
    path = verilog_path.with_suffix(".json")
    if not verilog_path.is_file():
        raise ValueError(f"{verilog_path}: no such Verilog file (run `ttfs export-verilog`)")
    try:
        sidecar = json.loads(path.read_text())
        sidecar["top"], sidecar["ports"], sidecar["parameters"]   # noqa: B018 (presence)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a readable export sidecar ({exc!r}): rerun "
                         f"`ttfs export-verilog`") from None
    return sidecar


def _swap(staged, out_dir):
    """Put ``staged`` where ``out_dir`` was (the previous contents go)."""
    if out_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
        out_dir.rename(trash / out_dir.name)
        shutil.rmtree(trash)
    staged.rename(out_dir)


def _wrapper_only(result, wrapper, top):
    whole, core = result["modules"][wrapper], result["modules"][top]
    return {key: whole[key] - core[key] for key in whole}


def _weight_memories(memories, top):
    """How the weight memories (named ``weights`` by the core) were mapped."""
    weights = [m for m in memories if m["name"] == "weights" and m["module"].startswith(top)]
    ram = [m for m in weights if m["mapped_to"] not in ("flip-flops", "logic",
                                                         "abstract memory")]
    return {"total": len(weights), "in_ram": len(ram),
            "elsewhere": [{"module": m["module"], "mapped_to": m["mapped_to"],
                           "read": m["read"]} for m in weights if m not in ram]}


def _ecp5_utilisation(core, device):
    capacity = ECP5_DEVICES[device]
    return {key: {"used": core[key], "available": capacity[key]} for key in capacity}


def _icestorm_version():
    """The Debian package version of IceStorm (icepack has no version option), or None."""
    try:
        result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fpga-icestorm"],
                                capture_output=True, text=True)
    except OSError:
        return None
    return f"fpga-icestorm {result.stdout.strip()}" if result.returncode == 0 else None


def summary_markdown(doc):
    """A readable page of a :func:`implement` summary."""
    lines = [f"# Synthesis: {doc['target']}" + (f" {doc['device']}" if doc["device"] else ""),
             "", f"Design `{doc['design']['verilog']}` (sha256 {doc['design']['sha256'][:12]}): "
             f"sizes {doc['design']['sizes']}, K = {doc['design']['steps']}, "
             f"{doc['design']['weight_bits']}-bit weights, lanes {doc['design']['lanes']}.",
             "", "Tools: " + "; ".join(f"{k}: {v}" for k, v in doc["tools"].items()), "",
             "| module | cells | LUTs | flip-flops | block RAMs | block RAM bits | "
             "distributed RAMs | DSPs |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = dict(doc["modules"])
    if doc["io_wrapper"]:
        rows["(scan-chain I/O wrapper, not part of the core)"] = doc["io_wrapper"]
    for name, r in rows.items():
        lines.append(f"| `{name}` | {r['cells']} | {r['luts']} | {r['flip_flops']} | "
                     f"{r['block_rams']} | {r['block_ram_bits']} | {r['distributed_rams']} | "
                     f"{r['dsps']} |")
    lines += ["", _weights_sentence(doc), "", "| memory | width x depth | read | mapped to |",
              "|---|---|---|---|"]
    lines += [f"| `{m['module']}.{m['name']}` | {m['width']} x {m['depth']} | {m['read']} | "
              f"{m['mapped_to']} |" for m in doc["memories"]]
    lines += ["", "Latches: none." if not doc["latches"] else f"Latches: {doc['latches']}"]
    if doc["utilisation"]:
        source = ("nextpnr after place and route" if doc["pnr"] else
                  "synthesized count over the data-sheet capacity (no place and route)")
        lines += ["", f"Utilisation ({source}):", "", "| resource | used | available | % |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {k} | {u['used']} | {u['available']} | {100 * u['used'] / u['available']:.1f} |"
                  for k, u in doc["utilisation"].items()]
    if doc["pnr"]:
        lines += ["", f"Maximum clock frequency (nextpnr timing analysis, seed "
                  f"{doc['pnr']['seed']}): **{doc['fmax_MHz']:.2f} MHz** "
                  f"(placer target {doc['pnr']['target_MHz']} MHz). Bitstream: "
                  f"`{doc['bitstream']}`."]
    else:
        lines += ["", "No place and route: no maximum clock frequency."]
    lines += ["", "Logs: " + ", ".join(f"`{p}`" for p in doc["logs"].values()), ""]
    return "\n".join(lines)


def _weights_sentence(doc):
    w = doc["weight_memories"]
    if w["total"] == 0:
        return "No weight memory found in the design."
    if not w["elsewhere"]:
        return f"All {w['total']} weight memories mapped to block RAM."
    where = ", ".join(f"`{m['module']}` ({m['read']} read, {m['mapped_to']})"
                      for m in w["elsewhere"][:6])
    return (f"{w['in_ram']} of {w['total']} weight memories mapped to block RAM; not: "
            f"{where}{' ...' if len(w['elsewhere']) > 6 else ''}.")
