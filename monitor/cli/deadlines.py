"""`deadlines` (the open ones, nearest first) and `deadline add | met | vacate`."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING

from monitor.cli._common import EXIT_OK, EXIT_RUNTIME, Clock, SubParsers, open_app, print_json
from monitor.errors import ConfigError
from sources.courts import court_timezone

if TYPE_CHECKING:
    from monitor.app import App

__all__ = ["add_parsers", "cmd_deadline", "cmd_deadlines"]


def add_parsers(sub: SubParsers) -> None:
    """`deadlines [--days N] [--all] [--json]`, `deadline add SUBJECT --due --label`,
    `deadline met ID`, `deadline vacate ID`."""
    p = sub.add_parser("deadlines", help="open deadlines, nearest first")
    p.add_argument("--days", type=int, help="only those due within N days")
    p.add_argument("--all", action="store_true", help="include met and vacated ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_deadlines)
    p = sub.add_parser("deadline", help="add a deadline by hand, or mark one met or vacated")
    dsub = p.add_subparsers(dest="deadline_command", required=True)
    add = dsub.add_parser("add", help="a deadline you know of")
    add.add_argument("subject", help="COURT:DOCKET (dcd:1:26-cv-00412) or matter:ID")
    add.add_argument("--due", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    add.add_argument("--label", required=True)
    add.add_argument("--note", default="")
    for name in ("met", "vacate"):
        q = dsub.add_parser(name, help=f"mark a deadline {name}")
        q.add_argument("id", type=int)
    p.set_defaults(handler=cmd_deadline)


def cmd_deadlines(args: argparse.Namespace, clock: Clock) -> int:
    """Open deadlines (all with `--all`), nearest first."""
    from sqlmodel import col, select  # lazy: the database stack

    from monitor.db import read_session  # lazy: the database stack
    from monitor.models import Deadline  # lazy: the database stack
    from monitor.views import deadline_note, deadline_row  # lazy: the database stack

    with open_app(args, clock) as app, read_session(app.engine) as session:
        query = select(Deadline).order_by(col(Deadline.due_date))
        if not args.all:
            query = query.where(col(Deadline.state).in_(
                ["open", "overdue", "unverified", "suspended"]))
        if args.days is not None:
            query = query.where(Deadline.due_date <= clock().date() + timedelta(days=args.days))
        rows = [deadline_row(d) for d in session.exec(query).all()]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for d in rows:
        alt = f" (alternative {d['alternative']['due']})" if d["alternative"] else ""
        note = deadline_note(d)
        print(f"{d['id']:5} {d['due']:10} {d['state']:8} {d['subject']:28} {d['label']}"
              f" [{d['rule'] or d['origin']}]{alt}" + (f" - {note}" if note else ""))
    if not rows:
        print("no open deadlines")
    return EXIT_OK


def cmd_deadline(args: argparse.Namespace, clock: Clock) -> int:
    """Add a deadline by hand, or mark one met or vacated."""
    from monitor.deadlines.service import mark_deadline  # lazy: the database stack

    with open_app(args, clock) as app:
        if args.deadline_command == "add":
            return _add_deadline(app, args, clock)
        state = "met" if args.deadline_command == "met" else "vacated"
        row = mark_deadline(app.engine, app.store.listeners, args.id, state, now=clock())
        if row is None:
            print(f"court-monitor: no deadline {args.id}", file=sys.stderr)
            return EXIT_RUNTIME
        print(f"deadline {row.id} ({row.label}, {row.due_date}) {state}")
        return EXIT_OK


def _add_deadline(app: App, args: argparse.Namespace, clock: Clock) -> int:
    from monitor.db import write_session  # lazy: the database stack
    from monitor.deadlines.service import DeadlineSpec, upsert_deadline  # lazy: the stack
    from monitor.models import Matter  # lazy: the database stack
    from monitor.queries import find_case  # lazy: the database stack

    now = clock()
    with write_session(app.engine) as session:
        if args.subject.startswith("matter:"):
            matter_id = args.subject.split(":", 1)[1]
            matter = session.get(Matter, matter_id)
            if matter is None:
                raise ConfigError(f"no matter {matter_id!r}", key="subject")
            spec = DeadlineSpec(key=f"manual:matter:{matter_id}:{args.label.lower()}",
                                subject=f"matter:{matter_id}", label=args.label,
                                due_date=args.due, origin="manual", matter_id=matter_id,
                                steps=(f"Entered by hand. {args.note}".strip(),),
                                private=matter.private)
        else:
            court, _, docket = args.subject.partition(":")
            case = find_case(session, court.lower(), docket)
            if case is None:
                raise ConfigError(f"no case {args.subject!r} (track it first)", key="subject")
            spec = DeadlineSpec(key=f"manual:case:{case.id}:{args.label.lower()}",
                                subject=f"{case.court}:{case.docket_number}", label=args.label,
                                due_date=args.due, origin="manual", case_id=case.id,
                                timezone=court_timezone(case.court),
                                steps=(f"Entered by hand. {args.note}".strip(),))
        event = upsert_deadline(session, app.store.listeners, spec, now=now, source_id="cli")
    print(event.summary if event is not None else "deadline unchanged")
    return EXIT_OK
