"""A trained and quantized MNIST network, co-simulated on real test images through ``ttfs cosim``.

The network is the ``trained_mnist_run`` fixture of ``hardware/conftest.py``: its hidden
layer is split over two cores. ``ttfs cosim`` runs in a subprocess (``hardware`` and its
tests never import torch).
"""
import json

import pytest

SAMPLES = 4


def _check_cosim(ttfs, run, sim):
    out = run / f"cosim-{sim}.json"
    status, stdout, stderr = ttfs("cosim", run, "--sim", sim, "--samples", SAMPLES,
                                  "--lanes", 4, "--out", out)
    assert status == 0, stdout + stderr
    doc = json.loads(out.read_text())
    assert (doc["samples"], doc["mismatches"], doc["indices"]) == (SAMPLES, 0, [0, 1, 2, 3])
    assert all(r["spikes"][0] > 0 and r["synops"][1] > 0 for r in doc["per_sample"])
    return doc


@pytest.mark.icarus
def test_rtl_mnist_network_matches_reference_on_icarus(trained_mnist_run, ttfs_subprocess):
    doc = _check_cosim(ttfs_subprocess, trained_mnist_run, "icarus")
    for record in doc["per_sample"]:
        assert record["cycles"] < 1.5 * record["lower_bound_cycles"]


@pytest.mark.verilator
def test_rtl_mnist_network_matches_reference_on_verilator(trained_mnist_run, ttfs_subprocess):
    _check_cosim(ttfs_subprocess, trained_mnist_run, "verilator")


@pytest.mark.icarus
def test_rtl_mnist_export_testbench_passes_on_icarus_alone(trained_mnist_run, ttfs_subprocess,
                                                           tmp_path):
    from hardware.rtl.testbench import run_testbench

    status, out, err = ttfs_subprocess("export-verilog", trained_mnist_run, "--out", tmp_path,
                                       "--lanes", 4, "--testbench", SAMPLES, "--offset", 10)
    assert status == 0, out + err
    assert "test images 10..13" in out + err
    result = run_testbench(tmp_path, sim="icarus")
    assert result.passed, result.output
    assert result.output.startswith(f"PASS: {SAMPLES} samples")
