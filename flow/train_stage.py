"""The training stage as a library function (``ttfs train`` and :func:`flow.api.run_flow`
call it); the config is :class:`model.train.TrainConfig`. Nothing here prints."""
from pathlib import Path

from model.train import TrainConfig

__all__ = ["TrainConfig", "train"]


def train(run_dir, config=TrainConfig(), *, resume=False, threads=None, progress=None,
          data_dir=None):
    """Train ``config`` into ``run_dir`` (checkpoint, ``config.json``, ``metrics.json``).

    Parameters
    ----------
    run_dir : the run directory (created)
    config : a :class:`model.train.TrainConfig`
    resume : continue from the checkpoint after its last finished epoch
    threads : CPU threads for PyTorch (None: leave PyTorch's setting alone)
    progress : optional ``progress(iterable, total, desc)`` wrapper (a progress bar)
    data_dir : data directory (None: ``$TTFS_DATA`` or ``./data``)

    With ``config.energy_weight > 0`` and no energy coefficients set, they are computed
    from the default cost table for the core the config names
    (:func:`flow.codesign.with_energy_coefficients`) and recorded in ``config.json``.

    Returns the metrics dict (``test_accuracy``, ``firing_rate``, ...).
    """
    import torch

    from model.train import train as train_model

    from .codesign import with_energy_coefficients

    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, not {type(config).__name__}")
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, not {threads!r}")
        torch.set_num_threads(threads)
    config = with_energy_coefficients(config)
    return train_model(config, Path(run_dir), resume=resume, progress=progress, root=data_dir)
