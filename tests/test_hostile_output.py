"""Hostile docket text reaches people safely: only http(s) links in emails, Atom and ICS; no
bidi overrides or zero-width characters in titles and summaries; long entry text capped with a
note saying where to read the rest."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.alerts import render_message
from monitor.alerts.outbox import load_context
from monitor.config import FeedsConfig, WatchConfig
from monitor.db import make_engine, read_session
from monitor.feeds import render_feeds, render_ics
from monitor.matching import Matcher
from monitor.models import Deadline, Event
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from sources.pacer_rss import parse_feed
from sources.sanitize import cap_text, clean_text, safe_url
from tests.fakes.feed_server import Item, rss

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
EVIL = "javascript:alert(document.cookie)"
LONG = "Memorandum opinion " + "word " * 40_000  # 200 kB


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def _hostile_entries(engine: Engine) -> list[Event]:
    obs = CaseObservation(
        court="dcd", docket_number="1:26-cv-00412", docket_number_raw="1:26-cv-412",
        case_name="Doe v. \u202eSICSU\u202c mandamus", pacer_case_id="281234",
        entries=(
            EntryObservation(entry_number=1, date_filed=NOW.date(),
                             short_description="ORDER\u200b granting\u2066 writ of mandamus",
                             description="ORDER\u200b granting\u2066 writ of mandamus",
                             document_url=EVIL),
            EntryObservation(entry_number=2, date_filed=NOW.date(), short_description=LONG,
                             description=LONG, document_url="data:text/html,<script>x</script>"),
        ))
    watch = WatchConfig(name="m", tags=["m"], case_name=["(?i)mandamus"])
    Store(engine, Matcher([watch])).apply([obs], source_id="rss", now=NOW)
    with read_session(engine) as session:
        return list(session.exec(select(Event)).all())


def test_email_has_only_http_links_no_invisible_characters_and_capped_text(
        engine: Engine) -> None:
    events = _hostile_entries(engine)
    assert len(events) == 3  # case.discovered, 2 x entry.added
    for event in events:
        with read_session(engine) as session:
            message = render_message(event, load_context(session, event))
        everything = message.title + message.text + message.html
        assert "javascript:" not in everything and "data:text" not in everything
        hrefs = re.findall(r'href="([^"]*)"', message.html)
        assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)
        assert not INVISIBLE.search(everything)
        assert len(message.html) < 12_000 and len(message.text) < 6_000
    long_one = render_message(events[-1])
    assert "(truncated; full text in `court-monitor case dcd 1:26-cv-00412`" in long_one.text


def test_atom_links_are_http_and_text_is_clean_and_capped(engine: Engine,
                                                          tmp_path: Path) -> None:
    _hostile_entries(engine)
    out = tmp_path / "feeds"
    render_feeds(engine, FeedsConfig(), out)
    raw = (out / "all.atom").read_bytes()
    assert b"javascript:" not in raw and b"data:text" not in raw
    assert len(raw) < 60_000  # the 200 kB entry is capped
    text = raw.decode("utf-8")
    assert not INVISIBLE.search(text)
    feed = feedparser.parse(raw)
    links = [link["href"] for e in feed.entries for link in e.links]
    assert links and all(h.startswith(("https://", "http://")) for h in links)


def test_ics_text_is_clean() -> None:
    deadline = Deadline.model_validate({
        "key": "k", "subject": "dcd:1:26-cv-00412", "label": "Answer \u202eeud\u202c",
        "rule_id": "FRCP 12(a)(2)", "citation": "x", "due_date": date(2026, 5, 4),
        "timezone": "America/New_York", "created_at": NOW, "updated_at": NOW,
        "trigger_text": "served\u200b on\u2067 USA", "steps": ["+60 days\u200d"],
    })
    data = render_ics([deadline], calendar_name="cal\u202e").decode("utf-8")
    assert "Answer eud" in data
    assert not INVISIBLE.search(data)


def test_rss_parser_keeps_the_entry_but_not_a_javascript_document_link() -> None:
    feed = rss("dcd", [Item("dcd", "1:26-cv-00412", "Doe v. USCIS", "Order", 4)])
    feed = feed.replace(b"https://ecf.dcd.uscourts.gov/doc1/", b"javascript:alert(1)//doc1/")
    [case] = parse_feed(feed, court="dcd")
    [entry] = case.entries
    assert entry.entry_number == 4 and entry.document_url == ""


def test_rss_parser_strips_invisible_characters_before_matching() -> None:
    feed = rss("dcd", [Item("dcd", "1:26-cv-00412", "Doe v. Man@@damus##",
                            "PETITION for Writ of Man@@damus", 1)]).decode("iso-8859-1")
    feed = feed.replace("@@", "\u200b").replace("##", "\u202e").replace(
        'encoding="ISO-8859-1"', 'encoding="UTF-8"')
    [case] = parse_feed(feed.encode("utf-8"), court="dcd")
    assert case.case_name == "Doe v. Mandamus"
    assert case.entries[0].short_description == "PETITION for Writ of Mandamus"


@pytest.mark.parametrize(("url", "kept"), [
    ("https://ecf.dcd.uscourts.gov/doc1/1", True),
    ("http://127.0.0.1:8/x", True),
    (EVIL, False),
    ("JAVASCRIPT:alert(1)", False),
    (" javascript:alert(1)", False),
    ("java\u200bscript:alert(1)", False),
    ("data:text/html,x", False),
    ("file:///etc/passwd", False),
    ("//evil.example/x", False),
    ("https://", False),
    ("https://a b.example/", False),
])
def test_safe_url(url: str, kept: bool) -> None:
    assert (safe_url(url) != "") is kept


def test_clean_text_and_cap_text() -> None:
    assert clean_text("a\u202eb\u200bc\x00d\ne\tf") == "abcd\ne\tf"
    capped = cap_text("one two three four five six", 12, rest_at="the docket")
    assert capped == "one two… (truncated; full text in the docket)"
    assert cap_text("short", 12) == "short"
