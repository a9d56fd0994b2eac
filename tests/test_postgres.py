"""The same store, migrations and CLI on PostgreSQL (a real server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import monitor.models  # noqa: F401
from monitor.db import make_engine
from monitor.migrate import current_revision, head_revision, upgrade
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
        cases = run_json([*argv, "cases"], clock, capsys)
        assert [(c["docket_number"], c["entry_count"]) for c in cases] == [("1:26-cv-00412", 2)]
        capsys.readouterr()
        assert run([*argv, "status"], clock) == 0
