"""Fixtures shared by the hardware tests: a briefly trained, quantized MNIST network.

Training needs torch, which ``hardware`` and its tests never import, so the ``ttfs`` stages
run in subprocesses.
"""
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def trained_mnist_run(tmp_path_factory, ttfs_subprocess):
    """A run directory: 784-24-10 trained one epoch on 3000 MNIST images, quantized to 6-bit
    weights and K = 32, on cores of at most 16 neurons (so the hidden layer is split)."""
    root = Path(os.environ.get("TTFS_DATA", "data")) / "mnist"
    if not any(root.glob("t10k-images-idx3-ubyte*")):
        pytest.skip("MNIST not found in $TTFS_DATA or ./data: run `ttfs data mnist`")
    run = tmp_path_factory.mktemp("mnist") / "run"
    status, out, err = ttfs_subprocess("train", "--arch", "784-24-10", "--epochs", 1,
                                       "--train-subset", 3000, "--test-subset", 500,
                                       "--batch-size", 64, "--lr", 3e-3, "--no-progress",
                                       "--out", run)
    assert status == 0, out + err
    status, out, err = ttfs_subprocess("quantize", run, "--weight-bits", 6, "--steps", 32,
                                       "--calibration-samples", 256, "--test-samples", 200,
                                       "--max-neurons", 16)
    assert status == 0, out + err
    return run
