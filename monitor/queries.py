"""Read-only queries behind the listing commands and `status`."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, or_
from sqlmodel import Session, col, select

from monitor.alerts.outbox import due_since
from monitor.alerts.queue import outbox_summary
from monitor.config import Config
from monitor.db import StartsWith, read_session
from monitor.models import Case, Deadline, Entry, Event, SourceState
from monitor.push import push_status
from monitor.quota import quota_for_source
from monitor.views import iso_z
from sources import source_class
from sources.identity import docket_key

__all__ = ["case_detail", "cases", "court_known", "events", "find_case", "first_event_since",
           "kind_filter", "status"]

#: event ids read at a time when kind globs are matched in Python
_ID_BATCH = 500


def cases(engine: Engine, *, include_all: bool = False, limit: int | None = None,
          offset: int = 0) -> list[tuple[Case, int]]:
    """Tracked cases (all with `include_all`) with their entry counts, oldest first; a page of
    `limit` rows after skipping `offset` when given. The counts are the cases' own
    (`Case.entry_count`, kept by the store): the entry table is never counted."""
    with read_session(engine) as session:
        query = select(Case).order_by(col(Case.first_seen), col(Case.id))
        if not include_all:
            query = query.where(Case.tracked == True)  # noqa: E712
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [(c, c.entry_count or 0) for c in session.exec(query).all()]


def find_case(session: Session, court: str, docket: str) -> Case | None:
    """A case by court and any form of its docket number."""
    return session.exec(
        select(Case).where(Case.court == court, Case.docket_key == docket_key(docket))
    ).first()


def court_known(engine: Engine, court: str) -> bool:
    """Whether any stored case is in `court`."""
    with read_session(engine) as session:
        return session.exec(select(Case.id).where(Case.court == court).limit(1)).first() \
            is not None


def case_detail(
    engine: Engine, court: str, docket: str
) -> tuple[Case, list[Entry], list[Deadline], list[Event]] | None:
    """A case with its entries (oldest first), deadlines and events."""
    with read_session(engine) as session:
        case = find_case(session, court, docket)
        if case is None:
            return None
        entries = session.exec(select(Entry).where(Entry.case_id == case.id)).all()
        entries = sorted(
            entries,
            key=lambda e: (e.date_filed is None, e.date_filed, e.entry_number is None,
                           e.entry_number or 0, e.id),
        )
        deadlines = session.exec(
            select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.due_date))
        ).all()
        evts = session.exec(
            select(Event).where(Event.case_id == case.id).order_by(col(Event.id))
        ).all()
        return case, list(entries), list(deadlines), list(evts)


def events(
    engine: Engine,
    *,
    since: datetime | None = None,
    after: int | None = None,
    kinds: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[Event]:
    """Events oldest first, optionally since a time or after an id, filtered by kind globs, at
    most `limit` of them (page on with `after` = the last id shown).

    `since` first finds the smallest id at or after that time through the index on `at`, then
    reads by id from there (`WHERE at >= ? ORDER BY id` alone scans the whole table). The kind
    globs are asked of the index on `kind` first (`kind_filter`), then matched exactly."""
    with read_session(engine) as session:
        where: list[ColumnElement[bool]] = []
        if since is not None:
            first = first_event_since(session, since)
            if first is None:
                return []
            where += [col(Event.id) >= first, col(Event.at) >= since]
        if after is not None:
            where.append(col(Event.id) > after)
        narrowed = kind_filter(kinds or [])
        if narrowed is not None:
            where.append(narrowed)
        query = select(Event).where(*where).order_by(col(Event.id))
        if not kinds or _exactly_in_sql(kinds):
            return list(session.exec(query.limit(limit) if limit is not None else query).all())
        # Globs the index only narrows: the ids first (the index sorts them, not whole rows),
        # then the events a batch at a time, each glob matched exactly, until `limit`.
        ids = session.exec(select(col(Event.id)).where(*where).order_by(col(Event.id))
                           .execution_options(yield_per=_ID_BATCH))
        rows: list[Event] = []
        for batch in ids.partitions():
            for event in session.exec(select(Event).where(col(Event.id).in_(batch))
                                      .order_by(col(Event.id))):
                if any(fnmatch.fnmatchcase(event.kind, k) for k in kinds):
                    rows.append(event)
                    if limit is not None and len(rows) >= limit:
                        return rows
        return rows


def kind_filter(kinds: Sequence[str]) -> ColumnElement[bool] | None:
    """A condition on `Event.kind` that every kind matching one of the globs `kinds` (fnmatch's,
    case-sensitive) meets, served by the kind index: a glob without wildcards is that kind, one
    with them the kinds starting with what comes before its first wildcard (`agreement.*`: a
    range of the index where reading every event took 21 s at 1M). None when nothing narrows
    them (no glob, or one starting with a wildcard)."""
    terms: list[ColumnElement[bool]] = []
    for glob in kinds:
        cut = min((glob.index(c) for c in "*?[" if c in glob), default=None)
        if cut is None:
            terms.append(col(Event.kind) == glob)
        elif cut == 0:
            return None
        else:
            terms.append(StartsWith(col(Event.kind), glob[:cut]))
    return or_(*terms) if terms else None


def _exactly_in_sql(kinds: Sequence[str]) -> bool:
    """`kind_filter(kinds)` matches exactly what the globs match: each is a kind, or a plain
    prefix and one final `*` (not a bare `*`: `kind_filter` then narrows nothing)."""
    def plain(text: str) -> bool:
        return not any(c in text for c in "*?[")

    return all(plain(glob) or (len(glob) > 1 and glob[-1] == "*" and plain(glob[:-1]))
               for glob in kinds)


def first_event_since(session: Session, since: datetime) -> int | None:
    """The smallest id of an event at or after `since`, read from the index on `at` alone."""
    ids = session.exec(select(col(Event.id)).where(Event.at >= since)).all()
    return min((i for i in ids if i is not None), default=None)


def status(engine: Engine, config: Config, *, now: datetime) -> dict[str, Any]:
    """The `status --json` object."""
    with read_session(engine) as session:
        rows = {
            r.source_id: r
            for r in session.exec(select(SourceState).where(SourceState.target == "")).all()
        }
        failing_targets: dict[str, list[str]] = {}
        for r in session.exec(
            select(SourceState).where(SourceState.target != "",
                                      SourceState.failing == True)  # noqa: E712
        ).all():
            failing_targets.setdefault(r.source_id, []).append(r.target)
    sources = []
    for src in config.sources:
        row = rows.get(src.id)
        entry: dict[str, Any] = {
            "id": src.id,
            "kind": src.kind,
            "enabled": src.enabled,
            "last_poll": iso_z(row.last_poll) if row else None,
            "last_success": iso_z(row.last_success) if row else None,
            "consecutive_failures": row.consecutive_failures if row else 0,
            "last_error": (row.last_error or None) if row else None,
            "failing": bool(failing_targets.get(src.id)) or _never_ok(row),
            "failing_targets": failing_targets.get(src.id, []),
        }
        quota = _quota(engine, src, now)
        if quota is not None:
            entry["quota"] = quota
        if source_class(src.kind).accepts_push:
            entry["push"] = push_status(engine, src, config.server)
        sources.append(entry)
    return {"sources": sources, "outbox": _outbox(engine, config, now)}


def _never_ok(row: SourceState | None) -> bool:
    """Polled, failed, and never once succeeded: not "ok", whatever `fail_after` says."""
    return row is not None and row.last_success is None and row.consecutive_failures > 0


def _quota(engine: Engine, src: Any, now: datetime) -> dict[str, Any] | None:
    quota = quota_for_source(engine, src)
    return None if quota is None else quota.remaining(now)


def _outbox(engine: Engine, config: Config, now: datetime) -> dict[str, Any]:
    """The outbox summary plus `oldest_due` (an extension): since when the longest-waiting
    delivery could have gone (deliveries held for a digest or by quiet hours are not late)."""
    since = due_since(engine, config.subscriptions, now, timezone=config.deadlines.timezone)
    return {**outbox_summary(engine, now), "oldest_due": iso_z(since, timespec="seconds")}
