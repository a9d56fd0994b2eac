"""The commands behind `cli.py`: each takes the parsed args and a clock, returns an exit code."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import load_config
from monitor.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from sources.base import Clock

__all__ = ["dispatch", "iso", "print_json"]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_STATUS = 0, 1, 2, 3
STUCK_AFTER = timedelta(hours=1)


def iso(value: datetime | date | None) -> str | None:
    """UTC ISO 8601 with `Z` for times, `YYYY-MM-DD` for dates (contracts.md)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        from datetime import UTC

        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def dispatch(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run the command named in `args`."""
    handler = _HANDLERS.get(args.command)
    if handler is None:
        from monitor import commands_ext

        return commands_ext.dispatch(args, clock=clock)
    return handler(args, clock)


# ---------------------------------------------------------------------------- no database


def cmd_init(args: argparse.Namespace, clock: Clock) -> int:
    from monitor.config import defaults_text, find_config_file

    if args.path:
        path = Path(args.path)
    else:
        import os

        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        path = Path(xdg) / "court-monitor" / "config.toml"
    if path.exists() and not args.force:
        print(f"court-monitor: {path} exists (use --force to overwrite)", file=sys.stderr)
        return EXIT_USAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(defaults_text(), encoding="utf-8")
    print(f"wrote {path}")
    found = find_config_file(args.config)
    if found is not None and found.resolve() != path.resolve():
        print(f"note: {found} is found first and will be used", file=sys.stderr)
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace, clock: Clock) -> int:
    config = load_config(args.config)
    print(f"config: {config.path}")
    print(f"database: {_mask_url(config.database_url)}")
    print(f"feeds: {config.feeds_dir}")
    for src in config.sources:
        state = "" if src.enabled else " (disabled)"
        print(f"source {src.id}: kind {src.kind}, every {src.interval}{state}")
    for watch in config.watches:
        print(f"watch {watch.name}: tags {', '.join(watch.tags) or '-'}")
    for sub in config.subscriptions:
        print(f"subscription {sub.name}: {len(sub.channels)} channel(s), events "
              f"{', '.join(sub.events)}, {sub.mode}")
    for matter in config.matters:
        print(f"matter {matter.id}: {matter.kind} {matter.agency}")
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print("ok")
    return EXIT_OK


def _mask_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):([^@]+)@", r"//\1:***@", url)


# ---------------------------------------------------------------------------- with database


def _app(args: argparse.Namespace, clock: Clock) -> Any:
    from monitor.app import App

    config = load_config(args.config)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return App(config=config, clock=clock)


def cmd_poll(args: argparse.Namespace, clock: Clock) -> int:
    app = _app(args, clock)
    try:
        wanted = args.source or list(app.runner.sources)
        unknown = [s for s in wanted if s not in app.runner.sources]
        if unknown:
            raise ConfigError(f"no enabled source {', '.join(unknown)}", path=app.config.path,
                              key="source")
        for source_id in wanted:
            report = app.runner.poll(source_id, dry_run=args.dry_run)
            print(report.line())
            for error in report.errors:
                print(f"  error: {error}", file=sys.stderr)
            for line in report.would_track:
                print(f"  would track: {line}")
        if not args.dry_run:
            from monitor.housekeeping import DRAIN_BUDGET, after_poll

            sent = after_poll(app, dispatch=not args.no_dispatch, budget=DRAIN_BUDGET)
            if sent is not None:
                print(f"outbox: {sent.sent} sent, {sent.retrying + sent.gave_up} failed, "
                      f"{sent.unanswered} unanswered, {sent.left} left")
    finally:
        app.close()
    return EXIT_OK


def cmd_run(args: argparse.Namespace, clock: Clock) -> int:
    from monitor.daemon import run_daemon

    config = load_config(args.config)
    return run_daemon(config)


def _case_row(case: Any, entry_count: int) -> dict[str, Any]:
    return {
        "court": case.court,
        "docket_number": case.docket_number,
        "docket_number_raw": case.docket_number_raw,
        "case_name": case.case_name,
        "tags": list(case.tags),
        "matched_by": list(case.matched_by),
        "first_seen": iso(case.first_seen),
        "entry_count": entry_count,
        "tracked": case.tracked,
        "cl_docket_id": case.cl_docket_id,
        "cause": case.cause,
        "nature_of_suit": case.nature_of_suit,
        "date_filed": iso(case.date_filed),
        "date_terminated": iso(case.date_terminated),
    }


def cmd_cases(args: argparse.Namespace, clock: Clock) -> int:
    from monitor import queries

    app = _app(args, clock)
    try:
        rows = [_case_row(c, n) for c, n in queries.cases(
            app.engine, include_all=args.all, limit=args.limit, offset=args.offset)]
    finally:
        app.close()
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


def event_row(event: Any) -> dict[str, Any]:
    """The `--json` shape of one event."""
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso(event.at),
        "subject": event.subject,
        "summary": event.summary,
        "data": event.data,
    }


def cmd_case(args: argparse.Namespace, clock: Clock) -> int:
    from monitor import queries

    app = _app(args, clock)
    try:
        found = queries.case_detail(app.engine, args.court.lower(), args.docket)
    finally:
        app.close()
    if found is None:
        print(f"court-monitor: no case {args.court}:{args.docket}"
              f"{_unknown_court_note(args.court.lower(), app)}", file=sys.stderr)
        return EXIT_RUNTIME
    case, entries, deadlines, events = found
    obj = _case_row(case, len(entries))
    obj["entries"] = [
        {
            "entry_number": e.entry_number,
            "date_filed": iso(e.date_filed),
            "description": e.description or e.short_description,
            "short_description": e.short_description,
            "document_url": e.document_url,
            "sources": list(e.sources),
        }
        for e in entries
    ]
    obj["deadlines"] = [queries.deadline_row(d) for d in deadlines]
    obj["events"] = [event_row(e) for e in events]
    if args.json:
        print_json(obj)
        return EXIT_OK
    print(f"{case.court} {case.docket_number}  {case.case_name}")
    print(f"tags: {', '.join(case.tags) or '-'}   tracked: {case.tracked}")
    for reason in case.matched_by:
        print(f"matched by watch {reason['watch']}: {reason['field']} ~ {reason['pattern']}")
    for d in obj["deadlines"]:
        note = queries.deadline_note(d)
        print(f"deadline {d['due']} {d['label']} ({d['rule']}; {d['origin']}, {d['state']})"
              + (f" - {note}" if note else ""))
    for e in obj["entries"]:
        number = e["entry_number"] if e["entry_number"] is not None else "-"
        print(f"  {e['date_filed'] or '?':10} #{number:<5} {e['description']}")
    return EXIT_OK


def _unknown_court_note(court: str, app: Any) -> str:
    """"; unknown court ..." when neither the court table nor the database knows `court`."""
    from monitor import queries
    from sources.courts import COURTS

    if court in COURTS or queries.court_known(app.engine, court):
        return ""
    return f"; unknown court {court!r} (court ids as CourtListener spells them, e.g. dcd, nysd)"


def cmd_track(args: argparse.Namespace, clock: Clock) -> int:
    from sources.identity import is_docket_number, normalize_docket_number

    if not re.fullmatch(r"[a-z0-9]+", args.court.lower()):
        raise UsageError(f"{args.court!r} is not a court id (CourtListener style, e.g. dcd)")
    if not is_docket_number(args.docket):
        raise UsageError(f"{args.docket!r} is not a docket number (e.g. 1:25-cv-01234)")
    app = _app(args, clock)
    try:
        case, created = app.store.track(args.court.lower(), normalize_docket_number(args.docket),
                                        tags=args.tag, now=clock())
    finally:
        app.close()
    print(f"{'tracking' if created else 'tracking again'} {case.court}:{case.docket_number}")
    return EXIT_OK


def cmd_untrack(args: argparse.Namespace, clock: Clock) -> int:
    app = _app(args, clock)
    try:
        ok = app.store.untrack(args.court.lower(), args.docket)
    finally:
        app.close()
    if not ok:
        print(f"court-monitor: no case {args.court}:{args.docket}", file=sys.stderr)
        return EXIT_RUNTIME
    print(f"untracked {args.court}:{args.docket} (history kept)")
    return EXIT_OK


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO date or date-time, or a duration back from now (`24h`, `7d`)."""
    from datetime import UTC

    from monitor.config import parse_duration

    try:
        back = parse_duration(text)
    except ValueError as exc:
        if "too long" in str(exc):
            raise UsageError(f"--since {text}: {exc}") from None
        back = None
    if back is not None:
        try:
            return now - back
        except OverflowError:
            raise UsageError(f"--since {text} reaches back before the year 1") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"expected an ISO date or a duration like 24h, got {text!r}",
                          key="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_events(args: argparse.Namespace, clock: Clock) -> int:
    from monitor import queries

    since = parse_since(args.since, clock()) if args.since else None
    app = _app(args, clock)
    try:
        events = queries.events(app.engine, since=since, after=args.after, kinds=args.kind,
                                limit=args.limit)
    finally:
        app.close()
    rows = [event_row(e) for e in events]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for row in rows:
        print(f"{row['id']:6} {row['at']} {row['kind']:20} {row['summary']}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, clock: Clock) -> int:
    from monitor import queries

    app = _app(args, clock)
    now = clock()
    try:
        status = queries.status(app.engine, app.config, now=now, runner_sources=None)
    finally:
        app.close()
    outbox = status["outbox"]
    oldest = outbox.get("oldest_pending")
    stuck = outbox.get("failed", 0) > 0 or (
        oldest is not None
        and now - datetime.fromisoformat(oldest.replace("Z", "+00:00")) > STUCK_AFTER
    )
    failing = [s for s in status["sources"] if s.get("failing")]
    if args.json:
        print_json(status)
    else:
        for s in status["sources"]:
            flag = "FAILING" if s.get("failing") else "ok"
            print(f"{s['id']:16} {s['kind']:14} {flag:8} last poll {s['last_poll'] or 'never'}"
                  f"  last success {s['last_success'] or 'never'}"
                  f"  failures {s['consecutive_failures']}")
            if s.get("last_error"):
                print(f"    last error: {s['last_error']}")
            if s.get("quota"):
                print(f"    quota: {json.dumps(s['quota'])}")
        print(f"outbox: {outbox['pending']} pending, {outbox['failed']} failed, "
              f"oldest pending {oldest or '-'}")
    return EXIT_STATUS if failing or stuck else EXIT_OK


def cmd_db(args: argparse.Namespace, clock: Clock) -> int:
    from monitor.db import make_engine
    from monitor.migrate import current_revision, upgrade

    config = load_config(args.config)
    engine = make_engine(config.database_url)
    try:
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, clock: Clock) -> int:
    from monitor import maintenance

    app = _app(args, clock)
    try:
        maintenance.backup(app.engine, Path(args.dest))
    finally:
        app.close()
    print(f"backup written to {args.dest}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, clock: Clock) -> int:
    from monitor import maintenance
    from monitor.config import parse_duration

    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise ConfigError(str(exc), key="--older-than") from None
    app = _app(args, clock)
    try:
        removed = maintenance.prune(app.engine, before=clock() - age)
    finally:
        app.close()
    print(f"pruned {removed} events")
    return EXIT_OK


_HANDLERS: dict[str, Callable[[argparse.Namespace, Clock], int]] = {
    "init": cmd_init,
    "check-config": cmd_check_config,
    "poll": cmd_poll,
    "run": cmd_run,
    "cases": cmd_cases,
    "case": cmd_case,
    "track": cmd_track,
    "untrack": cmd_untrack,
    "events": cmd_events,
    "status": cmd_status,
    "db": cmd_db,
    "backup": cmd_backup,
    "prune": cmd_prune,
}
