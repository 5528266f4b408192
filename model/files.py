"""Atomic writes of artifacts: a reader sees the old file or the new one, never half of one.

``atomic_write(path, write)`` lets ``write`` fill a temporary file in the same folder (so
the final rename never crosses a file system), flushes it to disk with ``fsync`` and moves
it over ``path`` with :func:`os.replace`. When anything fails (a full disk, a file-size
limit, an exception in ``write``) the temporary file is removed, the existing artifact is
left as it was, and the error is raised as an :class:`OSError` naming ``path``.
"""
import contextlib
import os
import tempfile
from pathlib import Path

# mkstemp creates files readable by the owner only; artifacts get the usual mode instead.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path, write):
    """Write ``path`` atomically: ``write(temporary_path)`` fills a file beside it.

    The temporary file keeps the suffix of ``path`` (writers such as ``savefig`` and
    ``np.savez`` choose their format by it) and starts with a dot. Returns ``path``.

    Raises
    ------
    OSError
        when the file cannot be written; the message names ``path``.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        fd, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                      suffix=path.suffix)
    except OSError as exc:
        raise _write_error(path, exc) from None
    os.close(fd)
    try:
        write(Path(staged))
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(staged, 0o666 & ~_UMASK)
        os.replace(staged, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            raise _write_error(path, exc) from None
        raise
    _sync_directory(path.parent)
    return path


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return atomic_write(path, lambda staged: staged.write_text(text, encoding="utf-8"))


def write_bytes(path, payload):
    """Write ``payload`` to ``path`` atomically; returns ``path``."""
    return atomic_write(path, lambda staged: staged.write_bytes(payload))


def _write_error(path, exc):
    error = OSError(f"cannot write {path}: {exc.strerror or exc}")
    error.errno = exc.errno
    return error


def _sync_directory(directory):
    # the rename is durable only once the folder's entry is on disk; some file systems
    # refuse to fsync a folder, which loses durability but not atomicity
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
