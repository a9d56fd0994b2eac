"""The process clock moved by libfaketime, as users check a monitor: `court-monitor poll --once`
run as a real process on chosen days, PACER RSS from a local server, email to a real SMTP
server on 127.0.0.1.

An answer clock started by service on the U.S. attorney (FRCP 12(a)(2): 3/26/2026 + 60 days,
Memorial Day roll -> Tue 2026-05-26) reminds at T-7 on the day the process clock says, and is
met by the answer the feed shows, after which no overdue follows; a second case where nothing
is filed goes overdue on the first day the feed was read after its due date.
Skips when `faketime` is not installed (`.ci/run` installs it).
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
from tests.fakes.smtp import SmtpServer, smtp_server

pytestmark = pytest.mark.e2e

FAKETIME = shutil.which("faketime")
SERVED = ("SUMMONS Returned Executed as to United States Attorney. Date of Service Upon "
          "United States Attorney on 3/26/2026.")


def _config(tmp_path: Path, feeds: FeedServer, smtp: SmtpServer) -> Path:
    """PACER RSS of dcd from `feeds`, a watch on USCIS cases, `deadline.*` mailed to `smtp`."""
    return Path(write_config(tmp_path, feeds.base, extra=f"""
[[watch]]
name = "uscis"
case_name = ["(?i)citizenship and immigration services"]

[[subscription]]
name = "attorney"
urls = ["{smtp.apprise_url()}"]
events = ["deadline.*"]
"""))


def _poll_at(cfg: Path, when: str) -> None:
    """`court-monitor poll --once` in a process whose clock reads `when` (UTC)."""
    assert FAKETIME is not None
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(
        [FAKETIME, "-f", f"@{when}", sys.executable, "-m", "monitor", "--config", str(cfg),
         "poll", "--once"],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _item(docket: str, name: str, number: int, text: str, when: datetime) -> Item:
    return Item("dcd", docket, name, text, number, case_id=docket[-5:], when=when)


def _subjects(smtp: SmtpServer, start: int) -> list[str]:
    return [str(m.message["Subject"]) + " | " + m.part("plain").replace("\r\n", " ")
            for m in smtp.received[start:]]


@pytest.mark.skipif(FAKETIME is None, reason="libfaketime (faketime) is not installed")
def test_reminders_met_and_overdue_follow_the_process_clock(tmp_path: Path) -> None:
    met_case = ("1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services")
    late_case = ("1:26-cv-00413", "Roe v. U.S. Citizenship and Immigration Services")
    served_at = datetime(2026, 3, 27, 15, tzinfo=UTC)
    with FeedServer() as feeds, smtp_server() as smtp:
        cfg = _config(tmp_path, feeds, smtp)
        feeds.set("/dcd/rss", rss("dcd", [
            _item(*met_case, 5, SERVED, served_at), _item(*late_case, 7, SERVED, served_at)]))
        _poll_at(cfg, "2026-03-27 15:00:00")
        set_mails = _subjects(smtp, 0)
        assert len(set_mails) == 2, set_mails
        assert all("2026-05-26" in m for m in set_mails), set_mails

        before = len(smtp.received)
        _poll_at(cfg, "2026-05-19 14:00:00")  # T-7 at 10:00 in Washington
        t7 = _subjects(smtp, before)
        assert len(t7) == 2 and all("2026-05-26" in m for m in t7), t7

        before = len(smtp.received)
        answer = "ANSWER to 1 Complaint by U.S. Citizenship and Immigration Services."
        feeds.set("/dcd/rss", rss("dcd", [
            _item(*met_case, 9, answer, datetime(2026, 5, 20, 15, tzinfo=UTC))]))
        _poll_at(cfg, "2026-05-20 15:30:00")
        mails = _subjects(smtp, before)
        met = [m for m in mails if "deadline met" in m.lower().split(" | ")[0]]
        assert len(met) == 1 and "00412" in met[0], mails

        before = len(smtp.received)
        feeds.set("/dcd/rss", rss("dcd", []))
        _poll_at(cfg, "2026-05-27 14:00:00")
        after_due = _subjects(smtp, before)
        overdue = [m for m in after_due if "overdue" in m.lower().split(" | ")[0]]
        assert len(overdue) == 1 and "00413" in overdue[0], after_due
        assert not [m for m in after_due if "00412" in m and "Response to complaint" in m], \
            after_due
