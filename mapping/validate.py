"""Checks shared by every reader of an artifact: each returns the checked value or raises
:class:`ArtifactError`, a :class:`ValueError` whose one-line message names the file, the
member and what was expected (the command line prints it and exits with status 2).

Files a user may have been handed are untrusted (see ``docs/security.md``): a reader checks
the type, range and size of every member it uses before it uses it, and never allocates
more than the file's own size accounts for. JSON numbers are Python ``int`` or ``float``;
``true``/``false`` are not numbers here, and neither are strings of digits.
"""
import json
import math
import zipfile
from pathlib import Path

import numpy as np

#: Largest integer the int64 arithmetic of the reference simulator and the counters holds.
INT64_MAX = (1 << 63) - 1


class ArtifactError(ValueError):
    """An artifact (a file a stage reads) is missing a member, or one has a wrong type,
    range or size; the message names the file."""


def _where(path, what):
    return f"{path}: {what}" if what else f"{path}"


def reason(error, path):
    """The message of ``error`` without its leading ``"PATH: "``, to reword it."""
    return str(error).removeprefix(f"{path}: ")


def read_json(path, *, remedy=""):
    """The JSON document in ``path``; a missing or unreadable file is an :class:`ArtifactError`
    (``remedy`` ends the message, for example the command that rewrites the file)."""
    tail = f": {remedy}" if remedy else ""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactError(f"{path} not found{tail}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read it ({exc}){tail}") from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc}){tail}") from None


def mapping(value, path, what="the document"):
    """``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise ArtifactError(f"{_where(path, what)} must be a JSON object, not "
                            f"{type(value).__name__}")
    return value


def member(doc, key, path, what=""):
    """``doc[key]`` of a JSON object ``doc``; absent is an error naming ``key``."""
    mapping(doc, path, what or "the document")
    if key not in doc:
        raise ArtifactError(f"{_where(path, what)} lacks the member {key!r}"
                            if what else f"{path}: no member {key!r}")
    return doc[key]


def integer(value, path, what, *, lo=None, hi=INT64_MAX):
    """``value`` as an ``int`` in ``[lo, hi]``: a JSON integer (not a float, string or bool)
    or a NumPy integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArtifactError(f"{_where(path, what)} must be an integer, not {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ArtifactError(f"{_where(path, what)} must be an integer in "
                            f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}], "
                            f"not {value}")
    return value


def number(value, path, what, *, lo=None, hi=None, positive=False):
    """``value`` as a finite ``float`` in ``[lo, hi]`` (above 0 if ``positive``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ArtifactError(f"{_where(path, what)} must be a number, not {value!r}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ArtifactError(f"{_where(path, what)} must be finite, not {value!r}")
    if ((lo is not None and result < lo) or (hi is not None and result > hi)
            or (positive and result <= 0)):
        bounds = "positive" if positive else f"in [{lo}, {hi}]"
        raise ArtifactError(f"{_where(path, what)} must be {bounds}, not {value!r}")
    return result


def sequence(value, path, what, *, length=None):
    """``value`` if it is a JSON list (of ``length`` items when given)."""
    if not isinstance(value, list):
        raise ArtifactError(f"{_where(path, what)} must be a list, not {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ArtifactError(f"{_where(path, what)} must have {length} items, not {len(value)}")
    return value


def integers(value, path, what, *, length=None, lo=None, hi=INT64_MAX):
    """``value`` as a list of ints (see :func:`integer`)."""
    return [integer(v, path, f"{what}[{i}]", lo=lo, hi=hi)
            for i, v in enumerate(sequence(value, path, what, length=length))]


def numbers(value, path, what, *, length=None, lo=None, hi=None):
    """``value`` as a list of finite floats (see :func:`number`)."""
    return [number(v, path, f"{what}[{i}]", lo=lo, hi=hi)
            for i, v in enumerate(sequence(value, path, what, length=length))]


def string(value, path, what):
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise ArtifactError(f"{_where(path, what)} must be a string, not {value!r}")
    return value


#: Deflate expands at most about 1032-fold; a member claiming more is lying about its size.
_MAX_DEFLATE_RATIO = 1100
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def npz_headers(path):
    """``{name: (shape, dtype)}`` of every array in the ``.npz`` at ``path``, read from the
    headers alone, each checked against the size of its member so that a header declaring
    a huge shape is refused before anything is allocated."""
    headers = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    reader = _HEADER_READERS.get(version)
                    if reader is None:
                        raise ArtifactError(f"{path}: array {name} has .npy version {version}")
                    shape, _, dtype = reader(f, max_header_size=10000)
                    offset = f.tell()
                if dtype.hasobject:
                    raise ArtifactError(f"{path}: array {name} holds Python objects")
                declared = math.prod(shape) * dtype.itemsize
                if declared != info.file_size - offset:
                    raise ArtifactError(f"{path}: array {name} declares shape {shape} of "
                                        f"{dtype} ({declared} bytes) but holds "
                                        f"{info.file_size - offset} bytes")
                if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + offset:
                    raise ArtifactError(f"{path}: array {name} claims {info.file_size} bytes "
                                        f"from {info.compress_size} compressed ones")
                headers[name] = (tuple(shape), dtype)
    except ArtifactError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, SyntaxError) as exc:
        raise ArtifactError(f"{path}: not a readable .npz archive ({exc})") from None
    return headers
