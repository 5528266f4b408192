"""Build and load the C kernel of the exact TTFS neuron (``kernel.c``).

The kernel is compiled on first use with the system C compiler (``$CC``, else ``cc``) and
OpenMP into a cache directory outside the source tree: ``$TTFS_KERNEL_CACHE``, else
``$XDG_CACHE_HOME/ttfs``, else ``~/.cache/ttfs``. It is built for the host's instruction set
(``-march=native`` where the compiler accepts it: wider vectors) with ``-ffp-contract=off``,
so no multiply-add is fused and the results are bitwise those of a portable build. The
library's name holds a hash of the source, the flags and the instruction-set macros the
compiler defines for the host, so an edited source is rebuilt and a build for another CPU
(a shared cache directory) is never loaded. It needs no torch headers: tensors cross through
:mod:`ctypes` as contiguous buffers.
"""
import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("kernel.c")
FLAGS = ("-O3", "-ffp-contract=off", "-fopenmp", "-shared", "-fPIC", "-std=c11", "-lm")
NATIVE = "-march=native"

_i32 = ctypes.c_int32
_f64 = ctypes.c_double
_ptr = ctypes.c_void_p
_SIGNATURES = {
    "ttfs_forward": [_i32, _i32, _i32, _ptr, _ptr, _f64, _f64, _i32, _ptr, _ptr, _ptr, _ptr,
                     _ptr],
    "ttfs_backward": [_i32, _i32, _i32, _ptr, _ptr, _ptr, _ptr, _ptr, _ptr, _ptr, _ptr, _f64,
                      _i32, _ptr, _ptr],
    "ttfs_vhat": [_i32, _i32, _i32, _ptr, _ptr, _ptr, _ptr, _ptr, _f64, _f64, _i32, _ptr, _ptr,
                  _ptr, _ptr],
}
_library = None


def cache_dir():
    """Directory holding compiled kernels (see the module docstring)."""
    if os.environ.get("TTFS_KERNEL_CACHE"):
        return Path(os.environ["TTFS_KERNEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ttfs"


def _native_macros(compiler):
    """The macros ``compiler -march=native`` predefines (they name the host's instruction
    sets), or None when it does not accept ``-march=native``."""
    probe = subprocess.run([compiler, NATIVE, "-dM", "-E", "-x", "c", os.devnull],
                           capture_output=True, text=True)
    return probe.stdout if probe.returncode == 0 else None


def build(*, directory=None, native=True, source=None):
    """Compile the kernel unless a build of the same source and flags exists; return its path.

    ``native=False`` builds for the compiler's default instruction set (the same results,
    bitwise, more slowly); ``source`` is another kernel source to build (benchmarks compare
    an older one), by default ``kernel.c``.

    Raises
    ------
    RuntimeError
        if no C compiler is found or compilation fails (the message holds the compiler's
        error output).
    """
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C compiler {compiler!r} found: the TTFS kernel is built with a "
                           "C compiler with OpenMP (apt-get install gcc, or set CC)")
    macros = _native_macros(compiler) if native else None
    flags = FLAGS + ((NATIVE,) if macros is not None else ())
    source = Path(source) if source is not None else SOURCE
    key = hashlib.sha256(source.read_bytes() + " ".join((compiler,) + flags).encode()
                         + (macros or "").encode()).hexdigest()[:16]
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / f"ttfs_kernel_{key}.so"
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        staged = Path(tmp) / target.name
        result = subprocess.run([compiler, str(source), "-o", str(staged), *flags],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"compiling {source} with {compiler} failed: "
                               f"{result.stderr.strip()[-600:]}")
        os.replace(staged, target)
    return target


def load(path):
    """Load a built kernel from ``path`` with its functions' argument types declared."""
    lib = ctypes.CDLL(str(path))
    for name, argtypes in _SIGNATURES.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = ctypes.c_int
    return lib


def library():
    """The loaded kernel (built on first call), with argument types declared."""
    global _library
    if _library is None:
        _library = load(build())  # OMP_WAIT_POLICY: see model/__init__.py
    return _library


@contextlib.contextmanager
def using(lib):
    """Run the model on another loaded kernel ``lib`` inside the block (benchmarks, tests)."""
    global _library
    previous, _library = _library, lib
    try:
        yield lib
    finally:
        _library = previous
