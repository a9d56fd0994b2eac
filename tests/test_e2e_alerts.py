"""End to end through the command line: feeds on a local HTTP server, email to a real SMTP server,
chat to a local webhook receiver, Atom and ICS files parsed back. All on 127.0.0.1."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import pytest

from tests.cli_helpers import run, run_json, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import SmtpServer, smtp_server
from tests.fakes.webhook_receiver import WebhookReceiver, webhook_receiver

CASE = dict(court="dcd", docket="1:26-cv-00412-ABC",
            case_name="Doe v. U.S. Citizenship and Immigration Services", case_id="290001")


def item(number: int, text: str, when: datetime) -> Item:
    return Item(CASE["court"], CASE["docket"], CASE["case_name"], text, number,
                case_id=CASE["case_id"], when=when)


def config(tmp_path: Path, server: FeedServer, smtp: SmtpServer, hook: WebhookReceiver | None,
           events: str = '["entry.added"]', extra: str = "") -> Path:
    urls = [smtp.apprise_url()] + ([hook.apprise_url()] if hook else [])
    url_list = ", ".join(f'"{u}"' for u in urls)
    return Path(write_config(tmp_path, server.base, extra=f"""
[[watch]]
name = "mandamus"
tags = ["mandamus"]
case_name = ["(?i)citizenship and immigration services"]

