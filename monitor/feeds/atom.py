"""Atom feeds of events: all, per tag, per case (design.md, step 7).

Each event is one entry with its own id (`tag:court-monitor,2026:event/<id>`), so readers show
every change. `updated` comes from the event time, never from the clock: rendering unchanged data
gives identical bytes and the file is left alone. Private events never reach a feed; baseline
events do (a feed is a record, not an alert). feedgen raises ValueError on control characters,
so all text is cleaned first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import ColumnElement, Engine, Select, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from monitor.agreements import QUIET_EVENT_KINDS
from monitor.alerts.outbox import load_context
from monitor.alerts.render import as_utc, docket_url, render_message
from monitor.config import FeedsConfig
from monitor.db import StartsWith, read_session
from monitor.errors import MonitorError
from monitor.feeds.files import FeedWriter, safe_name
from monitor.feeds.tags import (
    case_tags,
    has_case_tag,
    list_members,
    matter_members,
    of_tagged_case,
    tagged_cases,
)
from monitor.models import Case, Event, ListState, Matter
from sources.agreement_identity import state_code
from sources.sanitize import clean_text, safe_url

__all__ = ["FeedScope", "FeedSpec", "entry_id", "entry_xml", "render_atom", "render_feeds"]

ID_PREFIX = "tag:court-monitor,2026:"
#: `updated` of a feed with no entry (any fixed value: it must not be "now")
EMPTY_FEED_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)
#: how a pretty-printed Atom document ends; `<feed>` and this wrap an entry serialized alone
_FEED_CLOSE = b"</feed>\n"
_WRAPPER_OPEN = b"<feed>\n"


@dataclass(frozen=True)
class FeedSpec:
    """One Atom feed: its file name, id, title and optional docket link."""

    filename: str
    feed_id: str
    title: str
    link: str = ""


def entry_id(event: Event) -> str:
    """The stable Atom id of an event's entry."""
    return f"{ID_PREFIX}event/{event.id}"


def _xml_text(text: str) -> str:
    return clean_text(text)


@dataclass(frozen=True)
class _Entry:
    """What an event's entry says (the same in every feed it is in)."""

    title: str
    summary: str
    content: str
    link: str


def _entry_of(session: Session, event: Event) -> _Entry:
    context = load_context(session, event)
    message = render_message(event, context)
    data = event.data or {}
    link = safe_url(str(data.get("document_url") or "")) or safe_url(str(data.get("url") or ""))
    case = context.case
    if not link and case is not None:
        link = docket_url(case.court, case.docket_number, pacer_case_id=case.pacer_case_id,
                          cl_docket_id=case.cl_docket_id)
    return _Entry(title=_xml_text(message.title.removeprefix("[court-monitor] ")),
                  summary=_xml_text(message.text), content=_xml_text(message.html),
                  link=link if safe_url(link) else "")


def _entry_element(event: Event, rendered: _Entry) -> Any:
    """feedgen's `<entry>` element of an event (an lxml element)."""
    from feedgen.entry import FeedEntry

    entry = FeedEntry()
    entry.id(entry_id(event))
    entry.title(rendered.title)
    entry.updated(as_utc(event.at))
    entry.published(as_utc(event.at))
    entry.summary(rendered.summary)
    entry.content(rendered.content, type="html")
    entry.category(term=event.kind)
    if rendered.link:
        entry.link(href=rendered.link, rel="alternate")
    return entry.atom_entry()


def entry_xml(session: Session, event: Event) -> bytes:
    """An event's `<entry>` as it is written in every feed the event is in: feedgen's element,
    serialized once, pretty-printed at the depth of a feed's child (so a feed is its head and
    these bytes, the same bytes feedgen writes for the whole feed)."""
    wrapper = etree.Element("feed")
    wrapper.append(_entry_element(event, _entry_of(session, event)))
    text: bytes = etree.tostring(wrapper, pretty_print=True, encoding="UTF-8",
                                 xml_declaration=False)
    return text[len(_WRAPPER_OPEN):-len(_FEED_CLOSE)]


