"""What an operator sees: `status` tells the truth after recovery and for a source that never
worked, `alerts pending` gives the real cause of a failed send (secrets masked), and the daemon's
log at INFO is one line per poll round with counts, not library chatter."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import run, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss

ROOT = Path(__file__).resolve().parent.parent
CASE = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
            "PETITION for Writ of Mandamus", 1, case_id="290001")
WATCH = """
[[watch]]
name = "m"
case_name = ["(?i)citizenship"]
"""
SECRET = "hunter2secretpw"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 26, 15, 0, tzinfo=UTC))


def _status(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]
            ) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = run(["--config", cfg, "status", "--json"], clock)
    data = json.loads(capsys.readouterr().out)
    [source] = data["sources"]
    return code, source


def test_status_clears_the_last_error_after_recovery(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    with FeedServer() as server:
        cfg = write_config(tmp_path, server.base, extra=WATCH + '[[subscription]]\nname = "c"\n'
                           'urls = ["console://"]\n')
        server.fail("/dcd/rss", status=500)
        assert run(["--config", cfg, "poll", "--once", "--no-dispatch"], clock) == 0
        code, source = _status(cfg, clock, capsys)
        assert "HTTP 500" in str(source["last_error"])
        server.set("/dcd/rss", rss("dcd", [CASE]))
        clock.advance(minutes=15)
        assert run(["--config", cfg, "poll", "--once", "--no-dispatch"], clock) == 0
        code, source = _status(cfg, clock, capsys)
    assert code == 0
    assert source["last_error"] is None and source["consecutive_failures"] == 0
    assert source["failing"] is False


def test_a_source_that_never_succeeded_is_not_ok(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    with FeedServer() as server:
        cfg = write_config(tmp_path, server.base, courts=("dcd", "txsd"))
        server.fail("/dcd/rss", status=503)
        server.fail("/txsd/rss", status=503)
        assert run(["--config", cfg, "poll", "--once", "--no-dispatch"], clock) == 0
        code, source = _status(cfg, clock, capsys)
        assert source["last_success"] is None
        assert source["failing"] is True and code == 3
        capsys.readouterr()
        run(["--config", cfg, "status"], clock)
        assert "FAILING" in capsys.readouterr().out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_alerts_pending_shows_the_real_cause_with_secrets_masked(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [CASE]))
        cfg = write_config(tmp_path, server.base, extra=WATCH + f"""
[[subscription]]
name = "mail"
urls = ["mailto://court:{SECRET}@127.0.0.1:{port}?to=a@example.org&from=b@example.org"]
""")
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        capsys.readouterr()
        assert run(["--config", cfg, "alerts", "pending", "--json"], clock) == 0
        rows = json.loads(capsys.readouterr().out)
    assert rows
    # A channel that failed is skipped for the rest of its round: the deliveries it was not tried
    # for carry no error yet; every one that was tried names the real cause.
    errors = {str(r["last_error"]) for r in rows if r["last_error"]}
    assert errors and all("Connection refused" in e for e in errors), errors
    assert not any(SECRET in e for e in errors)


def _sent(db: Path) -> int:
    """Deliveries the daemon has sent so far (0 while its database is not there yet)."""
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM delivery WHERE status = 'sent'")
                       .fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


@pytest.mark.e2e
def test_daemon_log_at_info_is_for_operators(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [CASE]))
        cfg = write_config(tmp_path, server.base, extra=WATCH + '[[subscription]]\n'
                           'name = "c"\nurls = ["console://"]\n')
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", cfg, "run"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while server.hits.get("/dcd/rss", 0) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            # the round is stored, then the woken dispatch job sends its alerts
            deadline = time.monotonic() + 30
            while _sent(tmp_path / "monitor.db") == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)  # its log line follows the commit
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    lines = [line for line in err.splitlines() if line.strip()]
    polls = [line for line in lines if "poll pacer-rss:" in line]
    assert len(polls) == 1 and "1 targets, 1 fetched" in polls[0] and "events" in polls[0]
    assert any("dispatch:" in line and "sent" in line for line in lines), lines
    chatter = [line for line in lines
               if line.startswith(("INFO apscheduler", "INFO httpx", "INFO apprise",
                                   "DEBUG")) or "<locals>" in line]
    assert not chatter, chatter
    assert len(lines) <= 8, lines


def test_a_crashing_job_is_one_line_at_error_with_the_traceback_at_debug(
        caplog: pytest.LogCaptureFixture) -> None:
    from monitor.scheduler import guarded

    def boom() -> None:
        raise KeyError(f"postgresql://monitor:{SECRET}@db/x")

    job = guarded("render feeds", boom)
    assert job.__qualname__ == "render feeds"
    with caplog.at_level("DEBUG", logger="monitor.scheduler"):
        job()
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.getMessage().startswith("render feeds crashed: KeyError")
    assert SECRET not in error.getMessage() and error.exc_info is None
    assert any(r.levelname == "DEBUG" and r.exc_info for r in caplog.records)
