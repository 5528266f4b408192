"""Real neurons of a trained, quantized MNIST network on real test images, through ``ttfs
spice``: crossing times against the closed form, at both circuit levels."""
import json

import pytest

BOUND_STEPS = {"behavioral": 0.01, "transistor": 0.5}


@pytest.mark.ngspice
@pytest.mark.parametrize("level", ["behavioral", "transistor"])
def test_spice_mnist_neurons_cross_at_the_model_times(trained_mnist_run, ttfs_subprocess,
                                                       level):
    status, out, err = ttfs_subprocess("spice", trained_mnist_run, "--layer", 0, "--neurons",
                                       "0:24", "--samples", 1, "--level", level,
                                       "--no-characterize")
    output = out + err
    assert status == 0, output
    doc = json.loads((trained_mnist_run / "spice.json").read_text())
    summary = doc["summary"]
    assert summary["neurons"] == 24
    assert summary["fire_silent_mismatch"] == 0
    assert summary["reference_agrees"] == 24
    assert summary["both_fired"] >= 3, "too few firing neurons to test crossing times"
    errors = [abs(r["error_steps"]) for r in doc["records"] if r["model_step"] is not None]
    assert len(errors) == summary["both_fired"]
    assert max(errors) < BOUND_STEPS[level]


@pytest.mark.slow
@pytest.mark.ngspice
def test_spice_mnist_264_neurons_at_the_transistor_level(trained_mnist_run, ttfs_subprocess):
    # 24 first-layer neurons (784 inputs) on 11 test images: the 256-neuron check
    status, out, err = ttfs_subprocess("spice", trained_mnist_run, "--layer", 0, "--neurons",
                                       "0:24", "--samples", 11, "--no-characterize")
    output = out + err
    doc = json.loads((trained_mnist_run / "spice.json").read_text())
    summary = doc["summary"]
    assert summary["neurons"] == 264
    assert summary["reference_agrees"] == 264
    assert summary["both_fired"] >= 20, output
    assert summary["error_steps"]["max_abs"] < 0.5, output
    assert summary["fire_silent_mismatch"] == 0, output
    assert status == 0, output
