"""`calc`: compute one deadline from the command line, without a database.

    court-monitor calc --from 2026-03-26 --days 60 --court dcd
    court-monitor calc --from 2026-05-15T10:23 --hours 72 --json

Import-light on purpose (`calc` must start fast): `holidays` loads inside the calendar on first
use, and nothing here touches sqlmodel, apprise or httpx.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import TextIO

from monitor.cli._common import EXIT_OK, EXIT_USAGE, Clock, SubParsers
from monitor.deadlines.calendar import Computation, compute, fmt_day
from monitor.errors import DeadlineError
from sources.courts import COURTS

__all__ = ["add_parsers", "cmd_calc", "run"]

SERVICE_CHOICES = ("personal", "electronic", "mail", "clerk", "other-consented")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _moment(text: str) -> date | datetime:
    """A date, or a date-time (`2026-05-15T10:23`, with or without an offset)."""
    try:
        return datetime.fromisoformat(text) if ("T" in text or " " in text) else _date(text)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise argparse.ArgumentTypeError(
            f"not a date or date-time (YYYY-MM-DD[THH:MM[+HH:MM]]): {text!r}") from exc


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def add_parsers(subparsers: SubParsers) -> None:
    """Register `calc` and its options on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "calc", help="compute a deadline (FRCP 6(a)/6(d), FOIA working days)",
        description="Compute a deadline from a trigger date. Without --court: the federal "
                    "calendar and UTC; --court adds the court's state holidays (forward counts) "
                    "and its time zone.")
    parser.add_argument("--from", dest="trigger", required=True, type=_moment, metavar="DATE",
                        help="the trigger: YYYY-MM-DD, or a date-time for --hours")
    period = parser.add_mutually_exclusive_group(required=True)
    period.add_argument("--days", type=_count, metavar="N", help="calendar days (6(a)(1))")
    period.add_argument("--hours", type=_count, metavar="N", help="hours (6(a)(2))")
    period.add_argument("--working-days", dest="working_days", type=_count, metavar="N",
                        help="working days (FOIA, 5 U.S.C. 552(a)(6))")
    parser.add_argument("--before", action="store_true",
                        help="count backward from the event (6(a)(5))")
    parser.add_argument("--service", choices=SERVICE_CHOICES, default="electronic",
                        help="how the triggering paper was served; mail, clerk and "
                             "other-consented add 3 days (6(d)); default electronic")
    parser.add_argument("--court", metavar="ID", help="court id (dcd, nysd, ...)")
    parser.add_argument("--closed", action="append", type=_date, default=[], metavar="DATE",
                        help="a day the clerk's office was inaccessible (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_calc)


def cmd_calc(args: argparse.Namespace, clock: Clock) -> int:
    """The handler: `run` on stdout and stderr (the clock is not read: the trigger is given)."""
    return run(args)


def _unit_and_period(args: argparse.Namespace) -> tuple[str, int]:
    for unit, value in (("calendar_days", args.days), ("hours", args.hours),
                        ("working_days", args.working_days)):
        if value is not None:
            return unit, int(value)
    raise DeadlineError("give one of --days, --hours, --working-days")


def _court_calendar(court_id: str | None) -> tuple[str | None, str]:
    """(state, time zone) of `court_id`; without a court the federal calendar and UTC."""
    if not court_id:
        return None, "UTC"
    court = COURTS.get(court_id.strip().lower())
    if court is None:
        raise DeadlineError(f"unknown court {court_id!r} (known: {', '.join(sorted(COURTS))})")
    return (court.state or None), court.timezone


def _render_text(result: Computation, out: TextIO) -> None:
    def show(value: date | datetime) -> str:
        return value.isoformat() if isinstance(value, datetime) else fmt_day(value)

    out.write(f"Due: {show(result.due)}\n")
    for alt in result.alternatives:
        side = "earlier" if alt.earlier else "later"
        out.write(f"Alternative ({side}): {show(alt.due)} -- {alt.reading}\n")
    out.write("Steps:\n")
    for number, step in enumerate(result.steps, 1):
        out.write(f"  {number}. {step}\n")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `calc`: print the due date, the alternative and the steps (or `--json`).

    Returns the exit code: 0, or 2 with a message on stderr when the input cannot be counted.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        unit, period = _unit_and_period(args)
        state, timezone = _court_calendar(args.court)
        result = compute(
            args.trigger, period, unit,  # type: ignore[arg-type]
            direction="before" if args.before else "after",
            service=args.service, state=state,
            closures=args.closed, timezone=timezone,
        )
    except DeadlineError as exc:
        err.write(f"calc: {exc}\n")
        return EXIT_USAGE
    if args.json:
        out.write(json.dumps(result.to_json()) + "\n")
    else:
        _render_text(result, out)
    return EXIT_OK
