"""`alerts test|pending|retry` and `deadline add|met|vacate`, `deadlines --days` through the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import run, run_json, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import SmtpServer, smtp_server

ITEM = Item("dcd", "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services",
            "PETITION for Writ of Mandamus", 1, case_id="290001")


def config(tmp_path: Path, server: FeedServer, smtp: SmtpServer, extra: str = "") -> str:
    urls = tmp_path / "alert-urls"
    urls.write_text(smtp.apprise_url() + "\n")
    return write_config(tmp_path, server.base, extra=f"""
[[subscription]]
name = "attorneys"
urls_file = "{urls}"
events = ["deadline.*"]
{extra}
""")


def test_alerts_test_pending_and_retry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/dcd/rss", rss("dcd", [ITEM]))
        cfg = config(tmp_path, server, smtp, "give_up_after = 1")
        assert run(["--config", cfg, "alerts", "test", "attorneys"], clock) == 0
        assert len(smtp.received) == 1
        assert run(["--config", cfg, "alerts", "test", "nobody"], clock) == 2

        smtp.refuse(1)
        assert run(["--config", cfg, "poll", "--once"], clock) == 0  # 4(m) deadline.set
        pending = run_json(["--config", cfg, "alerts", "pending"], clock, capsys)
        assert [p["status"] for p in pending] == ["failed"]
        assert pending[0]["last_error"] and smtp.apprise_url() not in pending[0]["last_error"]
        capsys.readouterr()
        assert run(["--config", cfg, "status"], clock) == 3  # a failed delivery: stuck outbox
        assert run(["--config", cfg, "alerts", "retry"], clock) == 0
        assert run(["--config", cfg, "alerts", "dispatch"], clock) == 0
        assert len(smtp.received) == 2
        assert run_json(["--config", cfg, "alerts", "pending"], clock, capsys) == []
        assert run(["--config", cfg, "status"], clock) == 0


def test_manual_deadlines_met_and_vacated(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/dcd/rss", rss("dcd", [ITEM]))
        cfg = config(tmp_path, server, smtp)
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        assert run(["--config", cfg, "deadline", "add", "dcd:1:26-cv-412", "--due",
                    "2026-03-20", "--label", "Status report due"], clock) == 0
        assert run(["--config", cfg, "deadline", "add", "dcd:9:99-cv-1", "--due",
                    "2026-03-20", "--label", "x"], clock) == 2
        soon = run_json(["--config", cfg, "deadlines", "--days", "30"], clock, capsys)
        assert [d["label"] for d in soon] == ["Status report due"]
        assert soon[0]["origin"] == "manual"
        later = run_json(["--config", cfg, "deadlines"], clock, capsys)
        assert {d["rule"] for d in later} >= {"frcp-4m"}
        four_m = next(d for d in later if d["rule"] == "frcp-4m")
        assert run(["--config", cfg, "deadline", "met", str(soon[0]["id"])], clock) == 0
        assert run(["--config", cfg, "deadline", "vacate", str(four_m["id"])], clock) == 0
        assert run_json(["--config", cfg, "deadlines"], clock, capsys) == []
        kinds = [e["kind"] for e in run_json(["--config", cfg, "events"], clock, capsys)]
        assert kinds.count("deadline.met") == 1 and kinds.count("deadline.vacated") == 1
        assert len(smtp.received) == 1  # CLI changes wait in the outbox for the dispatcher
        assert run(["--config", cfg, "alerts", "dispatch"], clock) == 0
        subjects = [str(m.message["Subject"]) for m in smtp.received]
        assert len(subjects) == 4  # set (4(m)), set (manual), met, vacated
