"""End to end: the life of a deadline through the CourtListener stand-in and PACER RSS, email to
a real SMTP server (aiosmtpd on 127.0.0.1), one injected clock moved day by day.

- a show-cause order "within 30 days" gives one deadline, one T-7 email and one overdue email
  when nothing is filed;
- a court-set date and the computed date of the same obligation are one deadline, one email per
  reminder; the answer seen in the RSS feed meets it and no overdue follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from tests.cli_helpers import poll_once as poll
from tests.cli_helpers import run_json
from tests.conftest import FixedClock
from tests.fakes.courtlistener_server import FakeCourtListener
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import SmtpServer, smtp_server

TOKEN = "t0k-deadline-life"
CASE_NAME = "Doe v. U.S. Citizenship and Immigration Services"
DOCKET = "1:26-cv-00412"
FILED = date(2026, 2, 20)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))


@pytest.fixture
def cl(clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCourtListener]:
    monkeypatch.setenv("CL_TOKEN_LIFE", TOKEN)
    with FakeCourtListener(token=TOKEN, clock=clock) as fake:
        yield fake


def config(tmp_path: Path, cl: FakeCourtListener, feeds: FeedServer, smtp: SmtpServer) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "{feeds.base}/{{court}}/rss"

[[source]]
id = "cl"
kind = "courtlistener"
base_url = "{cl.base_url}"
token_env = "CL_TOKEN_LIFE"

[[source.query]]
name = "mandamus"
type = "d"
cause = "28:1361"

[[watch]]
name = "mandamus"
tags = ["mandamus"]
cause = ["28:1361"]
case_name = ["(?i)citizenship and immigration services"]

[[subscription]]
name = "attorney"
urls = ["{smtp.apprise_url()}"]
events = ["deadline.*"]
""")
    return str(path)


def item(number: int, text: str, when: datetime) -> Item:
    return Item("dcd", f"{DOCKET}-ABC", CASE_NAME, text, number, case_id="290001", when=when)


def subjects(smtp: SmtpServer, start: int = 0) -> list[str]:
    """Each mail's subject and plain body, label and value on one line ("Days left 7")."""
    return [(str(m.message["Subject"]).replace("[court-monitor] ", "") + " | "
             + m.part("plain").replace("\r\n", " ")) for m in smtp.received[start:]]


def days(clock: FixedClock, first: date, last: date, hour: int = 14) -> Iterator[date]:
    day = first
    while day <= last:
        clock.now = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        yield day
        day += timedelta(days=1)


def test_show_cause_within_30_days_one_deadline_one_t7_one_overdue(
    tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
    capsys: pytest.CaptureFixture[str]
) -> None:
    docket = cl.add_docket("dcd", DOCKET, CASE_NAME, cause="28:1361 Petition for Writ of Mandamus",
                           nature_of_suit="890 Other Statutory Actions", date_filed=FILED,
                           pacer_case_id="290001")
    cl.add_entry(docket, 1, FILED, "PETITION for Writ of Mandamus against USCIS",
                 short_description="Petition")
    with FeedServer() as feeds, smtp_server() as smtp:
        feeds.set("/dcd/rss", rss("dcd", []))
        cfg = config(tmp_path, cl, feeds, smtp)
        poll(cfg, clock)  # discovered through CourtListener
        clock.advance(minutes=15)
        poll(cfg, clock)  # its history synced
        order = ("ORDER directing respondent to file an answer within 30 days showing cause why "
                 "the writ should not issue. Signed by Judge A. B. on 3/3/2026.")
        by_day: dict[date, list[str]] = {}
        for day in days(clock, date(2026, 3, 3), date(2026, 4, 6)):
            if day == date(2026, 3, 3):
                cl.add_entry(docket, 4, day, order, short_description="Order to Show Cause")
                feeds.set("/dcd/rss", rss("dcd", [item(4, order, clock.now)]))
            before = len(smtp.received)
            poll(cfg, clock)
            mails = [s for s in subjects(smtp, before) if "Response to complaint" in s]
            if mails:
                by_day[day] = mails
        rows = run_json(["--config", cfg, "deadlines"], clock, capsys)
        answer = [d for d in rows if d["label"].startswith("Response to complaint")]
        assert len(answer) == 1
        # Tue 2026-03-03 + 30 days = Thu 2026-04-02, counted under FRCP 6(a) from the order.
        assert answer[0]["due"] == "2026-04-02"
        assert any("within 30 days" in step for step in answer[0]["steps"])
        t7 = [d for d, mails in by_day.items() for m in mails if "Days left 7 " in m]
        overdue = [d for d, mails in by_day.items() for m in mails
                   if m.startswith("Deadline overdue")]
        assert t7 == [date(2026, 3, 26)]
        assert overdue == [date(2026, 4, 3)]
        mail = next(m for m in by_day[date(2026, 4, 3)] if m.startswith("Deadline overdue"))
        assert "Last checked 2026-04-03" in mail and "Looked for response to complaint" in mail


