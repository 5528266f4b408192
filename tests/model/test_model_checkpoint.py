"""Checkpoints are read without running code from them: a planted pickle whose unpickling
would create a file is refused by ``ttfs train --resume`` and by a sweep's automatic resume
with a one-line error (exit 2), and the file is never created."""
import pickle

import pytest
import torch

from flow import cli
from model import data


def _have_mnist():
    try:
        data.load("mnist", "test")
    except data.DataError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not _have_mnist(), reason="MNIST not found: run `ttfs data`")

_TINY = ["--arch", "784-8-10", "--epochs", "1", "--train-subset", "100", "--test-subset", "50",
         "--no-progress"]


class _Payload:
    """Unpickling this object opens (creates) ``marker`` for writing."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(path, marker, how):
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": {}, "epoch": _Payload(marker)}
    if how == "torch":
        torch.save(state, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(state, f)
    return path.read_bytes()


def _main(argv, capsys):
    with pytest.raises(SystemExit) as exc_info:
        cli.main(argv)
    return exc_info.value.code, capsys.readouterr().err


@needs_mnist
@pytest.mark.parametrize("how", ["torch", "pickle"])
def test_train_resume_refuses_a_checkpoint_that_would_run_code(tmp_path, capsys, how):
    run, marker = tmp_path / "run", tmp_path / "marker"
    planted = _plant(run / "checkpoint.pt", marker, how)
    status, err = _main(["train", *_TINY, "--out", str(run), "--resume"], capsys)
    assert status == 2
    assert err == (f"ttfs: error: {run / 'checkpoint.pt'}: refusing to resume: the checkpoint "
                   "holds objects other than tensors and plain data, which could run code "
                   "when loaded; only checkpoints written by `ttfs train` can be resumed\n")
    assert not marker.exists()
    assert (run / "checkpoint.pt").read_bytes() == planted
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt"]


@needs_mnist
def test_sweep_resume_refuses_a_planted_checkpoint(tmp_path, capsys):
    sweep, marker = tmp_path / "sweep", tmp_path / "marker"
    _plant(sweep / "none" / "checkpoint.pt", marker, "torch")
    status, err = _main(["sweep", "--regs", "none", "--jobs", "1", *_TINY[:-1],
                         "--out", str(sweep)], capsys)
    assert status == 2
    assert err.count("\n") == 1 and "refusing to resume" in err
    assert not marker.exists()


@pytest.mark.parametrize("state, message", [
    ([1, 2], "not a checkpoint of `ttfs train` (a list)"),
    ({"model": {}}, "not a checkpoint of `ttfs train` ('optimizer' is missing or not a dict)"),
])
def test_train_resume_rejects_checkpoints_of_another_shape(tmp_path, state, message):
    from model.train import TrainConfig, _load_checkpoint

    torch.save(state, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError) as exc_info:
        _load_checkpoint(tmp_path / "checkpoint.pt", TrainConfig())
    assert str(exc_info.value) == f"{tmp_path / 'checkpoint.pt'}: {message}"
