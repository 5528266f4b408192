"""Run transients in the ngspice shared library, isolated in a worker process.

After some netlist errors the ngspice shared library cannot recover, and every later
simulation in the same process fails. A :class:`Simulator` therefore keeps one worker
process that loads libngspice and runs decks one after the other; when ngspice reports an
error, the worker sends the message back and exits, the caller gets a :class:`SpiceError`,
and the next deck starts a fresh worker. A worker is a fork of the caller (fast, and
scripts need no ``__main__`` guard) unless the caller's process has loaded libngspice
itself, which a fork would inherit, possibly poisoned: then it starts from a clean
interpreter (``forkserver``, else ``spawn``).

PySpice's own ``NgSpiceShared.run`` treats any line on ngspice's stderr as a failure (even
notes), so the worker sends commands through the shared library directly and decides from
the messages and the returned vectors whether the run succeeded.
"""
import logging
import multiprocessing
import os
import re

import numpy as np

from hardware import tools


class SpiceError(RuntimeError):
    """ngspice rejected a netlist or a simulation failed; the message quotes ngspice."""


_ERROR = re.compile(r"error|too small|aborted|singular|fatal|not parsed|unknown|no such",
                    re.IGNORECASE)


#: ngspice's ``gmin``, the conductance it puts across every junction (default 1e-12 S).
#: The default is a leak: the membrane carries two cascode drains per synapse, so at 784
#: inputs 1568 of them, 0.6 nA at mid-swing, twice a unit current of the 8-bit headline
#: network (0.31 nA), with a voltage dependence no trim takes out. 1e-18 S leaks less than
#: the junctions themselves (``js_A_per_m2``: 1e-17 A per unit drain).
GMIN_S = 1e-18


def deck(circuit, *, step_s, end_s, uic=False, save=(), options=None):
    """The full deck text of a transient of ``circuit`` (a PySpice ``Circuit`` or its text).

    ``save`` lists the vectors to keep (``"v(mem)"``, ``"i(vdd)"``); by default ngspice
    keeps every node voltage and source current. ``options`` is a dict of ``.options``,
    on top of ``gmin`` = :data:`GMIN_S`.
    """
    if not (0 < step_s < end_s):
        raise ValueError(f"need 0 < step_s < end_s, got step_s={step_s}, end_s={end_s}")
    lines = [str(circuit).rstrip("\n")]
    options = {"gmin": GMIN_S, **(options or {})}
    if options:
        lines.append(".options " + " ".join(f"{k}={v}" for k, v in options.items()))
    if save:
        lines.append(".save " + " ".join(save))
    lines.append(f".tran {step_s:.9g} {end_s:.9g}{' uic' if uic else ''}")
    lines.append(".end")
    return "\n".join(lines) + "\n"


def _vector_name(name):
    """ngspice's name of a saved vector: ``v(x)`` -> ``x``, ``i(vdd)`` -> ``vdd#branch``."""
    name = name.strip().lower()
    if name.startswith("v(") and name.endswith(")"):
        return name[2:-1]
    if name.startswith("i(") and name.endswith(")"):
        return name[2:-1] + "#branch"
    return name


def _simulate(ng, lib, ffi, circuit_error, text, vectors):
    """Load and run one deck in this (worker) process; returns {name: array}."""
    ng.clear_output()
    try:
        ng.load_circuit(text)
    except (NameError, circuit_error) as exc:
        raise SpiceError(_messages(ng) or f"ngspice rejected the netlist ({exc})") from None
    if _ERROR.search(ng.stdout + "\n" + ng.stderr):
        raise SpiceError(_messages(ng))
    ng.clear_output()
    rc = lib.ngSpice_Command(b"run")
    if rc or _ERROR.search(ng.stdout + "\n" + ng.stderr):
        raise SpiceError(_messages(ng) or f"ngspice run returned {rc}")
    result = {}
    for name in ("time",) + tuple(vectors):
        info = lib.ngGet_Vec_Info(_vector_name(name).encode())
        if info == ffi.NULL or info.v_realdata == ffi.NULL:
            raise SpiceError(f"ngspice returned no vector {name!r}")
        result[name] = np.frombuffer(ffi.buffer(info.v_realdata, info.v_length * 8),
                                     dtype=np.float64).copy()
    for command in (b"destroy all", b"remcirc"):
        lib.ngSpice_Command(command)
    return result


def _messages(ng):
    """The error lines of ngspice's output, each with the line after it (the culprit)."""
    lines = [line.strip() for line in (ng.stdout + "\n" + ng.stderr).splitlines()]
    lines = [line for line in lines if line]
    wanted = []
    for index, line in enumerate(lines):
        if _ERROR.search(line):
            wanted += lines[index:index + 2]
    return " ".join(dict.fromkeys(wanted))[:1000]


def _worker(conn):
    # only in the worker process: PySpice logs every ngspice stderr note as an error, and
    # the worker reports real errors through the pipe instead
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError, NgSpiceShared, ffi

    ng = NgSpiceShared.new_instance()
    lib = ng._ngspice_shared
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            conn.send(("ok", _simulate(ng, lib, ffi, NgSpiceCircuitError, *job)))
        except SpiceError as exc:
            conn.send(("error", str(exc)))
            return


def _ngspice_loaded_here():
    """Whether this process has libngspice mapped (True when it cannot tell)."""
    try:
        with open("/proc/self/maps") as maps:
            return "libngspice" in maps.read()
    except OSError:
        return True


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and not _ngspice_loaded_here():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class Simulator:
    """A worker process running ngspice transients; use as a context manager.

    Parameters
    ----------
    timeout_s : longest time one deck may run before the worker is killed

    Raises
    ------
    hardware.tools.SimulatorMissing
        if the ngspice shared library is not installed.
    """

    def __init__(self, *, timeout_s=120.0):
        tools.require("ngspice")
        library = tools.ngspice_library()
        if library:
            os.environ.setdefault("NGSPICE_LIBRARY_PATH", library)
        self._timeout_s = float(timeout_s)
        self._process = None
        self._conn = None
        #: how many workers were discarded after an ngspice error
        self.restarts = 0

    def _start(self):
        context = _context()
        parent, child = context.Pipe()
        self._process = context.Process(target=_worker, args=(child,), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent

    def run(self, text, vectors):
        """Run the deck ``text`` (see :func:`deck`) and return ``{"time": t, name: values}``
        for each vector name in ``vectors``.

        Raises
        ------
        SpiceError
            if ngspice reports an error, returns no such vector, dies or runs past the timeout.
        """
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._conn.send((text, tuple(vectors)))
            if not self._conn.poll(self._timeout_s):
                self._stop(kill=True)
                raise SpiceError(f"ngspice ran longer than {self._timeout_s:g} s; worker killed")
            status, payload = self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            code = self._process.exitcode if self._process else None
            self._stop(kill=True)
            raise SpiceError(f"the ngspice worker died (exit code {code})") from None
        if status == "error":
            self.restarts += 1
            self._stop(kill=False)
            raise SpiceError(payload)
        return payload

    def _stop(self, kill):
        if self._process is None:
            return
        if kill and self._process.is_alive():
            self._process.kill()
        else:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()
        self._process = self._conn = None

    def close(self):
        """Stop the worker (idempotent)."""
        self._stop(kill=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
