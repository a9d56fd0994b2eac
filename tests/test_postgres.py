"""The same store, migrations and CLI on PostgreSQL (a real server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, col, select

import monitor.models  # noqa: F401
from monitor.config import WatchConfig
from monitor.db import StartsWith, make_engine, read_session, write_session
from monitor.events import emit
from monitor.matching import Matcher
from monitor.migrate import current_revision, head_revision, upgrade
from monitor.models import Case, Event
from monitor.parse_pool import Screen
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from tests.cli_helpers import run, run_json, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.postgres import postgres_server

MANDAMUS = Item("dcd", "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services",
                "PETITION for Writ of Mandamus", 1, case_id="290001")
SUMMONS = Item("dcd", "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services",
               "SUMMONS Returned Executed as to United States Attorney", 4, case_id="290001")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def test_migrations_build_the_model_schema(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    engine.dispose()


def test_poll_and_listings_on_postgresql(pg_url: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [MANDAMUS]))
        argv = ["--config", write_config(tmp_path, server.base, database_url=pg_url)]
        assert run([*argv, "poll", "--once"], clock) == 0
        clock.advance(hours=1)
        server.set("/dcd/rss", rss("dcd", [MANDAMUS, SUMMONS]))
        assert run([*argv, "poll", "--once"], clock) == 0
        assert run([*argv, "poll", "--once"], clock) == 0
        kinds = [e["kind"] for e in run_json([*argv, "events"], clock, capsys)]
        assert kinds.count("entry.added") == 2 and kinds.count("case.discovered") == 1
        assert "deadline.set" in kinds
        entries = run_json([*argv, "events", "--kind", "entry.*", "--kind", "deadline.se?"],
                           clock, capsys)
        assert sorted({e["kind"] for e in entries}) == ["deadline.set", "entry.added"]
        assert len(entries) == kinds.count("entry.added") + kinds.count("deadline.set")
        cases = run_json([*argv, "cases"], clock, capsys)
        assert [(c["docket_number"], c["entry_count"]) for c in cases] == [("1:26-cv-00412", 2)]
        capsys.readouterr()
        assert run([*argv, "status"], clock) == 0


def test_store_on_postgresql_finds_a_case_stored_after_the_rounds_keys(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    store = Store(engine, Matcher([WatchConfig(name="w", case_name=[r"USCIS"])]))
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)

    def seen(docket: str, *numbers: int) -> CaseObservation:
        return CaseObservation(court="nysd", docket_number=docket, docket_number_raw="",
                               case_name=f"{docket} v. USCIS", entries=tuple(
                                   EntryObservation(entry_number=n, date_filed=None,
                                                    short_description=f"ORDER {n}")
                                   for n in numbers))

    first = store.apply([seen("1:26-cv-00501", 1), seen("1:26-cv-00502", 1)],
                        source_id="pacer-rss", now=at)
    assert [e.kind for e in first.events].count("case.discovered") == 2
    assert store.untrack("nysd", "1:26-cv-00502")
    # The round read the court's keys before these cases were stored.
    result = store.apply([seen("1:26-cv-00501", 1, 2, 3), seen("1:26-cv-00502", 2)],
                         source_id="pacer-rss", now=at,
                         stored=Screen(courts=frozenset({"nysd"}), keys=frozenset()))
    assert [e.kind for e in result.events] == ["entry.added"] * 2 and result.dropped == 1
    with read_session(engine) as session:
        counts = session.exec(select(Case.docket_number, Case.entry_count)
                              .where(Case.court == "nysd")).all()
    assert sorted(counts) == [("1:26-cv-00501", 3), ("1:26-cv-00502", 1)]
    with write_session(engine) as session:  # an event's dedupe key turns its INSERT away
        assert emit(session, [], kind="case.updated", at=at, subject="s", summary="x",
                    dedupe_key="pg-once") is not None
        assert emit(session, [], kind="case.updated", at=at, subject="s", summary="y",
                    dedupe_key="pg-once") is None
    engine.dispose()


def test_starts_with_is_a_case_sensitive_prefix_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    at = datetime(2026, 3, 2, 15, tzinfo=UTC)
    kinds = ["item.added", "ITEM.added", "items.added", "item.removed", "agreement.added",
             "a_b", "aXb"]
    with write_session(engine) as session:
        for n, kind in enumerate(kinds):
            emit(session, [], kind=kind, at=at, subject="pg-prefix", summary="s",
                 dedupe_key=f"pg-prefix-{n}")
    with read_session(engine) as session:
        found = session.exec(select(Event.kind).where(
            StartsWith(col(Event.kind), "item."), Event.subject == "pg-prefix")
            .order_by(col(Event.id))).all()
        literal = session.exec(select(Event.kind).where(
            StartsWith(col(Event.kind), "a_"), Event.subject == "pg-prefix")).all()
    assert list(found) == ["item.added", "item.removed"]
    assert list(literal) == ["a_b"]  # LIKE's wildcards in the prefix are taken literally
    engine.dispose()