[[subscription]]
name = "attorneys"
urls = [{url_list}]
events = {events}
mute = ["(?i)notice of appearance"]
{extra}
"""))


def test_new_entry_is_mailed_posted_and_fed_once(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp, webhook_receiver() as hook:
        t0 = datetime(2026, 3, 2, 14, tzinfo=UTC)
        server.set("/dcd/rss", rss("dcd", [item(1, "COMPLAINT for Writ of Mandamus", t0)]))
        cfg = str(config(tmp_path, server, smtp, hook))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        assert len(smtp.received) == 1 and len(hook.posts) == 1
        atom = tmp_path / "feeds" / "all.atom"
        before = feedparser.parse(atom.read_bytes())
        assert before.bozo == 0
        db = sqlite3.connect(tmp_path / "monitor.db")
        (events_before,) = db.execute("select count(*) from event").fetchone()

        clock.advance(minutes=15)
        server.set("/dcd/rss", rss("dcd", [
            item(1, "COMPLAINT for Writ of Mandamus", t0),
            item(4, "NOTICE OF APPEARANCE by Jane Roe on behalf of USCIS", t0 + timedelta(hours=1)),
            item(5, "SUMMONS Returned Executed as to United States Attorney",
                 t0 + timedelta(hours=1)),
        ]))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        mails = smtp.received
        assert len(mails) == 2, [m.message["Subject"] for m in mails]  # the muted one is not sent
        plain = mails[1].part("plain") + mails[1].part("html")
        assert "1:26-cv-00412" in plain and "Citizenship and Immigration" in plain
        assert "SUMMONS Returned Executed" in plain
        assert "DktRpt.pl?290001" in plain
        assert len(hook.posts) == 2 and "SUMMONS" in hook.posts[1].body.decode()
        after = feedparser.parse(atom.read_bytes())
        assert after.bozo == 0
        new = [e for e in after.entries if e.id not in {b.id for b in before.entries}]
        (new_events,) = db.execute("select count(*) from event where id > ?",
                                   (events_before,)).fetchone()
        # One Atom entry per new event: two entries (the muted one is stored and fed: muting
        # only silences alerts), the answer deadline the summons started, and FRCP 4(m)
        # service met by that return of service.
        assert len(new) == new_events == 4
        # The summons is one entry; the deadline it met names it too.
        naming = sorted(e.title.split(" ")[0] + " " + e.title.split(" ")[1] for e in new
                        if "SUMMONS Returned Executed" in e.title + e.get("summary", ""))
        assert naming == ["Deadline met", "New entry"], naming

        clock.advance(minutes=15)
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        assert len(smtp.received) == 2 and len(hook.posts) == 2

        detail = run_json(["--config", cfg, "case", "dcd", "1:26-cv-412"], clock, capsys)
        texts = [e["description"] for e in detail["entries"]]
        assert any("NOTICE OF APPEARANCE" in t for t in texts)  # muted: stored, visible


def test_smtp_refusing_is_retried_and_arrives_once(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/dcd/rss", rss("dcd", [item(1, "COMPLAINT", clock.now)]))
        cfg = str(config(tmp_path, server, smtp, None))
        smtp.refuse(2)
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        assert smtp.received == [] and smtp.refused == 1
        assert run(["--config", cfg, "status"], clock) == 0  # pending, not stuck yet
        for _ in range(6):
            clock.advance(minutes=5)
            assert run(["--config", cfg, "alerts", "dispatch"], clock) == 0
        assert smtp.refused == 2 and len(smtp.received) == 1


def test_crash_between_commit_and_send_delivers_once_after_restart(tmp_path: Path) -> None:
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/dcd/rss", rss("dcd", [item(1, "COMPLAINT", datetime(2026, 3, 2, tzinfo=UTC))]))
        cfg = str(config(tmp_path, server, smtp, None))
        base = [sys.executable, "-m", "monitor", "--config", cfg]
        # A process that stores the event and its delivery, then dies before sending.
        done = subprocess.run([*base, "poll", "--once", "--no-dispatch"], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert smtp.received == []
        db = sqlite3.connect(tmp_path / "monitor.db")
        assert db.execute("select status from delivery").fetchall() == [("pending",)]
        for _ in range(2):  # the restarted daemon's dispatcher, twice
            done = subprocess.run([*base, "alerts", "dispatch"], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stderr
        assert len(smtp.received) == 1
        assert db.execute("select status from delivery").fetchall() == [("sent",)]


def test_answer_deadline_reminders_by_email_and_a_stable_ics_uid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(datetime(2026, 3, 27, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        served = item(5, "SUMMONS Returned Executed as to United States Attorney. Date of "
                         "Service Upon United States Attorney on 3/26/2026.", clock.now)
        server.set("/dcd/rss", rss("dcd", [served]))
        cfg = str(config(tmp_path, server, smtp, None, events='["deadline.*"]'))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        deadlines = run_json(["--config", cfg, "deadlines"], clock, capsys)
        answer = next(d for d in deadlines if d["rule"] == "frcp-12a2")
        assert answer["due"] == "2026-05-26"  # Thu + 60 = Memorial Day -> Tue
        set_mails = len(smtp.received)
        assert set_mails >= 1 and "2026-05-26" in smtp.received[0].part("plain")

        by_day: dict[date, list[str]] = {}
        day = datetime(2026, 5, 17, 13, tzinfo=UTC)  # 9:00 in Washington, after remind_at
        while day <= datetime(2026, 5, 28, 13, tzinfo=UTC):
            clock.now = day
            count = len(smtp.received)
            assert run(["--config", cfg, "poll", "--once"], clock) == 0
            subjects = [str(m.message["Subject"]) for m in smtp.received[count:]]
            if subjects:
                by_day[day.date()] = subjects
            day += timedelta(days=1)
        assert sorted(by_day) == [date(2026, 5, 19), date(2026, 5, 23), date(2026, 5, 25),
                                  date(2026, 5, 26), date(2026, 5, 27)]
        assert all(len(v) == 1 for v in by_day.values())  # FRCP 12(a)(2) only: one each day
        assert "overdue" in by_day[date(2026, 5, 27)][0].lower()

        # The overdue deadline stays in the calendar, dated, with its reasoning.
        ics_path = tmp_path / "feeds" / "deadlines.ics"
        cal = icalendar.Calendar.from_ical(ics_path.read_bytes())
        answer_events = [e for e in cal.walk("VEVENT") if "respond-complaint" in str(e["UID"])]
        assert len(answer_events) == 1
        assert answer_events[0].decoded("DTSTART") == date(2026, 5, 26)
        assert "Memorial Day" in str(answer_events[0]["DESCRIPTION"])


def test_moved_court_set_deadline_keeps_its_ics_uid(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 4, 1, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        order = item(8, "MINUTE ORDER: Answer due by 5/1/2026.", clock.now)
        server.set("/dcd/rss", rss("dcd", [order]))
        cfg = str(config(tmp_path, server, smtp, None, events='["deadline.*"]'))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        ics_path = tmp_path / "feeds" / "deadlines.ics"
        first = {str(e["UID"]): e for e in
                 icalendar.Calendar.from_ical(ics_path.read_bytes()).walk("VEVENT")}
        assert len(first) == 1
        uid, event = next(iter(first.items()))
        assert event.decoded("DTSTART") == date(2026, 5, 1)

        clock.advance(days=2)
        moved = item(9, "MINUTE ORDER granting Motion for Extension of Time. Answer due by "
                        "5/15/2026.", clock.now)
        server.set("/dcd/rss", rss("dcd", [order, moved]))
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        second = {str(e["UID"]): e for e in
                  icalendar.Calendar.from_ical(ics_path.read_bytes()).walk("VEVENT")}
        assert list(second) == [uid]
        assert second[uid].decoded("DTSTART") == date(2026, 5, 15)
        assert int(second[uid]["SEQUENCE"]) == 1
        assert len(smtp.received) == 2  # deadline.set, then deadline.changed
        assert "2026-05-15" in smtp.received[1].part("plain")
        assert "2026-05-01" in smtp.received[1].part("plain")
