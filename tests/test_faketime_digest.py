"""A digest under the process clock moved by libfaketime: `court-monitor poll --once` run as a
real process on chosen instants, PACER RSS from a local server, email to a real SMTP server.

Entries on two cases polled during the day give no mail; the poll before 07:00 in Chicago gives
none; the first poll after it gives ONE multipart/alternative mail grouped by case, and a later
poll sends nothing again. Skips when `faketime` is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import write_config
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import smtp_server

pytestmark = pytest.mark.e2e

FAKETIME = shutil.which("faketime")


def _poll_at(cfg: str, when: str) -> None:
    """`court-monitor poll --once` in a process whose clock reads `when` (UTC)."""
    assert FAKETIME is not None
    done = subprocess.run(
        [FAKETIME, "-f", f"@{when}", sys.executable, "-m", "monitor", "--config", cfg,
         "poll", "--once"],
        env={**os.environ, "TZ": "UTC"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.skipif(FAKETIME is None, reason="libfaketime (faketime) is not installed")
def test_digest_goes_once_at_seven_in_chicago_under_the_process_clock(tmp_path: Path) -> None:
    day = datetime(2026, 3, 2, 15, tzinfo=UTC)
    doe = Item("dcd", "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services",
               "PETITION for Writ of Mandamus", 1, case_id="00412", when=day)
    roe = Item("dcd", "1:26-cv-00977", "Roe v. U.S. Citizenship and Immigration Services",
               "COMPLAINT for Writ of Mandamus", 1, case_id="00977", when=day)
    with FeedServer() as feeds, smtp_server() as smtp:
        cfg = write_config(tmp_path, feeds.base, extra=f"""
[[watch]]
name = "uscis"
case_name = ["(?i)citizenship and immigration services"]

[[subscription]]
name = "morning"
urls = ["{smtp.apprise_url()}"]
events = ["entry.added"]
mode = "digest"
digest_at = "07:00"
timezone = "America/Chicago"
""")
        feeds.set("/dcd/rss", rss("dcd", [doe]))
        _poll_at(cfg, "2026-03-02 15:00:00")
        feeds.set("/dcd/rss", rss("dcd", [doe, roe]))
        _poll_at(cfg, "2026-03-02 18:00:00")
        _poll_at(cfg, "2026-03-03 12:55:00")  # 06:55 in Chicago
        assert smtp.received == []
        _poll_at(cfg, "2026-03-03 13:05:00")  # 07:05 in Chicago
        _poll_at(cfg, "2026-03-03 14:05:00")
        (mail,) = smtp.received
        assert mail.message.get_content_type() == "multipart/alternative"
        plain = mail.part("plain")
        order = [plain.find(s) for s in ("Doe v.", "PETITION", "Roe v.", "COMPLAINT")]
        assert -1 not in order and order == sorted(order), plain
