"""The ``ttfs`` command line: help lists every stage, usage errors are one line with exit 2."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flow import cli

TTFS = Path(sys.executable).parent / "ttfs"


def _stage_names():
    parser = cli.build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    return sorted(subparsers.choices)


def _run(*args):
    return subprocess.run([str(TTFS), *args], capture_output=True, text=True, timeout=120)


def test_cli_console_script_is_installed():
    assert TTFS.is_file(), f"{TTFS} missing: run `pip install -e .` (make setup)"


def test_cli_help_lists_every_stage():
    result = _run("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: ttfs")
    names = _stage_names()
    assert "data" in names
    for name in names:
        # argparse puts a long name's help on the next line
        assert re.search(rf"^    {re.escape(name)}(  |$)", result.stdout, re.MULTILINE), (
            f"stage {name!r} missing from --help")


def _main(*args):
    with pytest.raises(SystemExit) as exc_info:
        cli.main(list(args))
    return exc_info.value.code


def test_cli_every_stage_has_help(capsys):
    for name in _stage_names():
        assert _main(name, "--help") == 0, name
        assert capsys.readouterr().out.startswith(f"usage: ttfs {name}")


@pytest.mark.parametrize("args, pattern", [
    ((), "ttfs: the following arguments are required: STAGE"),
    (("no-such-stage",), "ttfs: argument STAGE: invalid choice: 'no-such-stage'"),
    (("data", "--no-such-option"), "ttfs: unrecognized arguments: --no-such-option"),
    (("data", "cifar"), "ttfs: error: unknown data set 'cifar': choose from mnist, fashion-mnist"),
], ids=["no stage", "unknown stage", "unknown option", "unknown data set"])
def test_cli_usage_error_is_one_line_with_status_2(args, pattern, capsys):
    assert _main(*args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(pattern), err
    assert err.count("\n") == 1


def test_cli_console_script_usage_error_has_no_traceback():
    result = _run("no-such-stage")
    assert result.returncode == 2
    assert result.stderr.startswith("ttfs: argument STAGE: invalid choice: 'no-such-stage'")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
