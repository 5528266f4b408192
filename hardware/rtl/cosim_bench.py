"""cocotb bench of the exported network top: driver, monitor, reference model, scoreboard.

Run by :func:`hardware.rtl.cosim.run_cosim` (never imported by the library itself). The case
is described by the JSON file named in ``$TTFS_COSIM_CASE``: ``network_dir`` (an integer
network saved by :func:`mapping.network.save`), ``inputs`` (an ``.npz`` holding
``input_steps [batch, n_in]``), ``results`` (the JSON file to write) and ``max_cycles`` (the
bound on one inference), ``cores`` (the allocation's ``[layer, start, stop]``) and
``lanes`` (per computing layer). The driver presents the next input beat on the falling edge and
the monitor samples both streams in the read-only phase before the rising edge; when no beat
can move, the bench sleeps until ``ready``, the output ``valid`` or ``done`` rises. At
``done`` the scoreboard compares the output spikes, the prediction and every counter with
:func:`mapping.reference.simulate` and :func:`mapping.access.count_accesses`, and the bench
writes all observations to ``results``.
"""
import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time

from mapping import network as network_io
from mapping import reference
from mapping.access import count_accesses
from mapping.allocation import Allocation, CoreLimits, CoreSlice
from mapping.files import write_text

from .scoreboard import Observed, expected, first_mismatch, input_beats, lower_bound_cycles


def _load_case():
    case = json.loads(Path(os.environ["TTFS_COSIM_CASE"]).read_text())
    network = network_io.load(case["network_dir"])
    with np.load(case["inputs"], allow_pickle=False) as npz:
        inputs = npz["input_steps"]
    return case, network, inputs


class Driver:
    """Presents the beats of one sample, one per cycle while ``ready``."""

    def __init__(self, dut):
        self.dut, self.beats, self.sent = dut, [], 0

    def load(self, beats):
        self.beats, self.sent = beats, 0

    def drive(self):
        port = self.dut
        if self.sent < len(self.beats):
            index, step, last = self.beats[self.sent]
            port.spike_in__valid.value = 1
            port.spike_in__index.value = index
            port.spike_in__step.value = step
            port.spike_in__last.value = last
        else:
            port.spike_in__valid.value = 0

    def sample(self):
        if int(self.dut.spike_in__valid.value) and int(self.dut.spike_in__ready.value):
            self.sent += 1

    @property
    def finished(self):
        return self.sent == len(self.beats)

    @property
    def waiting(self):
        """No beat will be taken at the coming edge: none left, or the top is not ready."""
        return self.finished or not int(self.dut.spike_in__ready.value)


class Monitor:
    """Collects output beats and, at ``done``, the results on the top's ports."""

    def __init__(self, dut, n_layers, counter_ports):
        self.dut, self.n, self.ports = dut, n_layers + 1, counter_ports
        self.observed = Observed()

    def sample(self):
        dut = self.dut
        if int(dut.spike_out__valid.value) and int(dut.spike_out__ready.value):
            self.observed.out_spikes.append((int(dut.spike_out__index.value),
                                             int(dut.spike_out__step.value)))
        return bool(int(dut.done.value))

    def results(self):
        dut, got = self.dut, self.observed
        got.prediction = int(dut.prediction.value)
        got.cycles = int(dut.cycles.value)
        got.error = int(dut.error.value)
        for name in ("spikes", "synops", "membrane_updates"):
            setattr(got, name, [int(getattr(dut, f"{name}__{l}").value) for l in range(self.n)])
        got.counters = {port: int(getattr(dut, port).value) for port in self.ports}
        self.observed = Observed()
        return got


@cocotb.test()
async def network_matches_reference(dut):
    """Every sample of the case: output spikes, prediction and counters equal the reference."""
    case, network, inputs = _load_case()
    trace = reference.simulate(network, inputs)
    allocation = Allocation(CoreLimits(), tuple(CoreSlice(*c) for c in case["cores"]))
    access = count_accesses(network, allocation, trace, lanes=case["lanes"])
    groups = case.get("groups")
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.spike_in__valid.value = 0
    dut.spike_out__ready.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    ports = list(expected(trace, 0, access)["counters"])
    driver, monitor = Driver(dut), Monitor(dut, len(network.layers), ports)
    samples, first = [], None
    began = time.perf_counter()
    period_ns = 10
    for sample, row in enumerate(inputs):
        driver.load(input_beats(row, network.steps))
        deadline = get_sim_time("ns") + case["max_cycles"] * period_ns
        while True:
            await FallingEdge(dut.clk)
            driver.drive()
            await ReadOnly()
            driver.sample()
            if monitor.sample() and driver.finished:
                break
            if get_sim_time("ns") > deadline:
                raise AssertionError(
                    f"sample {sample}: no done within {case['max_cycles']} cycles "
                    f"({driver.sent} of {len(driver.beats)} input beats taken)")
            if driver.waiting and not int(dut.spike_out__valid.value):
                # nothing moves on the ports until one of these rises: skip the idle cycles
                await First(RisingEdge(dut.spike_in__ready), RisingEdge(dut.spike_out__valid),
                            RisingEdge(dut.done), Timer(deadline - get_sim_time("ns") + 1, "ns"))
        got = monitor.results()
        mismatch = first_mismatch(expected(trace, sample, access), got)
        record = {"sample": sample, **got.to_json(), "mismatch": mismatch}
        if groups is not None:
            record["lower_bound_cycles"] = lower_bound_cycles(groups, trace, sample)
        samples.append(record)
        if mismatch is not None and first is None:
            first = f"sample {sample}: {mismatch}"
    elapsed = time.perf_counter() - began
    write_text(case["results"], json.dumps({
        "samples": len(samples), "mismatches": sum(s["mismatch"] is not None for s in samples),
        "first_mismatch": first, "simulation_s": elapsed, "per_sample": samples}, indent=1))
    assert first is None, first
