"""`matters` (list, add, pause, resume, close, status), `matter ID`, `agreements`: the agency
side."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from monitor.cli._common import EXIT_OK, EXIT_RUNTIME, Clock, SubParsers, open_app, print_json
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.app import App

__all__ = ["add_parsers", "cmd_agreements", "cmd_matter", "cmd_matters"]


def add_parsers(sub: SubParsers) -> None:
    """`matters ...`, `matter ID`, `agreements ...`."""
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
    q = msub.add_parser("link", help="link a matter to the lawsuit about it")
    q.add_argument("id")
    q.add_argument("--case", required=True, help="COURT:DOCKET of the lawsuit")
    p.set_defaults(handler=cmd_matters)
    p = sub.add_parser("matter", help="one matter with its clock and the lawsuit's timeline")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_matter)
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
    p.set_defaults(handler=cmd_agreements)


def _sync_config_matters(app: App, clock: Clock) -> None:
    """The config's `[[matter]]` rows, brought into the database before they are shown."""
    from monitor.matters import sync_config_matters  # lazy: the database stack

    sync_config_matters(app.engine, app.config, now=clock(), listeners=app.store.listeners)


def cmd_matters(args: argparse.Namespace, clock: Clock) -> int:
    """The matters with their clocks (`--overdue`: only overdue ones), or a change to one."""
    from sqlmodel import col, select  # lazy: the database stack

    from monitor.db import read_session  # lazy: the database stack
    from monitor.matters import clock_key  # lazy: the database stack
    from monitor.models import Deadline, Matter  # lazy: the database stack
    from monitor.views import matter_row  # lazy: the database stack

    with open_app(args, clock) as app:
        _sync_config_matters(app, clock)
        if args.matters_command:
            return _matters_change(app, args, clock)
        with read_session(app.engine) as session:
            rows = []
            for matter in session.exec(select(Matter).order_by(col(Matter.created_at))).all():
                clock_row = session.exec(select(Deadline).where(
                    Deadline.key == clock_key(matter.id))).first()
                rows.append(matter_row(matter, clock_row))
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


def _matters_change(app: App, args: argparse.Namespace, clock: Clock) -> int:
    from monitor.config import MatterConfig  # lazy: pydantic off `--help`
    from monitor.db import write_session  # lazy: the database stack
    from monitor.matters import pause_matter, set_matter_status, upsert_matter  # lazy: db

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
    if args.matters_command == "link":
        return _link(app, args.id, args.case)
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


def _link(app: App, matter_id: str, case_ref: str) -> int:
    from monitor.db import write_session  # lazy: the database stack
    from monitor.models import Matter  # lazy: the database stack

    if ":" not in case_ref:
        raise ConfigError(f"--case {case_ref!r}: expected COURT:DOCKET", key="case")
    with write_session(app.engine) as session:
        matter = session.get(Matter, matter_id)
        if matter is None:
            raise ConfigError(f"no matter {matter_id!r}", key="id")
        matter.case_ref = case_ref
        session.add(matter)
    print(f"matter {matter_id} linked to {case_ref}")
    return EXIT_OK


def _close(app: App, matter_id: str, now: datetime) -> int:
    from sqlmodel import select  # lazy: the database stack

    from monitor.db import write_session  # lazy: the database stack
    from monitor.deadlines.service import mark_deadline  # lazy: the database stack
    from monitor.matters import clock_key  # lazy: the database stack
    from monitor.models import Deadline, Matter  # lazy: the database stack

    with write_session(app.engine) as session:
        matter = session.get(Matter, matter_id)
        if matter is None:
            raise ConfigError(f"no matter {matter_id!r}", key="id")
        matter.closed = True
        session.add(matter)
        clock_row = session.exec(select(Deadline).where(
            Deadline.key == clock_key(matter_id))).first()
    if clock_row is not None and clock_row.id is not None:
        mark_deadline(app.engine, app.store.listeners, clock_row.id, "met", now=now)
    print(f"matter {matter_id} closed")
    return EXIT_OK


