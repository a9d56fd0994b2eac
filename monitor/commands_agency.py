"""Commands of the agency side: matters and 287(g) agreements."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from sources.base import Clock

__all__ = ["add_parsers", "dispatch"]

EXIT_OK, EXIT_RUNTIME = 0, 1


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`matters`, `matter ID`, `agreements`."""
    p = sub.add_parser("matters", help="agency matters and their clocks")
    p.add_argument("--overdue", action="store_true", help="only overdue ones")
    p.add_argument("--json", action="store_true")
    msub = p.add_subparsers(dest="matters_command")
    add = msub.add_parser("add", help="watch a records request, complaint or application")
    add.add_argument("id")
    add.add_argument("--kind", required=True,
                     choices=["foia", "foia-appeal", "complaint", "application"])
    add.add_argument("--agency", required=True)
    add.add_argument("--reference", default="")
    add.add_argument("--filed", type=date.fromisoformat)
    add.add_argument("--received", type=date.fromisoformat)
    add.add_argument("--expect-response-days", type=int)
    add.add_argument("--unusual-circumstances", action="store_true")
    add.add_argument("--tag", action="append", default=[])
    add.add_argument("--private", action="store_true")
    add.add_argument("--case", default="", help="COURT:DOCKET of the lawsuit about it")
    for name, text in (("pause", "the agency waits on the requester"),
                       ("resume", "the requester answered"), ("close", "the agency answered")):
        q = msub.add_parser(name, help=text)
        q.add_argument("id")
        q.add_argument("--on", type=date.fromisoformat, help="date (default today)")
    q = msub.add_parser("status", help="set a matter's status by hand")
    q.add_argument("id")
    q.add_argument("text")
    p = sub.add_parser("matter", help="one matter with its clock and the lawsuit's timeline")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("agreements", help="287(g) agreements as last published by ICE")
    p.add_argument("--state", help="two-letter state, e.g. TX")
    p.add_argument("--county")
    p.add_argument("--status", choices=["participating", "pending", "removed"])
    p.add_argument("--history", metavar="AGENCY",
                   help="an agreement's life across snapshots: names, models, dates, absences")
    p.add_argument("--snapshots", action="store_true",
                   help="every list file fetched: applied, baseline or quarantined, and notes")
    p.add_argument("--accept-quarantined", choices=["participating", "pending"], metavar="LIST",
                   help="apply LIST's quarantined snapshot as it is (ICE really shrank it)")
    p.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run `matters`, `matter` or `agreements`."""
    from monitor.commands import _app

    app = _app(args, clock)
    try:
        if args.command == "agreements":
            return _agreements(app, args)
        from monitor.matters import sync_config_matters

        sync_config_matters(app.engine, app.config, now=clock(), listeners=app.store.listeners)
        if args.command == "matter":
            return _matter(app, args, clock)
        return _matters(app, args, clock)
    finally:
        app.close()


def _matter_row(matter: Any, clock_row: Any) -> dict[str, Any]:
    from monitor.queries import deadline_row

    return {
        "id": matter.id, "kind": matter.kind, "agency": matter.agency,
        "reference": matter.reference,
        "filed": matter.filed.isoformat() if matter.filed else None,
        "received": matter.received.isoformat() if matter.received else None,
        "status": matter.status or None, "status_history": list(matter.status_history),
        "tags": list(matter.tags), "private": matter.private, "case": matter.case_ref or None,
        "closed": matter.closed, "escalation_step": matter.escalation_step,
        "pauses": list(matter.pauses),
        "clock": deadline_row(clock_row) if clock_row is not None else None,
        "overdue": bool(clock_row is not None and clock_row.state == "overdue"),
    }


def _matters(app: Any, args: argparse.Namespace, clock: Clock) -> int:
    from sqlmodel import col, select

    from monitor.commands import print_json
    from monitor.db import read_session
    from monitor.models import Deadline, Matter

    if args.matters_command:
        return _matters_change(app, args, clock)
    with read_session(app.engine) as session:
        rows = []
        for matter in session.exec(select(Matter).order_by(col(Matter.created_at))).all():
            clock_row = session.exec(select(Deadline).where(
                Deadline.key == f"matter:{matter.id}:clock")).first()
            rows.append(_matter_row(matter, clock_row))
    if args.overdue:
        rows = [r for r in rows if r["overdue"]]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        due = r["clock"]["due"] if r["clock"] else "-"
        flag = "OVERDUE" if r["overdue"] else ("closed" if r["closed"] else "open")
        print(f"{r['id']:20} {r['kind']:12} {r['agency']:14} due {due:10} {flag:8} "
              f"{r['status'] or ''}")
    if not rows:
        print("no matters")
    return EXIT_OK


def _matters_change(app: Any, args: argparse.Namespace, clock: Clock) -> int:
    from monitor.config import MatterConfig
    from monitor.db import write_session
    from monitor.matters import pause_matter, set_matter_status, upsert_matter

    now = clock()
    listeners = app.store.listeners
    if args.matters_command == "add":
        cfg = MatterConfig(id=args.id, kind=args.kind, agency=args.agency,
                           reference=args.reference, filed=args.filed, received=args.received,
                           expect_response_days=args.expect_response_days,
                           unusual_circumstances=args.unusual_circumstances, tags=args.tag,
                           private=args.private, case=args.case)
        with write_session(app.engine) as session:
            events = upsert_matter(session, listeners, cfg, app.config, now=now)
        for e in events:
            print(e.summary)
        return EXIT_OK
    if args.matters_command == "status":
        with write_session(app.engine) as session:
            events = set_matter_status(session, listeners, args.id, args.text, now=now,
                                       source_id="cli")
        print(events[0].summary if events else "status unchanged")
        return EXIT_OK
    on = args.on or now.date()
    if args.matters_command == "close":
        return _close(app, args.id, now)
    events = pause_matter(app.engine, app.config, args.id, on=on,
                          resume=args.matters_command == "resume", now=now, listeners=listeners)
    print(f"matter {args.id} {args.matters_command}d on {on}")
    for e in events:
        print(e.summary)
    return EXIT_OK


def _close(app: Any, matter_id: str, now: Any) -> int:
    from sqlmodel import select

    from monitor.db import write_session
    from monitor.deadlines.service import mark_deadline
    from monitor.models import Deadline, Matter

    with write_session(app.engine) as session:
        matter = session.get(Matter, matter_id)
        if matter is None:
            raise ConfigError(f"no matter {matter_id!r}", key="id")
        matter.closed = True
        session.add(matter)
        clock_row = session.exec(select(Deadline).where(
            Deadline.key == f"matter:{matter_id}:clock")).first()
    if clock_row is not None and clock_row.id is not None:
        mark_deadline(app.engine, app.store.listeners, clock_row.id, "met", now=now)
    print(f"matter {matter_id} closed")
    return EXIT_OK


def _matter(app: Any, args: argparse.Namespace, clock: Clock) -> int:
    from sqlmodel import select

    from monitor.commands import event_row, print_json
    from monitor.db import read_session
    from monitor.models import Deadline, Event, Matter
    from monitor.queries import find_case

    with read_session(app.engine) as session:
        matter = session.get(Matter, args.id)
        if matter is None:
            print(f"court-monitor: no matter {args.id}", file=sys.stderr)
            return EXIT_RUNTIME
        clock_row = session.exec(select(Deadline).where(
            Deadline.key == f"matter:{matter.id}:clock")).first()
        obj = _matter_row(matter, clock_row)
        events = session.exec(select(Event).where(Event.matter_id == matter.id)).all()
        case_events: list[Any] = []
        if matter.case_ref:
            court, _, docket = matter.case_ref.partition(":")
            case = find_case(session, court, docket)
            if case is not None:
                case_events = list(session.exec(select(Event).where(
                    Event.case_id == case.id)).all())
    timeline = sorted([*events, *case_events], key=lambda e: (e.at, e.id))
    obj["timeline"] = [{**event_row(e), "side": "court" if e.case_id else "agency"}
                       for e in timeline]
    if args.json:
        print_json(obj)
        return EXIT_OK
    print(f"{matter.id}: {matter.kind} at {matter.agency} {matter.reference}")
    if obj["clock"]:
        c = obj["clock"]
        print(f"clock: {c['label']} {c['due']} ({c['citation']}), {c['state']}")
    for row in obj["timeline"]:
        print(f"  {row['at']} [{row['side']}] {row['kind']:22} {row['summary']}")
    return EXIT_OK


def _agreements(app: Any, args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from monitor.agreement_store import agreement_row_json
    from monitor.commands import print_json
    from monitor.db import read_session
    from monitor.models import Agreement
    from sources.agreement_identity import state_code

    if args.history or args.snapshots:
        return _agreement_history(app, args)
    if args.accept_quarantined:
        return _accept_quarantined(app, args.accept_quarantined)
    with read_session(app.engine) as session:
        query = select(Agreement).order_by(col(Agreement.state), col(Agreement.agency))
        if args.status:
            query = query.where(Agreement.status == args.status)
        found = session.exec(query).all()
        if args.state:  # "TX" finds rows ICE publishes as "TEXAS"
            found = [a for a in found if state_code(a.state) == state_code(args.state)]
        rows = [agreement_row_json(a) for a in found]
    if args.county:
        rows = [r for r in rows if args.county.lower() in (r["county"] or "").lower()]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        print(f"{r['state']:3} {r['agency'][:50]:50} {r['support_type']:26} {r['signed'] or '-':10}"
              f" {r['status']}")
    if not rows:
        print("no agreements yet (configure an ice_287g source and poll)")
    return EXIT_OK


def _accept_quarantined(app: Any, list_kind: str) -> int:
    from monitor.agreement_store import quarantined_snapshot
    from monitor.db import read_session

    with read_session(app.engine) as session:
        held = quarantined_snapshot(session, list_kind)
    if held is None:
        print(f"the {list_kind} list is not quarantined")
        return EXIT_RUNTIME
    source_id, snapshot = held
    result = app.store.apply([snapshot], source_id=source_id, now=app.clock())
    print(f"applied the quarantined {list_kind} list ({len(snapshot.rows)} rows): "
          f"{len(result.events)} events")
    return EXIT_OK


def _agreement_history(app: Any, args: argparse.Namespace) -> int:
    from monitor.agreement_history import agreement_history, snapshot_records
    from monitor.commands import print_json
    from monitor.db import read_session

    with read_session(app.engine) as session:
        if args.snapshots:
            rows = snapshot_records(session, args.status if args.status != "removed" else None)
        else:
            rows = agreement_history(session, args.history, args.state)
    if args.json:
        print_json(rows)
    elif args.snapshots:
        for r in rows:
            print(f"#{r['id']} {r['fetched_at']} {r['list']:13} {r['status']:11} "
                  f"{r['rows']:5} rows  {r['url']}")
            for note in r["notes"]:
                print(f"    note: {note}")
    else:
        for h in rows:
            _print_history(h)
        if not rows:
            print(f"no agreement named like {args.history!r}")
    return EXIT_OK


def _print_history(h: dict[str, Any]) -> None:
    print(f"{h['agency']} ({h['state']}, {h['support_type']}): {h['status']}, "
          f"signed {h['signed'] or '-'}, seen {h['first_seen']} .. {h['last_seen']}")
    print(f"  names:  {' | '.join(h['names'])}")
    print(f"  models: {' | '.join(h['models'])}; SIGNED as published: "
          f"{', '.join(h['signed_dates']) or '-'}")
    for v in h["versions"]:
        what = "ABSENT" if v["kind"] == "absent" else f"{v['agency']} [{v['support_type']}]"
        print(f"  {v['first']['fetched_at']} .. {v['last']['fetched_at']} "
              f"({v['snapshots']} snapshot{'s' if v['snapshots'] != 1 else ''}, {v['list']}) "
              f"{what} signed {v['signed'] or '-'}")
        print(f"      from {v['first']['url']}" + (
            f" .. {v['last']['url']}" if v['last']['url'] != v['first']['url'] else ""))
    for e in h["events"]:
        print(f"  event #{e['id']} {e['at']} {e['kind']}: {e['summary']}")
