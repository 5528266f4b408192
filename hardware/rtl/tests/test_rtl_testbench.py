"""The plain Verilog testbench of an export: its files, and runs on Icarus and Verilator alone.

One random network with a split layer and mixed lanes; six inputs, among them one without
any input spike and one with every spike on the last step. A deliberately wrong expected
value in the hex file must make the testbench stop with that mismatch and a non-zero exit.
"""
import json
import re
import subprocess

import numpy as np
import pytest

from hardware.rtl.cases import CaseSpec, random_inputs, random_network
from hardware.rtl.export import write_verilog
from hardware.rtl.testbench import bench_files, expectations, run_testbench, write_testbench
from hardware.rtl.top import NetworkTop
from mapping import reference
from mapping.allocation import CoreLimits, allocate

SPEC = CaseSpec((9, 8, 6, 4), weight_bits=5, steps=12, lanes=(2, 3, 1), max_neurons=3, seed=41)


def _inputs(network):
    K, n_in = network.steps, network.sizes[0]
    x = random_inputs(n_in, K, 6, np.random.default_rng(7), 0.6)
    x[0] = K
    x[1] = np.where(np.arange(n_in) % 2 == 0, K - 1, K)
    return x


def _export(directory, indices=None):
    network = random_network(SPEC)
    top = NetworkTop(network, allocate(network, CoreLimits(max_neurons=3)), lanes=SPEC.lanes)
    _, sidecar_path = write_verilog(top, directory)
    inputs = _inputs(network)
    sidecar = json.loads(sidecar_path.read_text())
    bench = write_testbench(network, sidecar, inputs, directory, indices=indices)
    return bench, reference.simulate(network, inputs), expectations(network, sidecar, inputs)


def _words(path):
    """The words of a hex file, one list per sample (comment lines separate samples)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("//")]
    return [[int(word, 16) for word in line.split()] for line in lines]


def _corrupt(directory, sample, port, checked):
    """Add one to the expected value of ``port`` in ``sample``; returns (expected, actual)."""
    path = directory / bench_files()[3]
    lines = path.read_text().splitlines()
    row = 2 * sample + 1
    words = lines[row].split()
    column = 2 + checked.index(port)
    actual = int(words[column], 16)
    words[column] = f"{actual + 1:0{len(words[column])}x}"
    lines[row] = " ".join(words)
    path.write_text("\n".join(lines) + "\n")
    return actual + 1, actual


def test_rtl_bench_files_hold_the_reference_results(tmp_path):
    bench, trace, wants = _export(tmp_path, indices=range(100, 106))
    K = SPEC.steps
    assert bench.samples == 6 and bench.unchecked == ()
    assert set(bench.checked) == set(wants[0][1])
    assert {"spikes__3", "counters__l1_c0_weight_reads", "cycles"} <= set(bench.checked)
    beats_path, steps_path, values_path = bench.hex_files
    steps = _words(steps_path)
    assert steps == trace.spike_steps[-1].tolist()
    values = _words(values_path)
    for sample, row in enumerate(values):
        want = wants[sample][1]
        assert row == [100 + sample, int(trace.prediction[sample]),
                       *(want[name] for name in bench.checked)]
    beats = _words(beats_path)
    assert beats[0] == [(1 << 8) | (K << 4)]  # no input spike: one beat (index 0, step K, last)
    assert [b >> 8 for b in beats[1]] == [0] * (len(beats[1]) - 1) + [1]
    text = bench.verilog.read_text()
    assert "$readmemh(\"ttfs_top_tb_expected.hex\", want);" in text
    assert text.count("$fatal(1,") == 5 + len(bench.checked)


def test_rtl_testbench_rejects_inputs_of_another_network(tmp_path):
    network = random_network(SPEC)
    _, sidecar_path = write_verilog(NetworkTop(network, lanes=2), tmp_path)
    sidecar = json.loads(sidecar_path.read_text())
    inputs = _inputs(network)
    with pytest.raises(ValueError, match=r"input_steps must have shape \[samples >= 1, 9\], "
                                         r"not \(6, 8\)"):
        write_testbench(network, sidecar, inputs[:, :8], tmp_path)
    other = random_network(CaseSpec((9, 5, 4), weight_bits=5, steps=12, seed=3))
    with pytest.raises(ValueError, match=r"the network \(sizes \[9, 5, 4\], K=12\) is not the "
                                         r"exported one \(sizes \[9, 8, 6, 4\], K=12\)"):
        write_testbench(other, sidecar, inputs, tmp_path)


def test_rtl_export_fires_every_modules_time_zero_trigger(tmp_path):
    verilog_path, _ = write_verilog(NetworkTop(random_network(SPEC), lanes=2), tmp_path)
    text = verilog_path.read_text()
    modules = len(re.findall(r"^module ", text, re.MULTILINE))
    kicks = re.findall(r"^  initial #0 (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+) = 1;$",
                       text, re.MULTILINE)
    assert modules > 1 and len(set(kicks)) == modules
    assert all(f"  reg {kick}  = 0;\n`ifndef VERILATOR" in text for kick in kicks)


@pytest.mark.icarus
def test_rtl_testbench_passes_on_icarus_and_reports_a_wrong_expected_value(tmp_path):
    bench, _, _ = _export(tmp_path)
    result = run_testbench(tmp_path, sim="icarus")
    assert result.passed, result.output
    assert result.output.startswith(f"PASS: 6 samples; output spike steps, prediction, error "
                                    f"flag and {len(bench.checked)} counters equal the reference")
    want, got = _corrupt(tmp_path, 4, "synops__2", bench.checked)
    result = run_testbench(tmp_path, sim="icarus")
    assert not result.passed and result.returncode != 0
    assert result.mismatch == (f"MISMATCH sample 4 (test image 4): synops__2 expected {want}, "
                               f"got {got}")


@pytest.mark.verilator
def test_rtl_testbench_passes_on_verilator_and_reports_a_wrong_expected_value(tmp_path):
    bench, _, _ = _export(tmp_path)
    result = run_testbench(tmp_path, sim="verilator")
    assert result.passed, result.output
    # the binary reads the hex files when it runs: the same build judges the corrupted file
    want, got = _corrupt(tmp_path, 2, "membrane_updates__1", bench.checked)
    ran = subprocess.run([str(tmp_path / "build_verilator" / "Vttfs_top_tb")], cwd=tmp_path,
                         capture_output=True, text=True)
    assert ran.returncode != 0
    assert (f"MISMATCH sample 2 (test image 2): membrane_updates__1 expected {want}, got {got}"
            in ran.stdout.splitlines())
