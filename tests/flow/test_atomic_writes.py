"""Every artifact is written atomically: when a write fails (here a file-size limit,
``RLIMIT_FSIZE``, set in a subprocess with ``SIGXFSZ`` ignored so that ``write`` fails with
``EFBIG``) during ``train --resume``, ``export-verilog`` and ``energy``, the command exits
with status 2 and one line on stderr, leaves no temporary file, and the artifacts it was
replacing are byte for byte the old ones."""
import json
import resource
import signal
import subprocess
import sys

import pytest

from energy_fixtures import tiny_run, write_fake_dataset
from flow import cli
from model import data


def _have_mnist():
    try:
        data.load("mnist", "test")
    except data.DataError:
        return False
    return True


def _snapshot(directory):
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _limited(limit_bytes):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return preexec


def _ttfs_limited(argv, limit_bytes):
    import matplotlib.font_manager  # noqa: F401 -- builds matplotlib's cache before the limit

    result = subprocess.run([sys.executable, "-m", "flow", *argv], capture_output=True,
                            text=True, preexec_fn=_limited(limit_bytes), timeout=600)
    return result.returncode, result.stderr


def _main(argv):
    with pytest.raises(SystemExit) as exc_info:
        cli.main(argv)
    assert exc_info.value.code == 0


def _assert_one_line_error(status, err, path):
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"ttfs: error: cannot write {path}: File too large"), err


@pytest.mark.skipif(not _have_mnist(), reason="MNIST not found: run `ttfs data`")
def test_train_resume_with_a_full_disk_keeps_the_last_epoch(tmp_path, capsys):
    run = tmp_path / "run"
    tiny = ["--arch", "784-8-10", "--train-subset", "100", "--test-subset", "50",
            "--no-progress", "--out", str(run)]
    _main(["train", "--epochs", "1", *tiny])
    before = _snapshot(run)
    status, err = _ttfs_limited(["train", "--epochs", "2", "--resume", *tiny], 4096)
    _assert_one_line_error(status, err, run / "checkpoint.pt")
    after = _snapshot(run)
    # config.json is rewritten (complete) with the new epoch count before training starts
    assert json.loads(after.pop("config.json"))["epochs"] == 2
    before.pop("config.json")
    assert after == before


def test_export_verilog_with_a_full_disk_keeps_the_old_files(tmp_path, capsys):
    run = tmp_path / "run"
    tiny_run(run)
    _main(["export-verilog", str(run)])
    verilog = run / "verilog" / "ttfs_top.v"
    verilog.write_text("// the previous export\n")
    before = _snapshot(run)
    # yosys (WebAssembly) writes its own temporaries, so the limit stops the conversion
    # before the export is written; either way the old files stay
    status, err = _ttfs_limited(["export-verilog", str(run)], 4096)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("ttfs: error: Verilog conversion by yosys failed: File too large")
    assert _snapshot(run) == before


def test_energy_with_a_full_disk_keeps_the_old_report(tmp_path, capsys):
    run, root = tmp_path / "run", tmp_path / "data"
    write_fake_dataset(root)
    tiny_run(run)
    _main(["energy", str(run), "--samples", "3", "--data-dir", str(root)])
    (run / "report.json").write_text('{"previous": true}\n')
    before = _snapshot(run)
    status, err = _ttfs_limited(["energy", str(run), "--samples", "3", "--data-dir", str(root)],
                                2048)
    _assert_one_line_error(status, err, run / "report.json")
    assert _snapshot(run) == before
