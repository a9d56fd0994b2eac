"""`cases`, `case`, `track`, `untrack`, `events`: the tracked cases and the event log."""

from __future__ import annotations

import argparse
import re
import sys

from monitor.cli._common import (
    EXIT_OK,
    EXIT_RUNTIME,
    Clock,
    SubParsers,
    open_app,
    parse_since,
    print_json,
)
from monitor.errors import UsageError
from sources.courts import COURTS
from sources.identity import is_docket_number, normalize_docket_number

__all__ = ["add_parsers", "cmd_case", "cmd_cases", "cmd_events", "cmd_track", "cmd_untrack"]


def add_parsers(sub: SubParsers) -> None:
    """`cases`, `case COURT DOCKET`, `track`, `untrack`, `events`."""
    p = sub.add_parser("cases", help="list tracked cases")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="include untracked cases")
    p.add_argument("--limit", type=int, metavar="N", help="at most N cases (a page)")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N cases")
    p.set_defaults(handler=cmd_cases)
    p = sub.add_parser("case", help="one case and its timeline")
    p.add_argument("court")
    p.add_argument("docket")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_case)
    p = sub.add_parser("track", help="track a case outright")
    p.add_argument("court")
    p.add_argument("docket")
    p.add_argument("--tag", action="append", default=[])
    p.set_defaults(handler=cmd_track)
    p = sub.add_parser("untrack", help="stop tracking a case (history is kept)")
    p.add_argument("court")
    p.add_argument("docket")
    p.set_defaults(handler=cmd_untrack)
    p = sub.add_parser("events", help="the event log")
    p.add_argument("--since", help="ISO date/time, or 24h, 7d")
    p.add_argument("--after", type=int, metavar="ID", help="events after this id")
    p.add_argument("--kind", action="append", help="only these kinds (globs)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="at most N events (next page: --after the last id)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_events)


def cmd_cases(args: argparse.Namespace, clock: Clock) -> int:
    """Tracked cases (all with `--all`), oldest first."""
    from monitor import queries, views  # lazy: the database stack

    with open_app(args, clock) as app:
        rows = [views.case_row(c, n) for c, n in queries.cases(
            app.engine, include_all=args.all, limit=args.limit, offset=args.offset)]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for row in rows:
        tags = ",".join(row["tags"])
        print(f"{row['court']:6} {row['docket_number']:18} {row['entry_count']:4} entries  "
              f"[{tags}] {row['case_name']}")
    if not rows:
        print("no tracked cases yet")
    return EXIT_OK


def cmd_case(args: argparse.Namespace, clock: Clock) -> int:
    """One case: its entries (oldest first), deadlines and events."""
    from monitor import queries, views  # lazy: the database stack

    court = args.court.lower()
    with open_app(args, clock) as app:
        found = queries.case_detail(app.engine, court, args.docket)
        known = found is not None or court in COURTS or queries.court_known(app.engine, court)
    if found is None:
        note = "" if known else (f"; unknown court {court!r} (court ids as CourtListener "
                                 "spells them, e.g. dcd, nysd)")
        print(f"court-monitor: no case {args.court}:{args.docket}{note}", file=sys.stderr)
        return EXIT_RUNTIME
    case, entries, deadlines, events = found
    obj = views.case_row(case, len(entries))
    obj["entries"] = [views.entry_row(e) for e in entries]
    obj["deadlines"] = [views.deadline_row(d) for d in deadlines]
    obj["events"] = [views.event_row(e) for e in events]
    if args.json:
        print_json(obj)
        return EXIT_OK
    print(f"{case.court} {case.docket_number}  {case.case_name}")
    print(f"tags: {', '.join(case.tags) or '-'}   tracked: {case.tracked}")
    for reason in case.matched_by:
        print(f"matched by watch {reason['watch']}: {reason['field']} ~ {reason['pattern']}")
    for d in obj["deadlines"]:
        note = views.deadline_note(d)
        print(f"deadline {d['due']} {d['label']} ({d['rule']}; {d['origin']}, {d['state']})"
              + (f" - {note}" if note else ""))
    for e in obj["entries"]:
        number = e["entry_number"] if e["entry_number"] is not None else "-"
        print(f"  {e['date_filed'] or '?':10} #{number:<5} {e['description']}")
    return EXIT_OK


def cmd_track(args: argparse.Namespace, clock: Clock) -> int:
    """Track a case outright (again, when it was untracked)."""
    if not re.fullmatch(r"[a-z0-9]+", args.court.lower()):
        raise UsageError(f"{args.court!r} is not a court id (CourtListener style, e.g. dcd)")
    if not is_docket_number(args.docket):
        raise UsageError(f"{args.docket!r} is not a docket number (e.g. 1:25-cv-01234)")
    with open_app(args, clock) as app:
        case, created = app.store.track(args.court.lower(), normalize_docket_number(args.docket),
                                        tags=args.tag, now=clock())
    print(f"{'tracking' if created else 'tracking again'} {case.court}:{case.docket_number}")
    return EXIT_OK


def cmd_untrack(args: argparse.Namespace, clock: Clock) -> int:
    """Stop tracking a case; its history stays."""
    with open_app(args, clock) as app:
        ok = app.store.untrack(args.court.lower(), args.docket)
    if not ok:
        print(f"court-monitor: no case {args.court}:{args.docket}", file=sys.stderr)
        return EXIT_RUNTIME
    print(f"untracked {args.court}:{args.docket} (history kept)")
    return EXIT_OK


def cmd_events(args: argparse.Namespace, clock: Clock) -> int:
    """The event log, oldest first, since a time or after an id, filtered by kind."""
    from monitor import queries, views  # lazy: the database stack

    since = parse_since(args.since, clock()) if args.since else None
    with open_app(args, clock) as app:
        events = queries.events(app.engine, since=since, after=args.after, kinds=args.kind,
                                limit=args.limit)
    rows = [views.event_row(e) for e in events]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for row in rows:
        print(f"{row['id']:6} {row['at']} {row['kind']:20} {row['summary']}")
    return EXIT_OK
