"""What the first poll round's shortcuts must not change (issue 12): the matcher's one-search
turn-away, a new case's entries looked up in memory, rows inserted without a flush, feed files
written together, the case feeds' newest events read in one query."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, col, select

from monitor.config import FeedsConfig, WatchConfig
from monitor.db import make_engine, read_session, write_session
from monitor.errors import MonitorError
from monitor.events import emit
from monitor.feeds import atom, files
from monitor.feeds.atom import _latest, _latest_by_case, _latest_tagged, render_feeds
from monitor.feeds.files import FeedWriter, write_all_if_changed
from monitor.feeds.tags import tagged_cases
from monitor.matching import Matcher
from monitor.models import Case, Entry, Event
from monitor.parse_pool import Screen
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from sources.pacer_rss import parse_feed

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
WATCHES = [
    WatchConfig(name="mandamus", tags=["287g"],
                entry_text=[r"(?i)writ of mandamus", r"(?i)\b287\s*\(\s*g\s*\)"],
                case_name=[r"(?i)\bUSCIS\b|homeland security"], cause=["28:1361"],
                nature_of_suit=["890"]),
    WatchConfig(name="federal", tags=["federal"],
                case_name=[r"(?i)\bv\.?\s+(USA|United States)\b"]),
    WatchConfig(name="dc-only", courts=["dcd"], entry_text=[r"(?i)\bsheriff\b"], match="all",
                case_name=[r"(?i)county"]),
    WatchConfig(name="by-hand", dockets=["nysd:1:25-cv-00007"]),
]


def _corpus() -> Path | None:
    path = Path(os.environ.get("COURT_MONITOR_CORPUS", Path(__file__).resolve().parents[2]
                               / "shared" / "corpus"))
    return path if (path / "pacer_rss").is_dir() else None


def _seen(number: int, short: str, description: str = "") -> EntryObservation:
    return EntryObservation(entry_number=number, date_filed=None, short_description=short,
                            description=description)


def _observations() -> list[CaseObservation]:
    made = [
        CaseObservation(court="nysd", docket_number="1:25-cv-00007",
                        docket_number_raw="1:25-cv-7", case_name="Roe v. Smith"),
        CaseObservation(court="dcd", docket_number="1:25-cv-00008", docket_number_raw="",
                        case_name="Doe v. Harris County",
                        entries=(_seen(1, "Complaint", "against the Sheriff"),)),
        CaseObservation(court="mdd", docket_number="8:25-cv-00009", docket_number_raw="",
                        case_name="Lee v. Harris County",
                        entries=(_seen(1, "", "Sheriff"),)),
        CaseObservation(court="dcd", docket_number="1:25-cv-00010", docket_number_raw="",
                        case_name="A v. B", cause="28:1361 Petition for Mandamus"),
        CaseObservation(court="dcd", docket_number="1:25-cv-00011", docket_number_raw="",
                        case_name="A v. B", nature_of_suit="890 Other Statutory Actions"),
        CaseObservation(court="dcd", docket_number="1:25-cv-00012", docket_number_raw="",
                        case_name="Nobody v. Nothing",
                        entries=(_seen(2, "ORDER"),)),
    ]
    corpus = _corpus()
    if corpus is not None:
        for path in sorted((corpus / "pacer_rss").rglob("*.xml")):
            made += parse_feed(path.read_bytes(), court=path.stem.split("-")[0])
    return made


def test_the_turn_away_search_changes_no_match() -> None:
    quick = Matcher(WATCHES)
    thorough = Matcher(WATCHES)
    thorough._prefilter = False  # every watch asked about every observation
    observations = _observations()
    found = [quick.match(obs) for obs in observations]
    assert found == [thorough.match(obs) for obs in observations]
    assert found[0][0].field == "docket"
    assert [r.watch for r in found[1]] == ["dc-only", "dc-only"]
    assert found[2] == []  # dc-only is for dcd
    assert [r.field for r in found[3]] == ["cause"]
    assert [r.field for r in found[4]] == ["nature_of_suit"]
    assert found[5] == []


def test_patterns_that_cannot_be_combined_ask_every_watch() -> None:
    matcher = Matcher([WatchConfig(name="twice", entry_text=[r"(a)\1 mandamus"])])
    assert matcher._prefilter is False
    obs = CaseObservation(court="dcd", docket_number="1:25-cv-1", docket_number_raw="",
                          entries=(_seen(1, "", "aa mandamus"),))
    assert [r.watch for r in matcher.match(obs)] == ["twice"]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def _entry(number: int | None, text: str, doc: str = "") -> EntryObservation:
    return EntryObservation(entry_number=number, date_filed=date(2026, 3, 2),
                            short_description=text, description=text, pacer_doc_id=doc)


def test_a_new_cases_entries_merge_within_one_apply(engine: Engine) -> None:
    store = Store(engine, Matcher(WATCHES))
    obs = CaseObservation(
        court="dcd", docket_number="1:26-cv-00412", docket_number_raw="1:26-cv-412",
        case_name="Doe v. USCIS", entries=(
            _entry(None, "PETITION for Writ of Mandamus"),
            _entry(1, "PETITION for Writ of Mandamus"),  # the number arrives: the same entry
            _entry(None, "Summons issued", doc="04503412345"),
            _entry(None, "Summons issued again", doc="04513412345"),  # same document
            _entry(2, "ORDER to show cause"),
            _entry(2, "ORDER to show cause (longer text)"),  # same number
        ))
    result = store.apply([obs], source_id="pacer-rss", now=NOW)
    assert result.count("case.discovered") == 1
    assert result.count("entry.added") == 3
    with read_session(engine) as session:
        case = session.exec(select(Case)).one()
        rows = session.exec(select(Entry).order_by(col(Entry.id))).all()
        assert [r.identity for r in rows] == ["n:1", "d:04503412345", "n:2"]
        assert rows[2].description == "ORDER to show cause (longer text)"
        assert case.entry_count == 3
        events = session.exec(select(Event).order_by(col(Event.id))).all()
        assert [e.kind for e in events] == ["case.discovered", *["entry.added"] * 3]
        assert [e.data["entry_id"] for e in events[1:]] == [r.id for r in rows]
    # The same observation again: nothing new, found in the table this time.
    again = store.apply([obs], source_id="pacer-rss", now=NOW)
    assert again.events == []


def test_a_case_stored_after_the_rounds_keys_were_read_is_found(engine: Engine) -> None:
    store = Store(engine, Matcher(WATCHES))
    first = CaseObservation(court="dcd", docket_number="1:26-cv-00412",
                            docket_number_raw="1:26-cv-412", case_name="Doe v. USCIS",
                            entries=(_entry(1, "PETITION for Writ of Mandamus"),))
    gone = CaseObservation(court="dcd", docket_number="1:26-cv-00413", docket_number_raw="",
                           case_name="Roe v. USCIS", entries=(_entry(1, "COMPLAINT"),))
    store.apply([first, gone], source_id="pacer-rss", now=NOW)
    assert store.untrack("dcd", "1:26-cv-00413")
    # The round read the court's keys before another process stored these cases.
    before_they_were_stored = Screen(courts=frozenset({"dcd"}), keys=frozenset())
    later = replace(first, entries=(*first.entries, _entry(2, "ORDER to show cause")))
    result = store.apply([later, replace(gone, entries=(_entry(2, "ORDER"),))],
                         source_id="pacer-rss", now=NOW, stored=before_they_were_stored)
    assert [e.kind for e in result.events] == ["entry.added"] and result.dropped == 1
    with read_session(engine) as session:
        cases = session.exec(select(Case).order_by(col(Case.id))).all()
        assert [(c.docket_number, c.entry_count) for c in cases] == [
            ("1:26-cv-00412", 2), ("1:26-cv-00413", 1)]
        assert len(session.exec(select(Event).where(Event.kind == "case.discovered")).all()) == 2


def test_no_observation_opens_no_write_transaction(engine: Engine, tmp_path: Path) -> None:
    lock = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        busy = make_engine(f"sqlite:///{tmp_path / 's.db'}", busy_timeout_s=0.01)
        result = Store(busy, Matcher(WATCHES)).apply([], source_id="pacer-rss", now=NOW)
        assert (result.events, result.dropped, result.held, result.fresh) == ([], 0, 0, {})
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def test_an_event_is_written_once_and_its_row_stays_in_the_session(engine: Engine) -> None:
    seen: list[int] = []
    with write_session(engine) as session:
        first = emit(session, [lambda s, e: seen.append(e.id or 0)], kind="case.updated", at=NOW,
                     subject="s", summary="x", dedupe_key="k", data={"a": [1]})
        assert first is not None and first.id and seen == [first.id]
        assert emit(session, [], kind="case.updated", at=NOW, subject="s", summary="y",
                    dedupe_key="k") is None
        first.summary = "changed"  # tracked like any loaded row
    with read_session(engine) as session:
        row = session.exec(select(Event)).one()
        assert (row.summary, row.data) == ("changed", {"a": [1]})


def test_files_written_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "_BATCH_BYTES", 20)  # a FeedWriter batch of 3 files
    same = tmp_path / "same.atom"
    same.write_bytes(b"old")
    before = same.stat().st_mtime_ns
    items = [(tmp_path / f"f{i}.atom", f"feed {i}".encode()) for i in range(7)]
    written = write_all_if_changed([*items, (same, b"old")])
    assert written == [p for p, _ in items]
    assert all(p.read_bytes() == data for p, data in items)
    assert same.stat().st_mtime_ns == before
    assert oct(items[0][0].stat().st_mode & 0o777) == "0o644"
    with FeedWriter() as writer:
        for path, data in items[:4]:
            writer.add(path, data + b"!")
        writer.add(same, b"old")
    assert writer.written == [p for p, _ in items[:4]]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failed_write_replaces_nothing_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.atom"
    good.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "_sync", full_disk)
    with pytest.raises(MonitorError, match="cannot write feed file"):
        write_all_if_changed([(good, b"new"), (tmp_path / "other.atom", b"x")])
    assert good.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.atom"]


def test_case_feeds_read_in_one_query_hold_what_one_query_per_case_did(engine: Engine,
                                                                      tmp_path: Path) -> None:
    with write_session(engine) as session:
        for case_id in (1, 2, 3):
            session.add(Case(id=case_id, court="dcd", docket_number=f"1:26-cv-0000{case_id}",
                             docket_key=f"26-cv-0000{case_id}", first_seen=NOW))
        session.flush()
        for i in range(40):
            emit(session, [], kind="entry.added", at=NOW, subject="s", summary=str(i),
                 dedupe_key=f"k{i}", case_id=1 + i % 3, private=i % 7 == 0,
                 matter_id="m" if i % 5 == 0 else None)
    with read_session(engine) as session:
        for hidden in ((), ("m",)):
            together = _latest_by_case(session, 4, [1, 2, 3, 9], private_matters=hidden)
            for case_id in (1, 2, 3, 9):
                alone = _latest(session, 4, case_ids=[case_id], private_matters=hidden)
                assert [e.id for e in together[case_id]] == [e.id for e in alone]
    written = render_feeds(engine, FeedsConfig(), tmp_path / "feeds")
    assert {p.name for p in written} >= {"all.atom", "case-dcd-1-26-cv-00001.atom"}


def test_tag_feed_reads_older_events_by_index_as_one_query_did(engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    with write_session(engine) as session:
        for case_id, tags in ((1, ["287g"]), (2, ["287g", "federal"]), (3, ["federal"])):
            session.add(Case(id=case_id, court="dcd", docket_number=f"1:26-cv-0000{case_id}",
                             docket_key=f"26-cv-0000{case_id}", first_seen=NOW, tags=tags))
        session.flush()
        for i in range(60):
            kind = "item.added" if i % 11 == 0 else "entry.added"
            emit(session, [], kind=kind, at=NOW, subject="s", summary=str(i),
                 dedupe_key=f"k{i}", case_id=1 + i % 4 if i % 4 != 3 else None,
                 private=i % 7 == 0, matter_id=("m" if i % 5 == 0 else "n" if i % 9 == 0
                                                else None),
                 source_id="list-a" if i % 2 else "list-b")
    with read_session(engine) as session:
        for tag, matters, lists in (("287g", [], []), ("287g", ["m"], []),
                                    ("federal", ["n"], ["list-a"]), ("none", [], ["list-b"]),
                                    ("none", [], [])):
            for hidden in ((), ("m",)):
                whole = _latest(session, 6, case_ids=tagged_cases(session, tag),
                                matter_ids=matters, list_ids=lists, private_matters=hidden)
                for recent in (0, 3, 10, 25, 100):  # the newest events read in id order
                    monkeypatch.setattr(atom, "_RECENT_EVENTS", recent)
                    split = _latest_tagged(session, 6, tag, matter_ids=matters,
                                           list_ids=lists, private_matters=hidden)
                    assert [e.id for e in split] == [e.id for e in whole], (tag, recent)
