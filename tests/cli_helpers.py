"""Run the command line in-process with an injected clock (the CLI reads no other clock)."""

from __future__ import annotations

import json
from pathlib import Path
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


CONSOLE = '[[subscription]]\nname = "console"\nurls = ["console://"]\n'


def write_config(tmp_path: Path, feed_base: str, *, courts: tuple[str, ...] = ("dcd",),
                 database_url: str = "", extra: str = CONSOLE) -> str:
    """A config polling `pacer_rss` at `feed_base/<court>/rss`, a database and feeds in
    `tmp_path`, plus `extra` (watches, subscriptions, other sources)."""
    url = database_url or f"sqlite:///{tmp_path / 'monitor.db'}"
    court_list = ", ".join(f'"{c}"' for c in courts)
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "{url}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = [{court_list}]
url_template = "{feed_base}/{{court}}/rss"
interval = "15m"

{extra}
""")
    return str(path)


def event_rows(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str],
               after: int = 0) -> list[dict[str, Any]]:
    """`events --after AFTER --json` as a list of rows."""
    rows = run_json(["--config", cfg, "events", "--after", str(after)], clock, capsys)
    assert isinstance(rows, list)
    return rows


def poll_once(cfg: str, clock: FixedClock) -> None:
    """`poll --once`, which must succeed."""
    assert run(["--config", cfg, "poll", "--once"], clock) == 0
