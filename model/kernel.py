"""Build and load the C kernel of the exact TTFS neuron (``kernel.c``).

The kernel is compiled on first use with the system C compiler (``$CC``, else ``cc``) and
OpenMP into a cache directory outside the source tree: ``$TTFS_KERNEL_CACHE``, else
``$XDG_CACHE_HOME/ttfs``, else ``~/.cache/ttfs``. The library's name holds a hash of the
source and the flags, so an edited source is rebuilt and stale builds are never loaded. It
needs no torch headers: tensors cross through :mod:`ctypes` as contiguous buffers.
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("kernel.c")
FLAGS = ("-O3", "-fopenmp", "-shared", "-fPIC", "-std=c11", "-lm")

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


def build(*, directory=None):
    """Compile the kernel unless a build of the same source and flags exists; return its path.

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
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join((compiler,) + FLAGS).encode()).hexdigest()[:16]
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / f"ttfs_kernel_{key}.so"
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        staged = Path(tmp) / target.name
        result = subprocess.run([compiler, str(SOURCE), "-o", str(staged), *FLAGS],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"compiling {SOURCE} with {compiler} failed: "
                               f"{result.stderr.strip()[-600:]}")
        os.replace(staged, target)
    return target


def library():
    """The loaded kernel (built on first call), with argument types declared."""
    global _library
    if _library is None:
        # idle OpenMP threads sleep instead of spinning: on a few shared cores spinning
        # threads steal the time of the working ones (measured 2x slower with 2 threads)
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        lib = ctypes.CDLL(str(build()))
        for name, argtypes in _SIGNATURES.items():
            function = getattr(lib, name)
            function.argtypes = argtypes
            function.restype = ctypes.c_int
        _library = lib
    return _library
