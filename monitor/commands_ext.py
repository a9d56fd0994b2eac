"""Command groups of the larger parts: calc, deadlines, alerts, feeds, matters, agreements."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from sources.base import Clock

__all__ = ["add_parsers", "dispatch"]

EXIT_OK, EXIT_RUNTIME = 0, 1


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the command groups (cheap: nothing heavy is imported here)."""
    from monitor.deadlines import calc

    calc.add_parser(sub)
    p = sub.add_parser("deadlines", help="open deadlines, nearest first")
    p.add_argument("--days", type=int, help="only those due within N days")
    p.add_argument("--all", action="store_true", help="include met and vacated ones")
    p.add_argument("--json", action="store_true")
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
    p = sub.add_parser("alerts", help="the outbox: test a subscription, list, requeue")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    q = asub.add_parser("test", help="send a test message to a subscription's channels")
    q.add_argument("name")
    q = asub.add_parser("pending", help="deliveries waiting or failed")
    q.add_argument("--json", action="store_true")
    asub.add_parser("retry", help="requeue failed deliveries")
    asub.add_parser("dispatch", help="send what is due now")
    p = sub.add_parser("feeds", help="render the Atom and ICS feeds whose events changed")
    p.add_argument("--rebuild", action="store_true", help="render every feed again")
    from monitor import commands_agency, commands_replay

    commands_agency.add_parsers(sub)
    commands_replay.add_parser(sub)


def dispatch(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run a command registered here."""
    if args.command == "calc":
        from monitor.deadlines import calc

        return calc.run(args)
    if args.command == "replay":
        from monitor import commands_replay

        return commands_replay.run(args)
    handlers: dict[str, Callable[[argparse.Namespace, Clock], int]] = {
        "deadlines": cmd_deadlines,
        "deadline": cmd_deadline,
        "alerts": cmd_alerts,
        "feeds": cmd_feeds,
    }
    if args.command in handlers:
        return handlers[args.command](args, clock)
    from monitor import commands_agency

    return commands_agency.dispatch(args, clock=clock)


def cmd_deadlines(args: argparse.Namespace, clock: Clock) -> int:
    from sqlmodel import col, select

    from monitor.commands import _app, print_json
    from monitor.db import read_session
    from monitor.models import Deadline
    from monitor.queries import deadline_note, deadline_row

    app = _app(args, clock)
    try:
        with read_session(app.engine) as session:
            query = select(Deadline).order_by(col(Deadline.due_date))
            if not args.all:
                query = query.where(col(Deadline.state).in_(
                    ["open", "overdue", "unverified", "suspended"]))
            if args.days is not None:
                query = query.where(Deadline.due_date <= clock().date() + timedelta(days=args.days))
            rows = [deadline_row(d) for d in session.exec(query).all()]
    finally:
        app.close()
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
    from monitor.commands import _app

    app = _app(args, clock)
    try:
        if args.deadline_command == "add":
            return _add_deadline(app, args, clock)
        from monitor.deadlines.service import mark_deadline

        state = "met" if args.deadline_command == "met" else "vacated"
        row = mark_deadline(app.engine, app.store.listeners, args.id, state, now=clock())
        if row is None:
            print(f"court-monitor: no deadline {args.id}", file=sys.stderr)
            return EXIT_RUNTIME
        print(f"deadline {row.id} ({row.label}, {row.due_date}) {state}")
        return EXIT_OK
    finally:
        app.close()


def _add_deadline(app: Any, args: argparse.Namespace, clock: Clock) -> int:
    from monitor.db import write_session
    from monitor.deadlines.service import DeadlineSpec, upsert_deadline
    from monitor.models import Matter
    from monitor.queries import find_case
    from sources.courts import court_timezone

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


def cmd_feeds(args: argparse.Namespace, clock: Clock) -> int:
    """`feeds [--rebuild]`: what the daemon's feeds job does, now."""
    from monitor.commands import _app
    from monitor.housekeeping import render_all_feeds

    app = _app(args, clock)
    try:
        render_all_feeds(app, full=args.rebuild)
        print(f"feeds {'rebuilt' if args.rebuild else 'up to date'} in {app.config.feeds_dir}")
    finally:
        app.close()
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace, clock: Clock) -> int:
    from monitor.alerts.channels import AppriseNotifier
    from monitor.commands import print_json

    if args.alerts_command == "test":
        from monitor.alerts.outbox import send_test
        from monitor.config import load_config

        config = load_config(args.config)
        sub = next((s for s in config.subscriptions if s.name == args.name), None)
        if sub is None:
            names = ", ".join(s.name for s in config.subscriptions)
            raise ConfigError(f"no subscription {args.name!r} (have: {names})",
                              path=config.path, key="subscription")
        send_test(sub, AppriseNotifier(), clock())
        print(f"test message sent to {len(sub.channels)} channel(s) of {sub.name}")
        return EXIT_OK
    from monitor.commands import _app

    app = _app(args, clock)
    try:
        if args.alerts_command == "pending":
            from monitor.alerts.status import pending

            rows = [p.as_json() for p in pending(app.engine)]
            if args.json:
                print_json(rows)
            else:
                for r in rows:
                    print(f"{r['id']:6} {r['status']:8} {r['subscription']:14} attempts "
                          f"{r['attempts']} next {r['next_try'] or 'now'}  {r['summary']}")
                    if r["last_error"]:
                        print(f"       last error: {r['last_error']}")
                if not rows:
                    print("outbox empty")
            return EXIT_OK
        if args.alerts_command == "retry":
            from monitor.alerts.status import retry_failed

            print(f"requeued {retry_failed(app.engine)} deliveries")
            return EXIT_OK
        from monitor.housekeeping import DRAIN_BUDGET, dispatch_outbox

        sent = dispatch_outbox(app, budget=DRAIN_BUDGET)
        print(f"outbox: {sent.sent} sent, {sent.retrying + sent.gave_up} failed, "
              f"{sent.unanswered} unanswered, {sent.left} left")
        return EXIT_OK
    finally:
        app.close()
