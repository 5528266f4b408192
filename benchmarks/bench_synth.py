"""FPGA area and clock of the digital core against lanes (neurons updated per cycle).

Part ``ice40``: a small random network synthesized, placed and routed on an iCE40 UP5K for
each lanes setting; prints LUTs, flip-flops, block RAMs, logic cells used, Fmax, the clock
cycles of one inference (Amaranth simulator, ``--samples`` random inputs) and the latency
at Fmax. Part ``ecp5``: the 784-100-10 network of the demo (random weights of the same
shape; 8-bit, K = 64) synthesized for ECP5 (nextpnr-ecp5 is not packaged in Debian 12, so
no Fmax). Synthesis of 784-100-10 takes minutes per lanes setting; run it niced::

    nice -n 10 .venv/bin/python benchmarks/bench_synth.py --part ice40
    nice -n 10 .venv/bin/python benchmarks/bench_synth.py --part ecp5 --lanes 1,8,32
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hardware import fpga, pnr, synth
from hardware.rtl import amaranth_sim
from hardware.rtl.cases import CaseSpec, random_inputs, random_network
from hardware.rtl.export import write_verilog
from hardware.rtl.top import NetworkTop

PARTS = {
    "ice40": (CaseSpec((64, 16, 10), weight_bits=4, steps=16, seed=1, input_rate=0.3),
              fpga.FpgaConfig(target="ice40", device="up5k")),
    "ecp5": (CaseSpec((784, 100, 10), weight_bits=8, steps=64, seed=1, input_rate=0.3),
             fpga.FpgaConfig(target="ecp5", device="85k")),
}
LANES = (1, 2, 4, 8, 16, 32)


def _cycles(top, spec, samples):
    inputs = random_inputs(spec.sizes[0], spec.steps, samples,
                           np.random.default_rng(spec.seed), spec.input_rate)
    return float(np.mean([o.cycles for o in amaranth_sim.run(top, inputs)]))


def bench(part, lanes_list, samples, work):
    spec, config = PARTS[part]
    network = random_network(spec)
    print(f"{part} {config.device}: {'-'.join(map(str, spec.sizes))}, "
          f"{spec.weight_bits}-bit weights, K = {spec.steps}")
    header = (f"{'lanes':>5} {'LUTs':>6} {'FFs':>6} {'BRAMs':>5} {'BRAM kbit':>9} "
              f"{'dist RAMs':>9} {'weights in BRAM':>15} {'synth s':>7}")
    if config.place_and_route:
        header += f" {'LCs':>11} {'Fmax MHz':>8} {'cycles':>7} {'latency us':>10}"
    print(header)
    for lanes in lanes_list:
        top = NetworkTop(network, lanes=lanes)
        verilog, _ = write_verilog(top, work / f"{part}-{lanes}")
        began = time.perf_counter()
        try:
            doc = fpga.implement(verilog, work / f"{part}-{lanes}-synth", config)
        except (synth.SynthesisError, pnr.PlaceAndRouteError) as exc:
            print(f"{lanes:>5} {exc}")
            continue
        wall = time.perf_counter() - began
        w = doc["weight_memories"]
        row = (f"{lanes:>5} {doc['luts']:>6} {doc['flip_flops']:>6} {doc['block_rams']:>5} "
               f"{doc['block_ram_bits'] / 1024:>9.0f} {doc['distributed_rams']:>9} "
               f"{w['in_ram']:>7} of {w['total']:<4} {wall:>7.0f}")
        if config.place_and_route:
            cells = doc["utilisation"]["ICESTORM_LC"]
            cycles = _cycles(top, spec, samples)
            row += (f" {cells['used']:>5}/{cells['available']:<5} {doc['fmax_MHz']:>8.2f} "
                    f"{cycles:>7.0f} {cycles / doc['fmax_MHz']:>10.1f}")
        print(row, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("ice40", "ecp5", "all"), default="all")
    parser.add_argument("--lanes", default=",".join(map(str, LANES)),
                        help="comma-separated lanes settings (default 1,2,4,8,16,32)")
    parser.add_argument("--samples", type=int, default=4,
                        help="inferences simulated for the cycle count (default 4)")
    args = parser.parse_args()
    lanes_list = [int(x) for x in args.lanes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench_synth-") as tmp:
        for part in (("ice40", "ecp5") if args.part == "all" else (args.part,)):
            bench(part, lanes_list, args.samples, Path(tmp))


if __name__ == "__main__":
    main()
