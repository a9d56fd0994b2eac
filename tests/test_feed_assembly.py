"""Feeds assembled from entries serialized once, and tag membership asked of the database.

- A feed spliced from `entry_xml` parts is byte for byte the document feedgen writes when it is
  given the same entries one by one (so ETags of unchanged feeds stay, and feedparser reads it),
  whatever the text holds.
- `tagged_cases` / `case_tags` / `member_digests` say what listing every case's tags in Python
  said, on SQLite and (when installed) PostgreSQL, including cases with no or null tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from feedgen.feed import FeedGenerator
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, col, select

from monitor.alerts.outbox import load_context
from monitor.alerts.render import as_utc, docket_url, render_message
from monitor.config import FeedsConfig
from monitor.db import make_engine, read_session, write_session
from monitor.events import emit
from monitor.feeds import atom, render_atom, render_feeds
from monitor.feeds.atom import EMPTY_FEED_UPDATED, FeedSpec, _latest, _latest_tagged, entry_id
from monitor.feeds.tags import case_tags, has_case_tag, member_digests, tagged_cases
from monitor.models import Case, Event, Matter
from sources.sanitize import clean_text, safe_url
from tests.fakes.postgres import postgres_server

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
TEXTS = [
    "PETITION for Writ of Mandamus against USCIS",
    "ORDER <b>granting</b> & denying; \"quoted\" 'single' ]]> <![CDATA[ x ]]>",
    "Ünïcödé — résumé 🚀 and a control\x0b character\x00 here",
    "line one\nline two\r\n\tindented line three",
    "   ",
]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def _case(session: Session, case_id: int, tags: list[str] | None, **extra: str) -> None:
    session.add(Case(id=case_id, court="dcd", docket_number=f"1:26-cv-{case_id:05d}",
                     docket_key=f"26-cv-{case_id:05d}", case_name=f"Doe {case_id} v. USCIS",
                     first_seen=NOW, tags=tags or [], **extra))


def _events(engine: Engine) -> None:
    with write_session(engine) as session:
        _case(session, 1, ["287g", "mandamus"], pacer_case_id="281234")
        _case(session, 2, ["mandamus"])
        session.flush()
        for n, summary in enumerate(TEXTS):
            data: dict[str, object] = {"entry_number": n, "description": summary,
                                       "court": "dcd", "docket_number": "1:26-cv-00001"}
            if n == 1:
                data["document_url"] = "https://ecf.dcd.uscourts.gov/doc1/04503412345"
            if n == 2:
                data["document_url"] = "javascript:alert(1)"  # never a link
            emit(session, [], kind="entry.added", at=NOW + timedelta(minutes=n),
                 subject="dcd:1:26-cv-00001", summary=summary, dedupe_key=f"e{n}",
                 case_id=1 + n % 2, data=data)
        emit(session, [], kind="agreement.added", at=NOW, subject="agreement:TX",
             summary="Harris County signed", dedupe_key="a1", data={"state": "TX"})


def _feedgen_whole(session: Session, spec: FeedSpec, events: list[Event],
                   config: FeedsConfig) -> bytes:
    """The feed as feedgen writes it given every entry (the way feeds were written before)."""
    feed = FeedGenerator()
    feed.id(spec.feed_id)
    feed.title(clean_text(spec.title))
    feed.author({"name": config.title})
    feed.generator("court-monitor")
    if config.base_url:
        feed.link(href=config.base_url.rstrip("/") + "/" + spec.filename, rel="self")
    if safe_url(spec.link):
        feed.link(href=spec.link, rel="alternate")
    feed.updated(max((as_utc(e.at) for e in events), default=EMPTY_FEED_UPDATED))
    for event in events:
        message = render_message(event, load_context(session, event))
        link = safe_url(str((event.data or {}).get("document_url") or ""))
        case = session.get(Case, event.case_id) if event.case_id else None
        if not link and case is not None:
            link = docket_url(case.court, case.docket_number, pacer_case_id=case.pacer_case_id,
                              cl_docket_id=case.cl_docket_id)
        entry = feed.add_entry(order="append")
        entry.id(entry_id(event))
        entry.title(clean_text(message.title.removeprefix("[court-monitor] ")))
        entry.updated(as_utc(event.at))
        entry.published(as_utc(event.at))
        entry.summary(clean_text(message.text))
        entry.content(clean_text(message.html), type="html")
        entry.category(term=event.kind)
        if safe_url(link):
            entry.link(href=link, rel="alternate")
    data: bytes = feed.atom_str(pretty=True)
    return data


@pytest.mark.parametrize("base_url", ["", "https://feeds.example.org/"])
def test_a_spliced_feed_is_what_feedgen_writes(engine: Engine, base_url: str) -> None:
    _events(engine)
    config = FeedsConfig(base_url=base_url, title="court <monitor> & co")
    spec = FeedSpec("case-dcd-1.atom", "tag:court-monitor,2026:feed/case/dcd-1",
                    "court-monitor: Doe \x0b v. USCIS", "https://ecf.dcd.uscourts.gov/x?1&2")
    with read_session(engine) as session:
        events = list(session.exec(select(Event).order_by(col(Event.id).desc())).all())
        memo: dict[int, bytes] = {}
        for chosen in (events, events[1:4], events[:1], []):
            spliced = render_atom(session, spec, chosen, config, memo=memo)
            assert spliced == _feedgen_whole(session, spec, chosen, config)
            assert render_atom(session, spec, chosen, config) == spliced  # memo or not
            parsed = feedparser.parse(spliced)
            assert parsed.bozo == 0, parsed.get("bozo_exception")
            assert [e.id for e in parsed.entries] == [entry_id(e) for e in chosen]
        assert set(memo) == {e.id for e in events}  # each entry built once


def test_feeds_rendered_are_the_feedgen_documents(engine: Engine, tmp_path: Path) -> None:
    _events(engine)
    out = tmp_path / "feeds"
    config = FeedsConfig()
    render_feeds(engine, config, out)
    with read_session(engine) as session:
        every = list(session.exec(select(Event).order_by(col(Event.id).desc())).all())
        tagged = [e for e in every if e.case_id == 1]
        assert (out / "all.atom").read_bytes() == _feedgen_whole(
            session, FeedSpec("all.atom", "tag:court-monitor,2026:feed/all", config.title),
            every, config)
        assert (out / "tag-287g.atom").read_bytes() == _feedgen_whole(
            session, FeedSpec("tag-287g.atom", "tag:court-monitor,2026:feed/tag/287g",
                              f"{config.title}: 287g"), tagged, config)
    mandamus = feedparser.parse((out / "tag-mandamus.atom").read_bytes())
    assert len(mandamus.entries) == len(TEXTS)  # cases 1 and 2, not the agreement


def _tag_rows(engine: Engine) -> None:
    with write_session(engine) as session:
        _case(session, 1, ["287g", "mandamus"])
        _case(session, 2, ["mandamus"])
        _case(session, 3, [])
        _case(session, 4, ["federal", 'odd "tag" % _'])
        _case(session, 5, None)
        session.add(Matter(id="m1", kind="foia", tags=["287g", "foia"], created_at=NOW))
    with engine.begin() as conn:  # tags written by hand: SQL NULL and JSON null
        conn.execute(text('UPDATE "case" SET tags = NULL WHERE id = 3'))
        conn.execute(text("UPDATE \"case\" SET tags = 'null' WHERE id = 5"))


def _check_tags(engine: Engine) -> None:
    with read_session(engine) as session:
        assert case_tags(session) == {"287g", "mandamus", "federal", 'odd "tag" % _'}
        for tag in ("287g", "mandamus", "federal", 'odd "tag" % _', "foia", "odd", ""):
            assert has_case_tag(session, tag) == (tag in case_tags(session)), tag
        for tag, ids in (("287g", {1}), ("mandamus", {1, 2}), ("federal", {4}),
                         ('odd "tag" % _', {4}), ("odd", set()), ("", set())):
            assert set(session.scalars(tagged_cases(session, tag)).all()) == ids, tag
        matters = list(session.exec(select(Matter)).all())
        before = member_digests(session, matters)
        assert set(before) == {"287g", "mandamus", "federal", 'odd "tag" % _', "foia"}
        assert member_digests(session, matters) == before  # stable
        assert before["287g"] != before["mandamus"]
    with write_session(engine) as session:
        case = session.get(Case, 2)
        assert case is not None
        case.case_name = "renamed"  # not a membership change
    with read_session(engine) as session:
        assert member_digests(session, matters) == before
    with write_session(engine) as session:
        case = session.get(Case, 2)
        assert case is not None
        case.tags = ["mandamus", "287g"]  # 287g gains a case
    with read_session(engine) as session:
        after = member_digests(session, matters)
        assert {t for t in after if after[t] != before.get(t)} == {"287g"}
        assert member_digests(session, []) != after  # matters are members too
    with write_session(engine) as session:
        for case_id, tags in ((1, ["mandamus"]), (4, ["federal", 'odd "tag" % _', "287g"])):
            case = session.get(Case, case_id)
            assert case is not None
            case.tags = tags  # 287g swaps case 1 for case 4: as many members as before
    with read_session(engine) as session:
        swapped = member_digests(session, matters)
        assert {t for t in swapped if swapped[t] != after.get(t)} == {"287g"}


def test_tag_membership_on_sqlite(engine: Engine) -> None:
    _tag_rows(engine)
    _check_tags(engine)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def test_tag_membership_and_tag_feeds_on_postgresql(pg_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(pg_url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    try:
        _tag_rows(engine)
        _check_tags(engine)
        with write_session(engine) as session:
            for case_id in (4, 1, 5):
                emit(session, [], kind="entry.added", at=NOW, subject=f"dcd:{case_id}",
                     summary="an entry", dedupe_key=f"f{case_id}", case_id=case_id)
            session.flush()
            federal_event = session.exec(select(Event).where(Event.case_id == 4)).one()
        render_feeds(engine, FeedsConfig(), tmp_path)
        federal = feedparser.parse((tmp_path / "tag-federal.atom").read_bytes())
        assert [e.id for e in federal.entries] == [entry_id(federal_event)]
        assert len(feedparser.parse((tmp_path / "tag-287g.atom").read_bytes()).entries) == 1
        with read_session(engine) as session:
            for recent in (0, 1, 2, 10):  # older events asked through the indexes too
                monkeypatch.setattr(atom, "_RECENT_EVENTS", recent)
                for tag, matters in (("federal", []), ("287g", ["m1"]), ("mandamus", [])):
                    assert [e.id for e in _latest_tagged(session, 2, tag, matter_ids=matters,
                                                         list_ids=[])] == \
                        [e.id for e in _latest(session, 2, case_ids=tagged_cases(session, tag),
                                               matter_ids=matters)], (tag, recent)
    finally:
        SQLModel.metadata.drop_all(engine)
        engine.dispose()
