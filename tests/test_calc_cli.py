"""The `calc` command: the worked examples through `--json`, errors, and a light import."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from typing import Any

import pytest

from monitor.cli.calc import add_parsers, run
from tests.conftest import ROOT
from tests.test_deadline_calendar import EXAMPLES


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="court-monitor")
    add_parsers(top.add_subparsers(dest="command", required=True))
    return top


def calc(*argv: str) -> tuple[int, str, str]:
    args = parser().parse_args(["calc", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run(args, out, err)
    return code, out.getvalue(), err.getvalue()


def calc_json(*argv: str) -> dict[str, Any]:
    code, out, err = calc(*argv, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def example_argv(ex: dict[str, Any]) -> list[str]:
    flag = {"calendar_days": "--days", "hours": "--hours", "working_days": "--working-days"}
    argv = ["--from", ex["trigger_date"], flag[ex["unit"]], str(ex["period"])]
    if ex["direction"] == "before":
        argv.append("--before")
    if ex["service_method"] in ("personal", "electronic", "mail", "clerk", "other-consented"):
        argv += ["--service", ex["service_method"]]
    if "DC" in ex["holiday_calendar"]:
        argv += ["--court", "dcd"]
    for day in ex.get("inaccessible_dates", []):
        argv += ["--closed", day]
    return argv


@pytest.mark.skipif(not EXAMPLES, reason="shared/deadline-examples.json absent")
@pytest.mark.parametrize("ex", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_worked_example_through_calc_json(ex: dict[str, Any]) -> None:
    data = calc_json(*example_argv(ex))
    assert set(data) == {"due", "alternative", "steps"}
    assert data["due"].startswith(ex["expected_due"])
    if "alt_expected_due" in ex:
        assert set(data["alternative"]) == {"due", "reading", "earlier"}
        assert data["alternative"]["due"].startswith(ex["alt_expected_due"])
    else:
        assert data["alternative"] is None
    assert isinstance(data["steps"], list) and data["steps"]


def test_court_adds_state_holidays_and_time_zone() -> None:
    assert calc_json("--from", "2026-04-02", "--days", "14")["due"] == "2026-04-16"
    with_court = calc_json("--from", "2026-04-02", "--days", "14", "--court", "dcd")
    assert with_court["due"] == "2026-04-17"  # DC Emancipation Day
    assert with_court["alternative"]["due"] == "2026-04-16"
    hours = calc_json("--from", "2026-05-15T10:23", "--hours", "72", "--court", "txsd")
    assert hours["due"] == "2026-05-18T10:23:00-05:00"  # Central time
    utc = calc_json("--from", "2026-05-15T10:23", "--hours", "72")
    assert utc["due"] == "2026-05-18T10:23:00+00:00"


def test_explicit_offset_is_kept_and_converted_to_the_court_zone() -> None:
    data = calc_json("--from", "2026-05-15T14:23:00+00:00", "--hours", "72", "--court", "dcd")
    assert data["due"] == "2026-05-18T10:23:00-04:00"


def test_text_output_shows_due_alternative_and_steps() -> None:
    code, out, _ = calc("--from", "2024-12-10", "--days", "14")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Due: Tue 2024-12-24"
    assert lines[1].startswith("Alternative (later): Thu 2024-12-26")
    assert "Steps:" in lines and "Tue 2024-12-10 + 14 days = Tue 2024-12-24" in out


def test_closed_is_repeatable() -> None:
    data = calc_json("--from", "2026-01-13", "--days", "14",
                     "--closed", "2026-01-27", "--closed", "2026-01-28")
    assert data["due"] == "2026-01-29"


@pytest.mark.parametrize("argv", [
    ["--from", "2026-05-15", "--hours", "72"],                   # hours need a time
    ["--from", "2026-05-15", "--days", "7", "--court", "nowhere"],
    ["--from", "2026-05-15", "--days", "7", "--before", "--service", "mail"],
])
def test_bad_input_exits_2_with_a_message(argv: list[str]) -> None:
    code, out, err = calc(*argv)
    assert code == 2 and out == "" and err.startswith("calc: ")


@pytest.mark.parametrize("argv", [
    ["--from", "2026-02-30", "--days", "7"],
    ["--from", "2026-05-15", "--days", "7", "--hours", "3"],
    ["--from", "2026-05-15"],
    ["--from", "2026-05-15", "--days", "-3"],
    ["--from", "2026-05-15", "--days", "7", "--service", "pigeon"],
    ["--from", "2026-05-15", "--days", "7", "--closed", "soon"],
])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parser().parse_args(["calc", *argv])
    assert exc.value.code == 2


MAIN = """
import argparse, sys
from monitor.cli.calc import add_parsers, run
top = argparse.ArgumentParser(prog="court-monitor")
add_parsers(top.add_subparsers(dest="command", required=True))
sys.exit(run(top.parse_args(sys.argv[1:])))
"""


def test_end_to_end_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MAIN, "calc", "--from", "2026-03-26", "--days", "60", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["due"] == "2026-05-26"
    bad = subprocess.run([sys.executable, "-c", MAIN, "calc", "--from", "x", "--days", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "--from" in bad.stderr


def test_import_is_light() -> None:
    probe = ("import sys, monitor.cli.calc; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'sqlmodel', 'sqlalchemy', 'apprise', 'httpx', 'holidays', 'pydantic'}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
