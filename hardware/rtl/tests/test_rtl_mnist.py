"""A trained and quantized MNIST network, co-simulated on real test images through ``ttfs cosim``.

The network is trained briefly (784-24-10, one epoch on 3000 images) and quantized to
6-bit weights and K = 32 with cores of at most 16 neurons, so the hidden layer is split:
``ttfs train``, ``ttfs quantize`` and ``ttfs cosim``, each in a subprocess (``hardware``
and its tests never import torch).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = 4


def _mnist_present():
    root = Path(os.environ.get("TTFS_DATA", "data")) / "mnist"
    return root.is_dir() and any(root.glob("t10k-images-idx3-ubyte*"))


def _ttfs(*args):
    result = subprocess.run([sys.executable, "-m", "flow", *map(str, args)],
                            capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    if not _mnist_present():
        pytest.skip("MNIST not found in $TTFS_DATA or ./data: run `ttfs data mnist`")
    run = tmp_path_factory.mktemp("mnist") / "run"
    status, output = _ttfs("train", "--arch", "784-24-10", "--epochs", 1, "--train-subset", 3000,
                           "--test-subset", 500, "--batch-size", 64, "--lr", 3e-3,
                           "--no-progress", "--out", run)
    assert status == 0, output
    status, output = _ttfs("quantize", run, "--weight-bits", 6, "--steps", 32,
                           "--calibration-samples", 256, "--test-samples", 200,
                           "--max-neurons", 16)
    assert status == 0, output
    return run


def _check_cosim(run, sim):
    out = run / f"cosim-{sim}.json"
    status, output = _ttfs("cosim", run, "--sim", sim, "--samples", SAMPLES, "--lanes", 4,
                           "--out", out)
    assert status == 0, output
    doc = json.loads(out.read_text())
    assert (doc["samples"], doc["mismatches"], doc["indices"]) == (SAMPLES, 0, [0, 1, 2, 3])
    assert all(r["spikes"][0] > 0 and r["synops"][1] > 0 for r in doc["per_sample"])
    return doc


@pytest.mark.icarus
def test_rtl_mnist_network_matches_reference_on_icarus(mnist_run):
    doc = _check_cosim(mnist_run, "icarus")
    for record in doc["per_sample"]:
        assert record["cycles"] < 1.5 * record["lower_bound_cycles"]


@pytest.mark.verilator
def test_rtl_mnist_network_matches_reference_on_verilator(mnist_run):
    _check_cosim(mnist_run, "verilator")
