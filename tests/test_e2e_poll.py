"""End to end: `court-monitor poll --once` against a real HTTP server on 127.0.0.1.

Two courts' feeds; only the matching cases are tracked; new items become exactly their
`entry.added` events; an identical poll adds nothing; a vanished item deletes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from tests.cli_helpers import write_config as shared_config
from tests.fakes.feed_server import FeedServer, Item, rss

MANDAMUS = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
                "Complaint", 1, case_id="290001")
MANDAMUS_2 = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
                  "SUMMONS Returned Executed as to United States Attorney", 5, case_id="290001")
ROUTINE = Item("dcd", "1:26-cv-00500", "Acme Corp. v. Widget LLC", "Complaint", 1,
               case_id="290100")
SHERIFF = Item("txsd", "4:26-cv-1234", "Roe v. Sheriff of Harris County",
               "PETITION for Writ of Mandamus", 1, case_id="350001")
TXSD_OTHER = Item("txsd", "4:26-cv-02000", "Smith v. Jones", "Order", 3, case_id="350020")


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    return Path(shared_config(tmp_path, server.base, courts=("dcd", "txsd"), extra="""
[[watch]]
name = "287g-mandamus"
tags = ["287g", "mandamus"]
entry_text = ["(?i)writ of mandamus"]
case_name = ["(?i)citizenship and immigration services|sheriff"]

[[subscription]]
name = "console"
urls = ["console://"]
"""))


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def events_of(capsys: pytest.CaptureFixture[str], config: Path) -> list[dict[str, object]]:
    result = run_json(capsys, "--config", str(config), "events", "--json")
    assert isinstance(result, list)
    return result


def test_poll_tracks_matching_cases_and_adds_only_new_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [MANDAMUS, ROUTINE]))
        server.set("/txsd/rss", rss("txsd", [SHERIFF, TXSD_OTHER]))
        config = write_config(tmp_path, server)

        assert main(["--config", str(config), "poll", "--once"]) == 0
        cases = run_json(capsys, "--config", str(config), "cases", "--json")
        assert isinstance(cases, list)
        assert sorted((c["court"], c["docket_number"]) for c in cases) == [
            ("dcd", "1:26-cv-00412"), ("txsd", "4:26-cv-01234")]
        by_court = {c["court"]: c for c in cases}
        assert by_court["dcd"]["docket_number_raw"] == "1:26-cv-00412-ABC"
        assert by_court["dcd"]["tags"] == ["287g", "mandamus"]
        assert {"watch": "287g-mandamus", "field": "case_name",
                "pattern": "(?i)citizenship and immigration services|sheriff"} in \
            by_court["dcd"]["matched_by"]
        assert by_court["txsd"]["entry_count"] == 1
        first = events_of(capsys, config)
        assert sorted(e["kind"] for e in first) == [
            "case.discovered", "case.discovered", "entry.added", "entry.added"]

        # The feed moves on: the first item vanishes, a new one appears, a routine one too.
        server.set("/dcd/rss", rss("dcd", [MANDAMUS_2, ROUTINE]))
        assert main(["--config", str(config), "poll", "--once"]) == 0
        second = events_of(capsys, config)[len(first):]
        assert [(e["kind"], e["data"]["entry_number"]) for e in second] == [("entry.added", 5)]
        assert "SUMMONS Returned Executed" in second[0]["summary"]

        # An identical poll: not modified (ETag) or unchanged -> nothing new.
        assert main(["--config", str(config), "poll", "--once"]) == 0
        assert len(events_of(capsys, config)) == len(first) + 1

        detail = run_json(capsys, "--config", str(config), "case", "dcd", "1:26-cv-412",
                          "--json")
        assert isinstance(detail, dict)
        assert [e["entry_number"] for e in detail["entries"]] == [1, 5]  # vanished item kept
        assert detail["entries"][1]["document_url"].startswith("https://ecf.dcd.uscourts.gov/")


def test_same_feed_twice_changes_nothing_even_without_etag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [MANDAMUS]))
        server.set("/txsd/rss", rss("txsd", []))
        config = write_config(tmp_path, server)
        assert main(["--config", str(config), "poll", "--once"]) == 0
        # Reorder-insensitive, ETag-free: same items in a different document.
        server.set("/dcd/rss", rss("dcd", [MANDAMUS, ROUTINE]), headers={})
        assert main(["--config", str(config), "poll", "--once"]) == 0
        db = sqlite3.connect(tmp_path / "monitor.db")
        kinds = [k for (k,) in db.execute("select kind from event order by id")]
        assert kinds == ["case.discovered", "entry.added"]
        assert db.execute("select count(*) from entry").fetchone() == (1,)


def test_broken_court_does_not_fail_the_other_and_deletes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [MANDAMUS]))
        server.set("/txsd/rss", rss("txsd", [SHERIFF]))
        config = write_config(tmp_path, server)
        assert main(["--config", str(config), "poll", "--once"]) == 0
        server.fail("/txsd/rss", 503)
        server.set("/dcd/rss", b"<html><body>PACER is down</body></html>", "text/html")
        for _ in range(3):
            assert main(["--config", str(config), "poll", "--once"]) == 0
        events = events_of(capsys, config)
        failing = [e for e in events if e["kind"] == "source.failing"]
        assert sorted(e["data"]["target"] for e in failing) == ["dcd", "txsd"]  # once each
        assert len(run_json(capsys, "--config", str(config), "cases", "--json")) == 2
        capsys.readouterr()
        assert main(["--config", str(config), "status", "--json"]) == 3
        status = json.loads(capsys.readouterr().out)
        assert status["sources"][0]["consecutive_failures"] == 3
        assert "503" in status["sources"][0]["last_error"] or "HTML" in \
            status["sources"][0]["last_error"]
        # Recovery: one source.recovered per target.
        server.set("/dcd/rss", rss("dcd", [MANDAMUS]))
        server.set("/txsd/rss", rss("txsd", [SHERIFF]))
        assert main(["--config", str(config), "poll", "--once"]) == 0
        recovered = [e for e in events_of(capsys, config) if e["kind"] == "source.recovered"]
        assert len(recovered) == 2
        capsys.readouterr()
        assert main(["--config", str(config), "status"]) == 0


def test_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [MANDAMUS]))
        server.set("/txsd/rss", rss("txsd", []))
        config = write_config(tmp_path, server)
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "poll", "--once"],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "poll pacer-rss: 2 targets, 2 fetched" in done.stdout
