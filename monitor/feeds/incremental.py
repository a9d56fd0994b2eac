"""Render only the feeds whose events changed since they were last written.

A state file in the feeds folder (`.render-state.json`) remembers the last event rendered, the
renderer version, the settings the feeds were rendered with, each tag's members and a signature
of the open deadlines. A render then reads the events after that one and renders just the feeds
they belong to (`all.atom`, their cases', their tags', the agreement feeds), plus the tag feeds
whose members changed, plus the calendars when the deadlines changed. Every feed is rebuilt when
the state file is missing, the renderer version or the feed settings changed (title, base URL,
entry cap, which matters are private), or on demand (`full=True`, `court-monitor feeds --rebuild`).

On PostgreSQL ids can commit out of order, so the count of events up to the remembered id is kept
too: when an older id appears (or events were pruned), every feed is rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from monitor.config import FeedsConfig
from monitor.db import read_session
from monitor.errors import MonitorError
from monitor.feeds.atom import FeedScope, render_feeds
from monitor.feeds.files import write_if_changed
from monitor.feeds.ics import DEFAULT_LEAD_DAYS, OPEN_STATES, write_ics_feeds
from monitor.feeds.tags import digest, list_members, member_digests
from monitor.models import Case, Deadline, Event, Matter

__all__ = ["RENDERER_VERSION", "STATE_FILE", "mark_current", "render_changed"]

#: bump whenever what `render_atom` / `render_ics` write changes: every feed is then rebuilt
RENDERER_VERSION = "1"
STATE_FILE = ".render-state.json"


@dataclass
class RenderState:
    """What the feeds folder holds, as of the last render."""

    renderer: str = ""
    settings: str = ""
    last_event_id: int = 0
    events_upto_last: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    deadlines: str = ""


def _load(path: Path) -> RenderState | None:
    try:
        raw = json.loads(path.read_text())
        return RenderState(**raw)
    except (OSError, ValueError, TypeError):
        return None


def mark_current(engine: Engine, feeds_config: FeedsConfig, feeds_dir: Path, *,
                 lead_days: Sequence[int] = DEFAULT_LEAD_DAYS) -> None:
    """Record that the files in `feeds_dir` are current as of now, rendering nothing (a feeds
    folder restored from a backup along with its database; the benchmarks' prebuilt data)."""
    with read_session(engine) as session:
        settings, tags, last_id, upto, deadlines = _current(session, feeds_config, lead_days)
    _save(feeds_dir, RenderState(renderer=RENDERER_VERSION, settings=settings,
                                 last_event_id=last_id, events_upto_last=upto, tags=tags,
                                 deadlines=deadlines))


def _current(session: Session, feeds_config: FeedsConfig, lead_days: Sequence[int]
             ) -> tuple[str, dict[str, str], int, int, str]:
    """What the feeds depend on now: settings, tag members, last event id, events up to it,
    the calendars' signature."""
    matters = list(session.exec(select(Matter)).all())
    settings = digest([feeds_config.title, feeds_config.base_url, feeds_config.max_entries,
                        sorted(m.id for m in matters if m.private), sorted(lead_days)])
    tags = member_digests(session, [m for m in matters if not m.private])
    last_id = session.exec(select(func.max(Event.id))).one() or 0
    return (settings, tags, last_id, _count_upto(session, last_id),
            digest([_deadline_signature(session), tags]))


def _save(feeds_dir: Path, state: RenderState) -> None:
    try:
        feeds_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MonitorError(f"cannot create the feeds folder {feeds_dir}: {exc.strerror}") from exc
    write_if_changed(feeds_dir / STATE_FILE, json.dumps(asdict(state), sort_keys=True).encode())


def render_changed(engine: Engine, feeds_config: FeedsConfig, feeds_dir: Path, *,
                   title: str, lead_days: Sequence[int] = DEFAULT_LEAD_DAYS,
                   full: bool = False) -> list[Path]:
    """Render the Atom and ICS feeds that changed since the last render (all with `full`);
    `lead_days` are the calendars' alarms. Return the files written."""
    state_path = feeds_dir / STATE_FILE
    state = None if full else _load(state_path)
    with read_session(engine) as session:
        settings, tags, last_id, upto, deadlines = _current(session, feeds_config, lead_days)
        rebuild = (state is None or state.renderer != RENDERER_VERSION
                   or state.settings != settings or state.last_event_id > last_id
                   or (state.events_upto_last != _count_upto(session, state.last_event_id)))
        scope = None if rebuild or state is None else _scope(session, state, last_id, tags)
    written: list[Path] = []
    if scope is None or scope.everything or scope.tags or scope.case_ids or scope.agreements \
            or scope.lists:
        written += render_feeds(engine, feeds_config, feeds_dir, scope=scope)
    if rebuild or state is None or state.deadlines != deadlines:
        written += write_ics_feeds(engine, feeds_dir, title=title, lead_days=lead_days)
    _save(feeds_dir, RenderState(renderer=RENDERER_VERSION, settings=settings,
                                 last_event_id=last_id, events_upto_last=upto, tags=tags,
                                 deadlines=deadlines))
    return written


def _scope(session: Session, state: RenderState, last_id: int,
           tags: dict[str, str]) -> FeedScope:
    """The feeds the events after `state.last_event_id` (up to `last_id`) belong to."""
    rows = session.connection().execute(
        sa_select(col(Event.case_id), col(Event.matter_id), col(Event.kind), col(Event.source_id))
        .where(col(Event.id) > state.last_event_id, col(Event.id) <= last_id)
    ).all()
    case_ids = {case_id for case_id, _, _, _ in rows if case_id is not None}
    matter_ids = {matter_id for _, matter_id, _, _ in rows if matter_id}
    list_ids = {source for _, _, kind, source in rows if kind.startswith("item.")}
    touched = {tag for tag, members in tags.items() if state.tags.get(tag) != members}
    if case_ids:
        for case_tags, in session.connection().execute(
                sa_select(col(Case.tags)).where(col(Case.id).in_(sorted(case_ids)))).all():
            touched.update(case_tags or [])
    if matter_ids:
        for matter in session.exec(select(Matter).where(col(Matter.id).in_(sorted(matter_ids)))):
            touched.update(matter.tags)
    if list_ids:
        touched.update(tag for tag, sources in list_members(session).items()
                       if sources & list_ids)
    return FeedScope(case_ids=frozenset(case_ids), tags=frozenset(touched & set(tags)),
                     everything=bool(rows),
                     agreements=any(kind.startswith("agreement.") for _, _, kind, _ in rows),
                     lists=frozenset(list_ids))


def _count_upto(session: Session, last_id: int) -> int:
    """Events with an id up to `last_id` (0 on SQLite, where ids commit in order)."""
    if session.get_bind().dialect.name == "sqlite":
        return 0
    count: int = session.exec(
        select(func.count()).select_from(Event).where(col(Event.id) <= last_id)).one()
    return count


def _deadline_signature(session: Session) -> str:
    """Changes whenever the calendars' input may have: the open deadlines and their cases."""
    rows = session.connection().execute(
        sa_select(col(Deadline.id), col(Deadline.state), col(Deadline.updated_at),
                  col(Deadline.sequence), col(Deadline.private), col(Deadline.due_date))
        .where(col(Deadline.state).in_(list(OPEN_STATES))).order_by(col(Deadline.id))
    ).all()
    return digest([list(r) for r in rows])
