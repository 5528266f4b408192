"""``model.files`` and ``mapping.files``: a failed write leaves the old file and no
temporary; a missing folder is a one-line error; the new file gets the usual mode."""
import os

import pytest

from mapping import files as mapping_files
from model import files as model_files


@pytest.mark.parametrize("files", [model_files, mapping_files])
def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path, files):
    path = tmp_path / "report.json"
    path.write_text("old\n")

    def half_then_fail(staged):
        staged.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as exc_info:
        files.atomic_write(path, half_then_fail)
    assert str(exc_info.value) == f"cannot write {path}: No space left on device"
    assert exc_info.value.errno == 28
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert path.read_text() == "old\n"


@pytest.mark.parametrize("files", [model_files, mapping_files])
def test_atomic_write_replaces_with_the_usual_mode(tmp_path, files):
    path = files.write_text(tmp_path / "a.md", "new\n")
    assert path.read_text() == "new\n"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


@pytest.mark.parametrize("files", [model_files, mapping_files])
def test_atomic_write_into_a_missing_folder_names_it(tmp_path, files):
    path = tmp_path / "missing" / "a.json"
    with pytest.raises(FileNotFoundError) as exc_info:
        files.write_text(path, "{}")
    assert str(exc_info.value) == (f"cannot write {path}: folder {path.parent} "
                                   "does not exist")
