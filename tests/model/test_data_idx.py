"""The IDX loaders: valid files load, every kind of damage is a one-line DataError naming the file."""
import gzip
import re

import numpy as np
import pytest

from model import data


def _idx(magic, dims, payload=None):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    if payload is None:
        payload = (np.arange(int(np.prod(dims))) % 10).astype(np.uint8).tobytes()
    return header + payload


def _write_split(directory, prefix, count, *, gz, labels=None):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8) if labels is None else labels
    files = {f"{prefix}-images-idx3-ubyte": _idx(0x803, (count, 28, 28), images.tobytes()),
             f"{prefix}-labels-idx1-ubyte": _idx(0x801, (count,), labels.tobytes())}
    for name, raw in files.items():
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return images, labels


def _one_line_naming(exc_info, path):
    message = str(exc_info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert "ttfs data" in message
    return message


@pytest.mark.parametrize("gz", [False, True])
def test_data_read_idx_returns_payload_in_shape(tmp_path, gz):
    raw = _idx(0x803, (3, 2, 4))
    path = tmp_path / ("x.gz" if gz else "x")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    array = data.read_idx(path, magic=0x803, shape=(3, 2, 4))
    assert array.dtype == np.uint8 and array.shape == (3, 2, 4)
    assert array.ravel().tolist() == [i % 10 for i in range(24)]


@pytest.mark.parametrize("raw, shape, pattern", [
    (_idx(0x801, (5,)), (5,), r"magic number 0x00000801, expected 0x00000803"),
    (_idx(0x803, (4, 2, 2)), (5, 2, 2), r"dimensions \(4, 2, 2\), expected \(5, 2, 2\)"),
    (_idx(0x803, (5, 2, 2))[:-3], (5, 2, 2), r"33 bytes, expected 36 \(truncated or corrupt\)"),
    (_idx(0x803, (5, 2, 2)) + b"\0", (5, 2, 2), r"37 bytes, expected 36"),
    (b"\0\0\x08", (5, 2, 2), r"truncated header \(3 bytes\)"),
    (b"", (5,), r"truncated header \(0 bytes\)"),
], ids=["magic", "dimensions", "truncated", "too long", "short header", "empty"])
def test_data_read_idx_rejects_damaged_file(tmp_path, raw, shape, pattern):
    path = tmp_path / "damaged-idx"
    path.write_bytes(raw)
    with pytest.raises(data.DataError) as exc_info:
        data.read_idx(path, magic=0x803, shape=shape)
    assert re.search(pattern, _one_line_naming(exc_info, path))


@pytest.mark.parametrize("damage", ["not gzip", "truncated", "flipped byte", "bad crc"])
def test_data_read_idx_rejects_damaged_gzip(tmp_path, damage):
    compressed = bytearray(gzip.compress(_idx(0x801, (4000,), bytes(range(10)) * 400)))
    if damage == "not gzip":
        compressed = bytearray(b"plain text, not gzip")
    elif damage == "truncated":
        compressed = compressed[: len(compressed) // 2]
    elif damage == "flipped byte":
        compressed[20] ^= 0xFF  # inside the deflate stream: zlib reports it, not gzip
    else:
        compressed[-6] ^= 0x01
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(data.DataError, match="cannot read") as exc_info:
        data.read_idx(path, magic=0x801, shape=(4000,))
    _one_line_naming(exc_info, path)


@pytest.mark.parametrize("gz", [False, True])
def test_data_load_reads_split_from_root(tmp_path, gz):
    images, labels = _write_split(tmp_path / "fashion-mnist", "t10k", 10000, gz=gz)
    split = data.load("fashion-mnist", "test", root=tmp_path)
    assert np.array_equal(split.images, images)
    assert np.array_equal(split.labels, labels)


def test_data_load_uses_ttfs_data_variable(tmp_path, monkeypatch):
    _, labels = _write_split(tmp_path / "mnist", "t10k", 10000, gz=False)
    monkeypatch.setenv("TTFS_DATA", str(tmp_path))
    assert data.data_root() == tmp_path
    assert np.array_equal(data.load("mnist", "test").labels, labels)


def test_data_load_names_missing_file(tmp_path):
    with pytest.raises(data.DataError) as exc_info:
        data.load("mnist", "train", root=tmp_path)
    message = str(exc_info.value)
    assert message.startswith(f"missing {tmp_path / 'mnist' / 'train-images-idx3-ubyte'}[.gz]")
    assert "ttfs data" in message and "TTFS_DATA" in message and "\n" not in message


def test_data_load_rejects_wrong_sample_count(tmp_path):
    _write_split(tmp_path / "mnist", "t10k", 9999, gz=False)
    with pytest.raises(data.DataError, match=r"dimensions \(9999, 28, 28\), expected "
                                             r"\(10000, 28, 28\)") as exc_info:
        data.load("mnist", "test", root=tmp_path)
    _one_line_naming(exc_info, tmp_path / "mnist" / "t10k-images-idx3-ubyte")


def test_data_load_rejects_label_out_of_range(tmp_path):
    labels = np.zeros(10000, dtype=np.uint8)
    labels[1234] = 10
    _write_split(tmp_path / "mnist", "t10k", 10000, gz=True, labels=labels)
    with pytest.raises(data.DataError, match="label 10 out of range 0..9") as exc_info:
        data.load("mnist", "test", root=tmp_path)
    _one_line_naming(exc_info, tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz")


@pytest.mark.parametrize("dataset, split, message", [
    ("cifar", "test", "dataset must be one of mnist, fashion-mnist, not 'cifar'"),
    ("mnist", "valid", "split must be one of train, test, not 'valid'"),
])
def test_data_load_rejects_unknown_names(dataset, split, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        data.load(dataset, split)


def test_random_shift_moves_each_image_by_its_own_offset_zero_filled():
    import torch

    images = np.zeros((64, 28, 28), dtype=np.uint8)
    images[:, 10:18, 12:16] = np.arange(1, 65, dtype=np.uint8)[:, None, None]
    shifted = data.random_shift(images, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape and shifted.dtype == np.uint8
    offsets = set()
    for original, moved in zip(images, shifted):
        rows, cols = np.nonzero(moved)
        dy, dx = rows.min() - 10, cols.min() - 12
        assert -2 <= dy <= 2 and -2 <= dx <= 2
        assert np.array_equal(moved, np.roll(original, (dy, dx), axis=(0, 1)))
        offsets.add((dy, dx))
    assert len(offsets) > 10  # offsets differ between images
    edge = np.full((1, 28, 28), 255, dtype=np.uint8)
    moved = data.random_shift(edge, 3, torch.Generator().manual_seed(1))[0]
    kept = int((moved == 255).sum())
    assert 0 < kept <= 28 * 28 and (moved == 0).sum() == 28 * 28 - kept
