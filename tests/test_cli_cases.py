"""track / untrack, events --since/--after, backup and prune through the command line."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import run, run_json, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss

ITEM = Item("dcd", "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services",
            "PETITION for Writ of Mandamus", 1, case_id="290001")
OTHER = Item("dcd", "1:26-cv-00999", "Acme v. Widget", "Complaint", 1, case_id="290999")


def config(tmp_path: Path, server: FeedServer) -> str:
    return write_config(tmp_path, server.base)


def test_track_untrack_and_event_filters(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [ITEM, OTHER]))
        cfg = config(tmp_path, server)
        assert run(["--config", cfg, "track", "dcd", "1:26-cv-999", "--tag", "watchlist"],
                   clock) == 0
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        cases = run_json(["--config", cfg, "cases"], clock, capsys)
        assert {c["docket_number"]: c["entry_count"] for c in cases} == {
            "1:26-cv-00412": 1, "1:26-cv-00999": 1}
        assert next(c for c in cases if c["docket_number"] == "1:26-cv-00999")["tags"] == [
            "watchlist"]

        assert run(["--config", cfg, "untrack", "dcd", "1:26-cv-00412"], clock) == 0
        clock.advance(hours=1)
        order = Item("dcd", "1:26-cv-00412", ITEM.case_name, "ORDER to show cause", 2,
                     case_id="290001")
        server.set("/dcd/rss", rss("dcd", [ITEM, OTHER, order]))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        cases = run_json(["--config", cfg, "cases"], clock, capsys)
        assert [c["docket_number"] for c in cases] == ["1:26-cv-00999"]
        every = run_json(["--config", cfg, "cases", "--all"], clock, capsys)
        untracked = next(c for c in every if c["docket_number"] == "1:26-cv-00412")
        assert untracked["tracked"] is False and untracked["entry_count"] == 1  # history kept

        events = run_json(["--config", cfg, "events"], clock, capsys)
        ids = [e["id"] for e in events]
        assert ids == sorted(ids)
        assert all(e["at"].endswith("Z") for e in events)
        later = run_json(["--config", cfg, "events", "--after", str(ids[1])], clock, capsys)
        assert [e["id"] for e in later] == ids[2:]
        recent = run_json(["--config", cfg, "events", "--since", "30m"], clock, capsys)
        assert recent == []
        assert run(["--config", cfg, "events", "--since", "yesterday-ish"], clock) == 2


def test_backup_is_a_consistent_copy_and_prune_keeps_pending(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [ITEM]))
        cfg = config(tmp_path, server)
        assert run(["--config", cfg, "poll", "--once", "--no-dispatch"], clock) == 0
        backup = tmp_path / "backup.db"
        assert run(["--config", cfg, "backup", str(backup)], clock) == 0
        copy = sqlite3.connect(backup)
        assert copy.execute("select count(*) from event").fetchone()[0] >= 2
        assert copy.execute("pragma integrity_check").fetchone() == ("ok",)
        assert run(["--config", cfg, "backup", str(backup)], clock) == 1  # never overwrites

        clock.advance(days=400)
        assert run(["--config", cfg, "prune", "--older-than", "365d"], clock) == 0
        db = sqlite3.connect(tmp_path / "monitor.db")
        pending = db.execute("select count(*) from delivery where status='pending'").fetchone()
        assert pending[0] > 0  # events whose alerts still wait are kept
        kept = db.execute("select count(*) from event").fetchone()[0]
        assert kept == pending[0]
