"""Run the command line in-process with an injected clock (the CLI reads no other clock)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.cli import build_parser, run_command
from tests.conftest import FixedClock


def run(argv: list[str], clock: FixedClock) -> int:
    """`court-monitor ARGV` at the clock's time; returns the exit code."""
    return run_command(build_parser().parse_args(argv), clock=clock)


def run_json(argv: list[str], clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert run([*argv, "--json"], clock) == 0
    return json.loads(capsys.readouterr().out)