def _feed_head(spec: FeedSpec, events: Sequence[Event], config: FeedsConfig) -> bytes:
    """feedgen's document of the feed without its entries, less the closing `</feed>`."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(spec.feed_id)
    feed.title(_xml_text(spec.title))
    feed.author({"name": config.title})
    feed.generator("court-monitor")
    if config.base_url:
        feed.link(href=config.base_url.rstrip("/") + "/" + spec.filename, rel="self")
    if safe_url(spec.link):
        feed.link(href=spec.link, rel="alternate")
    feed.updated(max((as_utc(e.at) for e in events), default=EMPTY_FEED_UPDATED))
    data: bytes = feed.atom_str(pretty=True)
    if not data.endswith(_FEED_CLOSE):
        raise MonitorError("feedgen wrote an Atom document that does not end with </feed>")
    return data[:-len(_FEED_CLOSE)]


def render_atom(session: Session, spec: FeedSpec, events: Sequence[Event],
                config: FeedsConfig, *, memo: dict[int, bytes] | None = None) -> bytes:
    """The Atom document of one feed (events newest first); same input, same bytes. `memo`:
    the entries serialized so far (`entry_xml`), by event id, shared by the feeds of one render
    (an event is in several: all, its case's, its tags'), so each entry is built once."""
    parts = [_feed_head(spec, events, config)]
    for event in events:
        key = event.id or 0
        xml = memo.get(key) if memo is not None else None
        if xml is None:
            xml = entry_xml(session, event)
            if memo is not None:
                memo[key] = xml
        parts.append(xml)
    parts.append(_FEED_CLOSE)
    return b"".join(parts)


# ---------------------------------------------------------------------------- selection


def _public(private_matters: Sequence[str]) -> SelectOfScalar[Event]:
    """The public events: less the private ones, the quiet kinds and those of
    `private_matters`."""
    query = select(Event).where(col(Event.private).is_(False),
                                col(Event.kind).not_in(list(QUIET_EVENT_KINDS)))
    if private_matters:
        query = query.where(col(Event.matter_id).is_(None)
                            | col(Event.matter_id).not_in(list(private_matters)))
    return query


def _members(case_ids: Iterable[int] | Select[Any] | ColumnElement[bool] | None,
             matter_ids: Iterable[str] | None, list_ids: Iterable[str] | None
             ) -> ColumnElement[bool] | None:
    """The events of the cases `case_ids` (a list, a subquery of ids or a condition on the
    event), the matters `matter_ids` or the `item.*` of the lists `list_ids`: only the terms
    given and not empty (an empty term in an OR keeps SQLite from its indexes)."""
    terms: list[ColumnElement[bool]] = []
    if isinstance(case_ids, ColumnElement):
        terms.append(case_ids)
    elif isinstance(case_ids, Select):
        terms.append(col(Event.case_id).in_(case_ids))
    elif cases := list(case_ids or []):
        terms.append(col(Event.case_id).in_(cases))
    if matters := list(matter_ids or []):
        terms.append(col(Event.matter_id).in_(matters))
    if lists := list(list_ids or []):
        terms.append(StartsWith(col(Event.kind), "item.") & col(Event.source_id).in_(lists))
    if not terms:
        return None
    return or_(*terms)


def _latest(session: Session, limit: int, *,
            case_ids: Iterable[int] | Select[Any] | None = None,
            matter_ids: Iterable[str] | None = None, private_matters: Sequence[str] = (),
            list_ids: Iterable[str] | None = None) -> list[Event]:
    """The newest public events (of the cases `case_ids`, a list or a subquery, the matters
    `matter_ids` and the `item.*` of the lists `list_ids`, when any is given), newest first."""
    query = _public(private_matters)
    if case_ids is not None or matter_ids is not None or list_ids is not None:
        members = _members(case_ids, matter_ids, list_ids)
        if members is None:
            return []
        query = query.where(members)
    return list(session.exec(query.order_by(col(Event.id).desc()).limit(limit)).all())


#: the newest events a tag feed reads in id order before it asks each index for older ones
_RECENT_EVENTS = 2000


def _latest_tagged(session: Session, limit: int, tag: str, *, matter_ids: Iterable[str],
                   list_ids: Iterable[str], private_matters: Sequence[str] = ()) -> list[Event]:
    """`_latest` of the members of `tag` (its cases, `matter_ids`, `list_ids`), at a cost that
    follows neither the number of events nor of cases: the newest `_RECENT_EVENTS` are read in
    id order, each asked whether its case has the tag (a busy tag's feed is among them); when
    they hold fewer than `limit` of the tag's, the older ones are asked of each member kind
    apart, through its index (the cases', the matters'), and merged."""
    matters, lists = sorted(matter_ids), sorted(list_ids)
    newest = session.exec(select(func.max(Event.id))).one() or 0
    recent_from = newest - _RECENT_EVENTS
    members = _members(of_tagged_case(session, tag), matters, lists)
    if members is None:  # never: the cases' term is always there
        return []
    found = list(session.exec(
        _public(private_matters).where(members, col(Event.id) > recent_from)
        .order_by(col(Event.id).desc()).limit(limit)).all())
    if len(found) >= limit or recent_from <= 0:
        return found
    older: dict[int, Event] = {}
    for kind in ((tagged_cases(session, tag), None, None), (None, matters, None),
                 (None, None, lists)):
        part = _members(*kind)
        if part is None:
            continue
        for event in session.exec(
                _public(private_matters).where(part, col(Event.id) <= recent_from)
                .order_by(col(Event.id).desc()).limit(limit - len(found))).all():
            older[event.id or 0] = event
    return found + [older[key] for key in sorted(older, reverse=True)][:limit - len(found)]


def _cases_of(session: Session, events: Sequence[Event]) -> list[Case]:
    """The cases of `events` the session does not hold yet, read in one query (each entry
    reads its case: one query per feed rather than one per entry)."""
    missing = {e.case_id for e in events if e.case_id is not None
               and identity_key(Case, e.case_id) not in session.identity_map}
    if not missing:
        return []
    return list(session.exec(select(Case).where(col(Case.id).in_(sorted(missing)))).all())


#: rendered entries kept for the other feeds of one render, at most
_MEMO_CAP = 2000
#: cases whose newest events are read in one query (`_latest_by_case`): their events are held
#: while the cases' feeds are rendered (50 cases of 50 events held 7 MB of a full rebuild's
#: peak; 20 cost no more time)
_CASE_BATCH = 20


def _latest_by_case(session: Session, limit: int, case_ids: Sequence[int], *,
                    private_matters: Sequence[str] = ()) -> dict[int, list[Event]]:
    """`_latest(case_ids=[id])` of each case, for many cases in one query (the events ranked
    within each case, newest first)."""
    if not case_ids:
        return {}
    conditions: list[ColumnElement[bool]] = [
        col(Event.private).is_(False), col(Event.kind).not_in(list(QUIET_EVENT_KINDS)),
        col(Event.case_id).in_(list(case_ids))]
    if private_matters:
        conditions.append(col(Event.matter_id).is_(None)
                          | col(Event.matter_id).not_in(list(private_matters)))
    rank = func.row_number().over(partition_by=col(Event.case_id),
                                  order_by=col(Event.id).desc()).label("rank")
    ranked = sa_select(col(Event.id).label("id"), rank).where(*conditions).subquery()
    query = (select(Event).join(ranked, col(Event.id) == ranked.c.id)
             .where(ranked.c.rank <= limit).order_by(col(Event.id).desc()))
    found: dict[int, list[Event]] = {case_id: [] for case_id in case_ids}
    for event in session.exec(query).all():
        found[event.case_id or 0].append(event)
    return found


@dataclass(frozen=True)
class FeedScope:
    """Which feeds to render; `render_feeds` without one renders them all."""

    #: cases whose `case-*.atom` to render
    case_ids: frozenset[int] = frozenset()
    #: tags whose `tag-*.atom` to render
    tags: frozenset[str] = frozenset()
    #: render `all.atom`
    everything: bool = False
    #: render `agreements.atom` and the per-state agreement feeds
    agreements: bool = False
    #: lists (`list_page` source ids) whose `list-*.atom` to render
    lists: frozenset[str] = frozenset()


def render_feeds(engine: Engine, feeds_config: FeedsConfig, feeds_dir: Path, *,
                 scope: FeedScope | None = None) -> list[Path]:
    """Render `all.atom`, `tag-<tag>.atom`, `case-<court>-<docket>.atom`, `agreements.atom` and
    `agreements-<state>.atom` (287(g) agreement events), `list-<source id>.atom` (a list's
    `item.*` events), or only those `scope` names; return those written.

    A file whose bytes would not change is not touched: the output depends on the data only.
    """
    cap = feeds_config.max_entries
    title = feeds_config.title
    with read_session(engine) as session, FeedWriter() as writer:
        matters = list(session.exec(select(Matter)).all())
        hidden = [m.id for m in matters if m.private]
        memo: dict[int, bytes] = {}

        def emit(spec: FeedSpec, events: list[Event]) -> None:
            if len(memo) > _MEMO_CAP:
                memo.clear()
            held = _cases_of(session, [e for e in events if (e.id or 0) not in memo])
            writer.add(feeds_dir / spec.filename,
                       render_atom(session, spec, events, feeds_config, memo=memo))
            del held

        if scope is None or scope.everything:
            emit(FeedSpec("all.atom", f"{ID_PREFIX}feed/all", title),
                 _latest(session, cap, private_matters=hidden))
        by_matter = matter_members(m for m in matters if not m.private)
        lists = list_members(session)
        tags = set(by_matter) | set(lists)
        if scope is None:
            tags |= case_tags(session)
        else:  # the tags of the scope some case carries: asked one by one, not listed
            tags |= {tag for tag in scope.tags - tags if has_case_tag(session, tag)}
        for tag in sorted(tags if scope is None else tags & scope.tags):
            name = safe_name(tag)
            emit(FeedSpec(f"tag-{name}.atom", f"{ID_PREFIX}feed/tag/{name}", f"{title}: {tag}"),
                 _latest_tagged(session, cap, tag, matter_ids=by_matter.get(tag, set()),
                                private_matters=hidden, list_ids=lists.get(tag, set())))
        case_ids = sorted(scope.case_ids) if scope is not None else list(
            session.exec(select(Case.id).order_by(col(Case.id))).all())
        for start in range(0, len(case_ids), _CASE_BATCH):
            # A batch of cases at a time: a full rebuild never holds every case.
            batch = list(session.exec(select(Case).where(
                col(Case.id).in_(case_ids[start:start + _CASE_BATCH])).order_by(col(Case.id))))
            latest = _latest_by_case(session, cap, [case.id or 0 for case in batch],
                                     private_matters=hidden)
            for case in batch:
                name = safe_name(case.court, case.docket_number)
                link = docket_url(case.court, case.docket_number,
                                  pacer_case_id=case.pacer_case_id,
                                  cl_docket_id=case.cl_docket_id)
                heading = f"{case.case_name} ({case.court} {case.docket_number})".strip()
                emit(FeedSpec(f"case-{name}.atom", f"{ID_PREFIX}feed/case/{name}",
                              f"{title}: {heading}", link), latest[case.id or 0])
        if scope is None or scope.agreements:
            _agreement_feeds(session, title, cap, emit)
        _list_feeds(session, title, cap, emit, None if scope is None else scope.lists)
    return writer.written


def _list_feeds(session: Session, title: str, cap: int,
                emit: Callable[[FeedSpec, list[Event]], None],
                only: frozenset[str] | None) -> None:
    """One feed per list watched row by row: its `item.*` events, newest first."""
    for state in session.exec(select(ListState).order_by(col(ListState.source_id))).all():
        if only is not None and state.source_id not in only:
            continue
        events = list(session.exec(
            select(Event).where(StartsWith(col(Event.kind), "item."),
                                Event.source_id == state.source_id,
                                col(Event.private).is_(False))
            .order_by(col(Event.id).desc()).limit(cap)).all())
        name = safe_name(state.source_id)
        emit(FeedSpec(f"list-{name}.atom", f"{ID_PREFIX}feed/list/{name}",
                      f"{title}: {state.title or state.source_id}", state.url), events)


def _agreement_feeds(session: Session, title: str, cap: int,
                     emit: Callable[[FeedSpec, list[Event]], None]) -> None:
    agreements = list(session.exec(
        select(Event).where(StartsWith(col(Event.kind), "agreement."),
                            col(Event.kind).not_in(list(QUIET_EVENT_KINDS)))
        .order_by(col(Event.id).desc())).all())
    if agreements:
        emit(FeedSpec("agreements.atom", f"{ID_PREFIX}feed/agreements",
                      f"{title}: 287(g) agreements"), agreements[:cap])
    by_state: dict[str, list[Event]] = {}
    for event in agreements:
        published = str((event.data or {}).get("state") or "")
        state = state_code(published) if published else ""  # "TEXAS" and "TX": tx
        if state:
            by_state.setdefault(state, []).append(event)
    for state, events in sorted(by_state.items()):
        name = safe_name(state)
        emit(FeedSpec(f"agreements-{name}.atom", f"{ID_PREFIX}feed/agreements/{name}",
                      f"{title}: 287(g) agreements in {state}"), events[:cap])