def cmd_matter(args: argparse.Namespace, clock: Clock) -> int:
    """One matter with its clock, and the lawsuit's timeline beside the agency's."""
    from sqlmodel import select  # lazy: the database stack

    from monitor.db import read_session  # lazy: the database stack
    from monitor.matter_links import (  # lazy: the database stack
        agreements_for_matter,
        cases_for_matter,
    )
    from monitor.matters import clock_key  # lazy: the database stack
    from monitor.models import Deadline, Event, Matter  # lazy: the database stack
    from monitor.views import event_row, matter_row  # lazy: the database stack

    with open_app(args, clock) as app:
        _sync_config_matters(app, clock)
        with read_session(app.engine) as session:
            matter = session.get(Matter, args.id)
            if matter is None:
                print(f"court-monitor: no matter {args.id}", file=sys.stderr)
                return EXIT_RUNTIME
            clock_row = session.exec(select(Deadline).where(
                Deadline.key == clock_key(matter.id))).first()
            obj = matter_row(matter, clock_row)
            events = session.exec(select(Event).where(Event.matter_id == matter.id)).all()
            cases = cases_for_matter(session, matter)
            case_events: list[Any] = []
            for case in cases:
                case_events += session.exec(select(Event).where(
                    Event.case_id == case["case_id"])).all()
            obj["links"] = {"cases": cases, "agreements": agreements_for_matter(session, matter)}
            obj["communications"] = list(matter.communications)
    timeline = sorted({e.id: e for e in [*events, *case_events]}.values(),
                      key=lambda e: (e.at, e.id))
    obj["timeline"] = [{**event_row(e), "side": "court" if e.case_id else "agency"}
                       for e in timeline]
    if args.json:
        print_json(obj)
        return EXIT_OK
    print(f"{matter.id}: {matter.kind} at {matter.agency} {matter.reference}")
    if obj["title"]:
        print(f"{obj['title']} [{obj['status'] or '-'}] {obj['url'] or ''}")
    if obj["clock"]:
        c = obj["clock"]
        print(f"clock: {c['label']} {c['due']} ({c['citation']}), {c['state']}")
    if obj["portal_due"]:
        print(f"portal's due date: {obj['portal_due']}")
    _print_links(obj["links"])
    for c in obj["communications"]:
        who = "agency" if c["response"] else "requester"
        files = f" ({len(c['files'])} files)" if c["files"] else ""
        print(f"  {c['at'] or '-'} [thread] {who}: {c['subject'] or c['status'] or '-'}{files}")
    for row in obj["timeline"]:
        print(f"  {row['at']} [{row['side']}] {row['kind']:22} {row['summary']}")
    return EXIT_OK


def _print_links(links: dict[str, Any]) -> None:
    for a in links["agreements"]:
        how = a["link"]
        print(f"287(g): {a['agency']} ({a['state']}, {a['support_type']}) {a['status']}, signed "
              f"{a['signed'] or '-'} [{how['how']} {how['score']}]")
    for c in links["cases"]:
        how = c["link"]
        print(f"lawsuit: {c['court']} {c['docket_number']} {c['case_name']} "
              f"[{how['how']} {how['score']}]")


def cmd_agreements(args: argparse.Namespace, clock: Clock) -> int:
    """287(g) agreements as last published (or an agreement's history, the snapshots, or
    accepting a quarantined list)."""
    with open_app(args, clock) as app:
        return _agreements(app, args)


def _agreements(app: App, args: argparse.Namespace) -> int:
    from sqlmodel import col, select  # lazy: the database stack

    from monitor.agreement_store import agreement_row_json  # lazy: the database stack
    from monitor.db import read_session  # lazy: the database stack
    from monitor.models import Agreement  # lazy: the database stack
    from sources.agreement_identity import state_code  # lazy: rapidfuzz off `--help`

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


def _accept_quarantined(app: App, list_kind: str) -> int:
    from monitor.agreement_store import quarantined_snapshot  # lazy: the database stack
    from monitor.db import read_session  # lazy: the database stack

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


def _agreement_history(app: App, args: argparse.Namespace) -> int:
    from monitor.agreement_history import agreement_history, snapshot_records  # lazy: db
    from monitor.db import read_session  # lazy: the database stack
    from monitor.matter_links import cases_for_agency, matters_for_agency  # lazy: db
    from sources.agreement_identity import state_code  # lazy: rapidfuzz off `--help`

    with read_session(app.engine) as session:
        if args.snapshots:
            rows = snapshot_records(session, args.status if args.status != "removed" else None)
        else:
            rows = agreement_history(session, args.history, args.state)
            for h in rows:  # the records requests and lawsuits about the same agency
                h["matters"] = matters_for_agency(session, h["agency"], h["state"])
                h["cases"] = cases_for_agency(session, h["agency"], state_code(h["state"]))
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
    for m in h.get("matters", []):
        print(f"  records request {m['id']}: {m['title'] or m['agency']} [{m['status'] or '-'}]"
              f" ({m['link']['how']} {m['link']['score']}) {m['url'] or ''}")
    for c in h.get("cases", []):
        print(f"  lawsuit {c['court']} {c['docket_number']} {c['case_name']} "
              f"({c['link']['how']} {c['link']['score']})")
