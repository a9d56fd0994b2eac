"""Atom and iCalendar feeds: valid, stable ids, private kept out, no rewrite when unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from icalendar import Calendar
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.config import FeedsConfig, WatchConfig
from monitor.db import make_engine, read_session, write_session
from monitor.events import emit
from monitor.feeds import render_feeds, render_ics, safe_name, write_ics_feeds
from monitor.feeds.incremental import render_changed
from monitor.matching import Matcher
from monitor.models import Case, Deadline, Matter
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from tests.conftest import FixedClock

WATCH = WatchConfig(name="mandamus", tags=["287g", "mandamus"],
                    entry_text=[r"(?i)writ of mandamus"])
CASE_FILE = "case-dcd-1-26-cv-00412.atom"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def _apply(engine: Engine, now: datetime, *entries: tuple[int, str]) -> None:
    obs = CaseObservation(
        court="dcd", docket_number="1:26-cv-00412", docket_number_raw="1:26-cv-412",
        case_name="Doe v. USCIS", pacer_case_id="281234",
        entries=tuple(EntryObservation(entry_number=n, date_filed=now.date(),
                                       short_description=text, description=text)
                      for n, text in entries))
    Store(engine, Matcher([WATCH])).apply([obs], source_id="pacer-rss", now=now)


def _parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def test_atom_feeds_entries_ids_and_no_rewrite(engine: Engine, tmp_path: Path,
                                               clock: FixedClock) -> None:
    out = tmp_path / "feeds"
    config = FeedsConfig(base_url="https://feeds.example.org/")
    _apply(engine, clock.now, (1, "PETITION for Writ of Mandamus\x0b against USCIS"))
    written = render_feeds(engine, config, out)
    assert sorted(p.name for p in written) == sorted(
        ["all.atom", "tag-287g.atom", "tag-mandamus.atom", CASE_FILE])

    feed = _parse(out / "all.atom")
    assert len(feed.entries) == 2  # case.discovered + entry.added
    first_ids = {e.id for e in feed.entries}
    assert all(i.startswith("tag:court-monitor,2026:event/") for i in first_ids)
    entry = next(e for e in feed.entries if "PETITION" in e.title)
    assert "Writ of Mandamus against USCIS" in entry.summary
    assert entry.updated_parsed[:5] == (2026, 3, 2, 15, 0)
    assert any(link.get("rel") == "self" and link["href"].endswith("/all.atom")
               for link in feed.feed.links)

    # Re-rendering unchanged data writes nothing, even later.
    stats = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    before = (out / "all.atom").read_bytes()
    clock.advance(hours=3)
    assert render_feeds(engine, config, out) == []
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stats
    assert (out / "all.atom").read_bytes() == before

    # A new event is one new entry; the old ones keep their ids.
    _apply(engine, clock.now, (2, "ORDER to show cause"))
    written = render_feeds(engine, config, out)
    assert {p.name for p in written} >= {"all.atom", CASE_FILE}
    feed = _parse(out / CASE_FILE)
    ids = {e.id for e in feed.entries}
    assert len(ids) == 3 and first_ids <= ids
    assert feed.feed.title == "court-monitor: Doe v. USCIS (dcd 1:26-cv-00412)"
    assert not list(out.glob(".*.tmp"))


def test_private_never_in_feeds_baseline_is(engine: Engine, tmp_path: Path,
                                            clock: FixedClock) -> None:
    _apply(engine, clock.now, (1, "PETITION for Writ of Mandamus"))
    with write_session(engine) as session:
        session.add(Matter(id="foia-1", kind="foia", tags=["287g"], private=True,
                           created_at=clock.now))
        emit(session, [], kind="deadline.set", at=clock.now, subject="matter:foia-1",
             summary="SECRET determination due", dedupe_key="p1", matter_id="foia-1")
        emit(session, [], kind="entry.added", at=clock.now, subject="dcd:1:26-cv-00412",
             summary="SEALED entry", dedupe_key="p2", case_id=1, private=True)
        emit(session, [], kind="agreement.added", at=clock.now, subject="agreement:FL",
             summary="Lee County Sheriff's Office signed", dedupe_key="b1",
             data={"state": "FL", "baseline": True})
    out = tmp_path / "feeds"
    render_feeds(engine, FeedsConfig(), out)
    text = b"".join(p.read_bytes() for p in out.iterdir())
    assert b"SECRET" not in text and b"SEALED" not in text
    titles = [e.title for e in _parse(out / "all.atom").entries]
    assert any("Lee County" in t for t in titles)
    assert len(_parse(out / "tag-287g.atom").entries) == 2  # the case's events only


def test_feed_is_capped_newest_first(engine: Engine, tmp_path: Path, clock: FixedClock) -> None:
    for n in range(1, 6):
        _apply(engine, clock.now, (n, f"MOTION number {n} for writ of mandamus"))
        clock.advance(minutes=10)
    out = tmp_path / "feeds"
    render_feeds(engine, FeedsConfig(max_entries=3), out)
    titles = [e.title for e in _parse(out / "all.atom").entries]
    assert len(titles) == 3
    assert "#5" in titles[0] and "#3" in titles[2]


def test_safe_names() -> None:
    assert safe_name("dcd", "1:26-cv-00412") == "dcd-1-26-cv-00412"
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("287(g) / Florida") == "287-g-florida"


# ---------------------------------------------------------------------------- iCalendar

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _deadline(key: str, due: date, **kwargs: object) -> Deadline:
    fields: dict[str, object] = {
        "key": key, "subject": "dcd:1:26-cv-00412", "label": "Answer",
        "rule_id": "FRCP 12(a)(2)", "citation": "Fed. R. Civ. P. 12(a)(2)", "due_date": due,
        "timezone": "America/New_York", "created_at": NOW, "updated_at": NOW,
        "steps": ["Served on the U.S. attorney 2026-03-03", "+60 days; rolls to Monday"],
    }
    fields.update(kwargs)
    return Deadline.model_validate(fields)


def _events(data: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(data)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_ics_events_alarms_and_a_moved_deadline() -> None:
    answer = _deadline("dcd-26-cv-00412-answer", date(2026, 5, 4))
    hearing = _deadline("dcd-26-cv-00412-hearing", date(2026, 4, 1), label="Hearing",
                        due_at=datetime(2026, 4, 1, 14, 30, tzinfo=UTC))
    met = _deadline("dcd-26-cv-00412-served", date(2026, 3, 1), state="met")
    data = render_ics([answer, hearing, met], calendar_name="Doe v. USCIS")
    events = _events(data)
    assert set(events) == {"deadline-dcd-26-cv-00412-answer@court-monitor",
                           "deadline-dcd-26-cv-00412-hearing@court-monitor"}
    vevent = events["deadline-dcd-26-cv-00412-answer@court-monitor"]
    assert vevent["dtstart"].dt == date(2026, 5, 4)  # all day
    assert not isinstance(vevent["dtstart"].dt, datetime)
    assert int(vevent["sequence"]) == 0
    assert "rolls to Monday" in str(vevent["description"])
    assert "FRCP 12(a)(2)" in str(vevent["description"])
    triggers = sorted(a["trigger"].dt for a in vevent.walk("VALARM"))
    assert triggers == [timedelta(days=-7), timedelta(days=-3), timedelta(days=-1),
                        timedelta(0)]
    timed = events["deadline-dcd-26-cv-00412-hearing@court-monitor"]["dtstart"].dt
    assert timed == datetime(2026, 4, 1, 14, 30, tzinfo=UTC)
    assert str(timed.tzinfo) == "America/New_York"  # 10:30 EDT in the court's zone
    assert b"VTIMEZONE" in data
    assert render_ics([answer, hearing, met], calendar_name="Doe v. USCIS") == data

    moved = _deadline("dcd-26-cv-00412-answer", date(2026, 5, 11), sequence=1,
                      updated_at=NOW + timedelta(days=2))
    again = _events(render_ics([moved], calendar_name="x"))
    vevent = again["deadline-dcd-26-cv-00412-answer@court-monitor"]
    assert vevent["dtstart"].dt == date(2026, 5, 11)
    assert int(vevent["sequence"]) == 1


def test_write_ics_feeds(engine: Engine, tmp_path: Path, clock: FixedClock) -> None:
    _apply(engine, clock.now, (1, "PETITION for Writ of Mandamus"))
    with write_session(engine) as session:
        session.add(Matter(id="foia-1", kind="foia", tags=["foia"], private=True,
                           created_at=NOW))
        session.add(_deadline("answer", date(2026, 5, 4), case_id=1))
        session.add(_deadline("sealed", date(2026, 5, 5), case_id=1, private=True,
                              label="SEALED reply"))
        session.add(_deadline("foia-det", date(2026, 3, 30), matter_id="foia-1",
                              subject="matter:foia-1", label="SECRET determination"))
    out = tmp_path / "feeds"
    written = write_ics_feeds(engine, out)
    names = sorted(p.name for p in written)
    assert names == ["deadlines-case-dcd-1-26-cv-00412.ics", "deadlines-tag-287g.ics",
                     "deadlines-tag-mandamus.ics", "deadlines.ics"]
    everything = b"".join(p.read_bytes() for p in out.iterdir())
    assert b"SEALED" not in everything and b"SECRET" not in everything
    case_events = _events((out / "deadlines-case-dcd-1-26-cv-00412.ics").read_bytes())
    (vevent,) = case_events.values()
    assert "Doe v. USCIS" in str(vevent["summary"])
    assert write_ics_feeds(engine, out) == []

    with write_session(engine) as session:
        row = session.exec(select(Deadline).where(Deadline.key == "answer")).one()
        row.due_date, row.sequence = date(2026, 5, 11), row.sequence + 1
        row.updated_at = clock.now + timedelta(days=1)
        session.add(row)
    assert len(write_ics_feeds(engine, out)) == 4
    (vevent,) = _events((out / "deadlines.ics").read_bytes()).values()
    assert (str(vevent["uid"]), int(vevent["sequence"])) == ("deadline-answer@court-monitor", 1)
    with read_session(engine) as session:
        assert session.get(Case, 1) is not None


def test_calendar_alarms_follow_reminder_days(engine: Engine, tmp_path: Path,
                                              clock: FixedClock) -> None:
    """`[deadlines] reminder_days` are the calendars' alarms (they were always 7, 3, 1, 0),
    and changing them renders the calendars again."""
    _apply(engine, clock.now, (1, "PETITION for Writ of Mandamus"))
    with write_session(engine) as session:
        session.add(_deadline("answer", date(2026, 5, 4), case_id=1))
    out = tmp_path / "feeds"

    def alarms() -> list[timedelta]:
        (vevent,) = _events((out / "deadlines.ics").read_bytes()).values()
        return sorted(a.decoded("trigger") for a in vevent.walk("VALARM"))

    render_changed(engine, FeedsConfig(), out, title="t", lead_days=(10, 2))
    assert alarms() == [timedelta(days=-10), timedelta(days=-2)]
    assert render_changed(engine, FeedsConfig(), out, title="t", lead_days=(10, 2)) == []
    written = render_changed(engine, FeedsConfig(), out, title="t", lead_days=(1,))
    assert out / "deadlines.ics" in written
    assert alarms() == [timedelta(days=-1)]
