"""Fixtures shared by the test folders under ``tests/``."""
import json

import pytest
import torch

import model
from model import data


@pytest.fixture(scope="session")
def untrained_run(tmp_path_factory):
    """Make a run directory holding an untrained, seeded MNIST network 784-HIDDEN-10
    (``model.pt`` and ``config.json``, as ``ttfs train`` writes them); skips when MNIST is
    not available."""
    def make(hidden):
        try:
            data.load("mnist", "test")
        except data.DataError as exc:
            pytest.skip(f"MNIST not available: {exc}")
        path = tmp_path_factory.mktemp("run")
        arch = (784, hidden, 10)
        net = model.TTFSNetwork(arch=arch, init_mean=4.0)
        net.reset_parameters(torch.Generator().manual_seed(0))
        torch.save(net.state_dict(), path / "model.pt")
        (path / "config.json").write_text(json.dumps(
            {"dataset": "mnist", "arch": list(arch), "threshold": 1.0, "t_max": 8.0,
             "tau_in": 1.0, "zero_silent": True}))
        return path
    return make
