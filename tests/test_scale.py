"""What makes the monitor fast at national scale, as behaviour users depend on:

- fetches of one round run in parallel but never more than `[http] per_host_connections` at
  once to one host, and their results are stored in target order;
- entries are found by index: an unnumbered entry still merges with the numbered one, and a
  document id seen again (fourth digit 0 or 1) is the same entry; cases keep their entry count;
- feeds are rendered incrementally: only the feeds of changed cases are rewritten, nothing when
  nothing changed, everything on demand;
- `events --since` returns exactly the events at or after that time, `--limit` pages;
  `cases --limit/--offset` pages;
- a watch's patterns combined into one regex match exactly where one of them does.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, col, select

from monitor import queries
from monitor.config import FeedsConfig, WatchConfig
from monitor.db import make_engine, read_session, write_session
from monitor.events import emit
from monitor.feeds.incremental import STATE_FILE, render_changed
from monitor.fetch_pool import HostLimiter, fetch_in_order, useful_threads
from monitor.matching import Matcher, any_of
from monitor.models import Case, Entry, Event
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from tests.cli_helpers import run, write_config
from tests.conftest import FixedClock

WATCH = WatchConfig(name="mandamus", tags=["287g"], entry_text=[r"(?i)writ of mandamus"])
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def _case(docket: str, *entries: EntryObservation) -> CaseObservation:
    return CaseObservation(court="dcd", docket_number=docket, docket_number_raw=docket,
                           case_name="Doe v. USCIS", entries=entries)


def _entry(number: int | None, text: str, doc: str = "") -> EntryObservation:
    return EntryObservation(entry_number=number, date_filed=date(2026, 3, 2),
                            short_description=text, description=text, pacer_doc_id=doc)


# ---------------------------------------------------------------------------- fetching


class _SlowServer:
    """Answers every path after 0.2 s, recording how many requests were in flight at once."""

    def __init__(self) -> None:
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                with outer.lock:
                    outer.in_flight += 1
                    outer.peak = max(outer.peak, outer.in_flight)
                time.sleep(0.2)
                with outer.lock:
                    outer.in_flight -= 1
                body = self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def slow_server() -> Iterator[_SlowServer]:
    server = _SlowServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.mark.parametrize("per_host", [1, 2])
def test_fetches_stay_within_the_per_host_limit_and_come_back_in_order(
        slow_server: _SlowServer, per_host: int) -> None:
    urls = [slow_server.url(f"/feed/{i}") for i in range(6)]
    with httpx.Client() as client:
        outcomes = list(fetch_in_order(urls, lambda u: client.get(u).text, url=lambda u: u,
                                       limiter=HostLimiter(per_host), workers=8))
    assert [o.value for o in outcomes] == [f"/feed/{i}" for i in range(6)]
    assert slow_server.peak == per_host


def test_no_more_fetch_threads_start_than_hosts_give_slots() -> None:
    assert useful_threads(["http://a/1", "http://a/2", "http://a/3"], 2, 8) == 2
    assert useful_threads(["http://a/1", "http://b/1", "http://b/2", "http://c/1"], 4, 8) == 4
    assert useful_threads([f"http://h{i}/" for i in range(20)], 4, 8) == 8
    assert useful_threads([], 4, 8) == 0
    assert useful_threads(["http://a/1", "http://a/2", "http://a/3"], 2, 8, off_slot=2) == 4
    assert useful_threads(["http://a/1"] * 20, 4, 8, off_slot=6) == 8

    def fetch(n: int) -> str:
        return threading.current_thread().name

    names = {o.value for o in fetch_in_order(list(range(40)), fetch, url=lambda n: "http://a/",
                                             limiter=HostLimiter(2), workers=8)}
    assert 1 <= len(names) <= 2
    alone = {o.value for o in fetch_in_order(list(range(5)), fetch, url=lambda n: "http://a/",
                                             limiter=HostLimiter(1), workers=8)}
    assert alone == {threading.current_thread().name}  # one slot: no thread started


def test_a_failed_fetch_is_handed_back_as_data_in_its_place() -> None:
    def fetch(n: int) -> int:
        if n == 2:
            raise ValueError("boom")
        return n * 10

    outcomes = list(fetch_in_order([1, 2, 3], fetch, url=lambda n: f"http://h{n}/",
                                   limiter=HostLimiter(1), workers=3))
    assert [o.value for o in outcomes] == [10, None, 30]
    assert isinstance(outcomes[1].error, ValueError)


# ---------------------------------------------------------------------------- store


def test_entries_found_by_index_merge_and_count(engine: Engine) -> None:
    store = Store(engine, Matcher([WATCH]))
    store.apply([_case("1:26-cv-00412", _entry(None, "PETITION for Writ of Mandamus"),
                       _entry(None, "Summons issued", doc="04503412345"))],
                source_id="pacer-rss", now=NOW)
    # The number arrives for the unnumbered entry; the same document is linked with a 1.
    result = store.apply([_case("1:26-cv-00412", _entry(1, "PETITION for Writ of Mandamus"),
                                _entry(None, "Summons issued", doc="04513412345"),
                                _entry(3, "ORDER to show cause"))],
                         source_id="pacer-rss", now=NOW + timedelta(hours=1))
    assert result.count("entry.added") == 1  # only #3 is new
    with read_session(engine) as session:
        case = session.exec(select(Case)).one()
        rows = session.exec(select(Entry).order_by(Entry.id)).all()  # type: ignore[arg-type]
        assert [r.identity for r in rows] == ["n:1", "d:04503412345", "n:3"]
        assert case.entry_count == 3
    assert queries.cases(engine)[0][1] == 3


def test_an_untracked_item_that_matches_nothing_is_dropped(engine: Engine) -> None:
    store = Store(engine, Matcher([WATCH]))
    result = store.apply([_case("1:26-cv-00999", _entry(1, "Complaint"))],
                         source_id="pacer-rss", now=NOW)
    assert result.dropped == 1
    with read_session(engine) as session:
        assert session.exec(select(Case)).all() == []


# ---------------------------------------------------------------------------- feeds


def test_feeds_are_rendered_incrementally(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    config = FeedsConfig()
    store = Store(engine, Matcher([WATCH]))
    store.apply([_case("1:26-cv-00412", _entry(1, "PETITION for Writ of Mandamus")),
                 _case("1:26-cv-00413", _entry(1, "PETITION for Writ of Mandamus"))],
                source_id="pacer-rss", now=NOW)
    first = {p.name for p in render_changed(engine, config, out, title="t")}
    assert {"all.atom", "tag-287g.atom", "case-dcd-1-26-cv-00412.atom",
            "case-dcd-1-26-cv-00413.atom"} <= first
    assert (out / STATE_FILE).is_file()
    assert render_changed(engine, config, out, title="t") == []
    store.apply([_case("1:26-cv-00413", _entry(2, "ORDER to show cause"))],
                source_id="pacer-rss", now=NOW + timedelta(hours=1))
    other = out / "case-dcd-1-26-cv-00412.atom"
    before = other.stat().st_mtime_ns
    again = {p.name for p in render_changed(engine, config, out, title="t")}
    assert again == {"all.atom", "tag-287g.atom", "case-dcd-1-26-cv-00413.atom"}
    assert b"ORDER to show cause" in (out / "case-dcd-1-26-cv-00413.atom").read_bytes()
    assert other.stat().st_mtime_ns == before
    # On demand (or with the state file gone) every feed is rendered again.
    other.unlink()
    assert "case-dcd-1-26-cv-00412.atom" in {
        p.name for p in render_changed(engine, config, out, title="t", full=True)}


# ---------------------------------------------------------------------------- queries


def test_events_since_and_pages(engine: Engine) -> None:
    times = [NOW - timedelta(hours=h) for h in (50, 30, 2, 40, 1, 0)]  # ids not in time order
    with write_session(engine) as session:
        for i, at in enumerate(times):
            emit(session, [], kind="entry.added" if i % 2 else "case.updated", at=at,
                 subject="s", summary=str(i), dedupe_key=f"k{i}")
    since = NOW - timedelta(hours=24)
    got = queries.events(engine, since=since)
    with read_session(engine) as session:
        expected = [e.id for e in session.exec(select(Event).order_by(Event.id))  # type: ignore[arg-type]
                    if e.at.replace(tzinfo=UTC) >= since]
    assert [e.id for e in got] == expected and len(expected) == 3
    assert queries.events(engine, since=NOW + timedelta(hours=1)) == []
    page = queries.events(engine, limit=2)
    rest = queries.events(engine, after=page[-1].id, limit=10)
    assert [e.id for e in page + rest] == [e.id for e in queries.events(engine)]
    assert [e.summary for e in queries.events(engine, kinds=["entry.*"], limit=2)] == ["1", "3"]


EVENT_KINDS = ["entry.added", "case.discovered", "agreement.added", "agreement.removed",
               "deadline.due_soon", "deadline.dueXsoon", "ENTRY.added", "entry.updated",
               "source.failed", "item.added", "entry", "entryadded"]
KIND_GLOBS = [["entry.added"], ["entry.*"], ["agreement.*"], ["*added"], ["entry.*ed"],
              ["deadline.due_*"], ["deadline.due?soon"], ["[ae]*"], ["entry*"], ["*"],
              ["agreement.*", "case.discovered"], ["nothing.*"], ["entry.added", "*ed"],
              ["e?try.*"], ["deadline.due_soon"]]


@pytest.mark.parametrize("globs", KIND_GLOBS, ids=lambda g: "+".join(g))
def test_events_by_kind_globs_are_what_fnmatch_keeps(engine: Engine, globs: list[str]) -> None:
    with write_session(engine) as session:
        for i in range(60):
            emit(session, [], kind=EVENT_KINDS[(i * 7) % len(EVENT_KINDS)],
                 at=NOW - timedelta(hours=i % 13), subject="s", summary=str(i),
                 dedupe_key=f"g{i}")
    with read_session(engine) as session:
        every = list(session.exec(select(Event).order_by(col(Event.id))))
    since = NOW - timedelta(hours=6)
    for limit, after, at_least in ((None, None, None), (3, None, None), (4, 20, None),
                                   (None, None, since), (2, 10, since)):
        expected = [e.id for e in every
                    if any(fnmatch.fnmatchcase(e.kind, g) for g in globs)
                    and (after is None or (e.id or 0) > after)
                    and (at_least is None or e.at.replace(tzinfo=UTC) >= at_least)][:limit]
        got = queries.events(engine, kinds=globs, limit=limit, after=after, since=at_least)
        assert [e.id for e in got] == expected, (limit, after, at_least)


def test_cases_pages(engine: Engine) -> None:
    store = Store(engine, Matcher([WATCH]))
    for n in range(5):
        store.apply([_case(f"1:26-cv-0050{n}", _entry(1, "Writ of Mandamus"))],
                    source_id="pacer-rss", now=NOW + timedelta(minutes=n))
    everything = [c.docket_number for c, _ in queries.cases(engine)]
    pages = [c.docket_number for c, _ in queries.cases(engine, limit=2)] + \
        [c.docket_number for c, _ in queries.cases(engine, limit=2, offset=2)] + \
        [c.docket_number for c, _ in queries.cases(engine, limit=2, offset=4)]
    assert pages == everything and len(everything) == 5


# ---------------------------------------------------------------------------- matching


@pytest.mark.parametrize("text", ["WRIT OF MANDAMUS", "287 (g) agreement", "Foo", "foo bar",
                                  "nothing here", ""])
def test_combined_patterns_match_where_one_does(text: str) -> None:
    patterns = [r"(?i)writ of mandamus", r"(?i)\b287\s*\(\s*g\s*\)", r"foo"]
    combined = any_of(patterns)
    assert combined is not None
    assert bool(combined.search(text)) == any(re.search(p, text) for p in patterns)
    assert any_of([r"(a)\1"]) is None  # back-references keep the slow path


def test_feeds_command_renders_and_rebuilds(tmp_path: Path, clock: FixedClock,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert run(["--config", config, "feeds"], clock) == 0
    feeds_dir = tmp_path / "feeds"
    assert (feeds_dir / STATE_FILE).is_file() and (feeds_dir / "all.atom").is_file()
    (feeds_dir / "all.atom").unlink()
    assert run(["--config", config, "feeds"], clock) == 0
    assert not (feeds_dir / "all.atom").exists()  # nothing changed: nothing rendered
    assert run(["--config", config, "feeds", "--rebuild"], clock) == 0
    assert (feeds_dir / "all.atom").is_file()
    assert "rebuilt" in capsys.readouterr().out