def test_court_date_and_computed_date_are_one_deadline_met_by_the_answer_in_rss(
    tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
    capsys: pytest.CaptureFixture[str]
) -> None:
    docket = cl.add_docket("dcd", DOCKET, CASE_NAME, cause="28:1361 Petition for Writ of Mandamus",
                           nature_of_suit="890 Other Statutory Actions", date_filed=FILED,
                           pacer_case_id="290001")
    cl.add_entry(docket, 1, FILED, "COMPLAINT for Writ of Mandamus against USCIS",
                 short_description="Complaint")
    clock.now = datetime(2026, 3, 27, 15, tzinfo=UTC)
    with FeedServer() as feeds, smtp_server() as smtp:
        served = ("SUMMONS Returned Executed as to United States Attorney. Date of Service Upon "
                  "United States Attorney on 3/26/2026.")
        feeds.set("/dcd/rss", rss("dcd", [item(5, served, clock.now)]))
        cl.add_entry(docket, 5, date(2026, 3, 27), served, short_description="Summons")
        cfg = config(tmp_path, cl, feeds, smtp)
        poll(cfg, clock)
        clock.advance(minutes=15)
        poll(cfg, clock)
        # The court sets the same obligation to a date of its own, a few days before the rule's.
        minute = ("MINUTE ORDER: Defendants shall file an answer or otherwise respond to [1] "
                  "Complaint by 5/22/2026. Signed by Judge A. B. on 3/30/2026.")
        by_day: dict[date, list[str]] = {}
        for day in days(clock, date(2026, 3, 30), date(2026, 5, 30)):
            if day == date(2026, 3, 30):
                cl.add_entry(docket, 6, day, minute, short_description="Minute Order")
            if day == date(2026, 5, 20):
                answer = "ANSWER to 1 Complaint by U.S. Citizenship and Immigration Services."
                feeds.set("/dcd/rss", rss("dcd", [item(9, answer, clock.now)]))
            before = len(smtp.received)
            poll(cfg, clock)
            mails = [s for s in subjects(smtp, before) if "Response to complaint" in s]
            if mails:
                by_day[day] = mails
        rows = run_json(["--config", cfg, "deadlines", "--all"], clock, capsys)
        answers = [d for d in rows if d["label"].startswith("Response to complaint")]
        assert len(answers) == 1, answers
        (row,) = answers
        assert row["due"] == "2026-05-22" and row["computed_due"] == "2026-05-26"
        assert row["state"] == "met" and row["met_by"]["entry_number"] == 9
        flat = [(d, m) for d, mails in by_day.items() for m in mails]
        assert [d for d, m in flat if "Days left 7 " in m] == [date(2026, 5, 15)]
        assert [d for d, m in flat if "Days left 3 " in m] == [date(2026, 5, 19)]
        assert [d for d, m in flat if m.startswith("Deadline met")] == [date(2026, 5, 20)]
        assert "Met by #9 2026-05-20 ANSWER" in next(m for _, m in flat
                                                      if m.startswith("Deadline met"))
        assert not [m for _, m in flat if m.startswith(("Deadline overdue", "Deadline passed"))
                    or "Days left 1 " in m or "Days left 0 " in m]
        # One calendar event, kept across the court's move (SEQUENCE raised), gone when met.
        cal = icalendar.Calendar.from_ical((tmp_path / "feeds" / "deadlines.ics").read_bytes())
        assert not [e for e in cal.walk("VEVENT") if "respond-complaint" in str(e["UID"])]
