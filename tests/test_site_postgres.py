"""The site's queries on PostgreSQL (window functions, ILIKE, NULL ordering), over a database
filled by real polls; skips cleanly without PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.app import App
from monitor.config import load_config
from monitor.web import data
from monitor.web.access import PUBLIC
from tests.cli_helpers import run, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.postgres import postgres_server
from tests.test_postgres import MANDAMUS, SUMMONS


def test_the_case_list_and_agenda_on_postgresql(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with postgres_server() as url, FeedServer() as server:
        cfg = write_config(tmp_path, server.base, database_url=url, extra="""
[[watch]]
name = "mandamus"
entry_text = ["(?i)writ of mandamus"]

[[subscription]]
name = "console"
urls = ["console://"]
""")
        server.set("/dcd/rss", rss("dcd", [MANDAMUS]))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        clock.advance(hours=1)
        server.set("/dcd/rss", rss("dcd", [MANDAMUS, SUMMONS]))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        app = App(config=load_config(cfg), clock=clock)
        try:
            found = data.case_list(app.engine, data.CaseFilter(q="summons RETURNED"),
                                   limit=10, offset=0)
            assert found.total == 1
            row = found.rows[0]
            assert row["last_entry"]["entry_number"] == 4
            assert row["next_deadline"]["rule"] == "frcp-12a2"
            assert data.case_list(app.engine, data.CaseFilter(q="100%_"), limit=10,
                                  offset=0).total == 0
            assert [d["rule"] for d in data.agenda(app.engine, PUBLIC).rows] == ["frcp-12a2"]
            assert data.watched_summary(app.engine, PUBLIC)["cases"] == 1
        finally:
            app.close()
