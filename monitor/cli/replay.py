"""`court-monitor replay FILE [--json] [--court C] [--checked daily|entry-days] [--until DATE]`.

Replays a docket file day by day into a scratch database in a temporary directory (never the
configured database, which is not opened) and prints the ledger of deadline events. The config is
read only for its deadline settings (`[deadlines]`, `[[deadline_rule]]`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

from monitor.cli._common import EXIT_OK, Clock, SubParsers, print_json
from monitor.errors import ParseError

__all__ = ["add_parsers", "cmd_replay"]

HELP = """\
Replay a docket (juriscraper's parsed-docket JSON, or CourtListener v4 {"docket", "docket_entries"})
day by day with the clock at each day, through the same store, deadline engine and reminder job
as the daemon, into a throwaway database. Prints the ledger: day, event, deadline, due, entry,
why (deadline.* events and case.closed). --json prints one array of
{day, event, deadline, due, why, entry}. Entries of a day are seen at 12:00 court time, reminders
run at remind_at. By default the docket counts as read every day up to its last entry (the file is
the full record up to there; --checked entry-days: only days with entries) and never after, so a
deadline due past the record is unverified, not overdue."""


def add_parsers(sub: SubParsers) -> None:
    """Register `replay` (cheap: imports nothing heavy)."""
    p = sub.add_parser("replay", help="replay a docket file day by day; print its deadline ledger",
                       description=HELP)
    p.add_argument("file", help="docket JSON (juriscraper parse or CourtListener v4)")
    p.add_argument("--json", action="store_true", help="one JSON array of ledger rows")
    p.add_argument("--court", default="",
                   help="court id (e.g. dcd): when the file names none, or to override it")
    p.add_argument("--checked", choices=["daily", "entry-days"], default="daily",
                   help="days the docket counts as read (default: every day)")
    p.add_argument("--until", type=date.fromisoformat, metavar="DATE",
                   help="keep the clock running to this day (YYYY-MM-DD)")
    p.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace, clock: Clock) -> int:
    """Read the file, replay it in a temporary directory, print the ledger (the replay runs
    its own clock, day by day)."""
    from monitor.config import load_config  # lazy: pydantic off `--help`
    from monitor.replay import ReplayOptions, format_ledger, replay  # lazy: the database stack
    from monitor.replay_input import docket_label, read_docket  # lazy: the database stack

    path = Path(args.file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror}", source="replay") from exc
    except ValueError as exc:
        raise ParseError(f"{path} is not JSON: {exc}", source="replay") from exc
    docket = read_docket(data, court=args.court.strip().lower(), source="replay")
    config = load_config(args.config)
    options = ReplayOptions(checked=args.checked, until=args.until)
    with tempfile.TemporaryDirectory(prefix="court-monitor-replay-") as workdir:
        rows = replay(docket, config, Path(workdir), options)
    if args.json:
        print_json([row.to_json() for row in rows])
    else:
        heading = f"{docket_label(docket.case)}  {docket.case.case_name}".rstrip()
        print(format_ledger(rows, heading))
    return EXIT_OK
