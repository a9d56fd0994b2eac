"""Digests as people want them, with an injected clock, through the real outbox to a real SMTP
server (aiosmtpd) and a real webhook on 127.0.0.1, over a real SQLite file.

- entries on two cases give ONE message at `digest_at` in the subscription's own zone,
  grouped by case; the email is multipart/alternative with a plain-text and an HTML part;
- an overdue deadline goes at once during quiet hours, and at once in digest mode too (and is
  not repeated in the digest); the entries held by quiet hours go when they end;
- a digest due while no daemon ran goes at the next start, once; a refused one is retried
  and then sent once; a weekly digest goes on its day only.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.alerts import AppriseNotifier, dispatch_pending, make_router, send_digests
from monitor.alerts.outbox import due_since
from monitor.config import SubscriptionConfig, WatchConfig
from monitor.db import make_engine, read_session, write_session
from monitor.events import emit
from monitor.matching import Matcher
from monitor.models import Case, Delivery
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from tests.cli_helpers import run, write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import SmtpServer, smtp_server
from tests.fakes.webhook_receiver import WebhookReceiver, webhook_receiver

WATCH = WatchConfig(name="mandamus", tags=["287g"], entry_text=[r"(?i)writ of mandamus"])
CHICAGO = "America/Chicago"
#: the `[deadlines] timezone` the daemon passes: a subscription's own zone must win over it
DEFAULT_ZONE = "America/New_York"
DOE = ("1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services")
ROE = ("1:26-cv-00977", "Roe v. Department of Homeland Security")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


class World:
    """A database, the store with the router of `subs`, and a clock."""

    def __init__(self, tmp_path: Path, subs: list[SubscriptionConfig], now: datetime) -> None:
        self.engine: Engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
        SQLModel.metadata.create_all(self.engine)
        self.subs = subs
        self.router = make_router(subs, watch_tags={WATCH.name: list(WATCH.tags)})
        self.store = Store(self.engine, Matcher([WATCH]), listeners=[self.router])
        self.clock = FixedClock(now)
        self.notifier = AppriseNotifier()
        self.rng = random.Random(7)

    def entry(self, case: tuple[str, str], number: int, text: str) -> None:
        """A docket entry on `case` observed now (a new case is discovered by it)."""
        docket, name = case
        entry = EntryObservation(entry_number=number, date_filed=self.clock.now.date(),
                                 short_description=text.split(" ")[0], description=text,
                                 document_url=f"https://ecf.dcd.uscourts.gov/doc1/0450{number}")
        self.store.apply([CaseObservation(court="dcd", docket_number=docket,
                                          docket_number_raw=docket, case_name=name,
                                          pacer_case_id=docket[-5:], entries=(entry,))],
                         source_id="pacer-rss", now=self.clock.now)

    def overdue(self, case: tuple[str, str], label: str, due: date) -> None:
        """`deadline.overdue` on `case` now (as the reminder job emits it)."""
        docket, name = case
        with write_session(self.engine) as session:
            row = session.exec(select(Case).where(Case.docket_number == docket)).one()
            emit(session, [self.router], kind="deadline.overdue", at=self.clock.now,
                 subject=f"dcd:{docket}", summary=f"OVERDUE: {label} was due {due}",
                 dedupe_key=f"overdue:{docket}:{label}",
                 data={"court": "dcd", "docket_number": docket, "case_name": name,
                       "label": label, "due_date": due.isoformat(), "days_overdue": 1,
                       "state": "overdue"},
                 case_id=row.id)

    def dispatch(self) -> int:
        return dispatch_pending(self.engine, self.subs, now=self.clock.now,
                                notifier=self.notifier, rng=self.rng,
                                timezone=DEFAULT_ZONE).sent

    def digests(self) -> tuple[int, int]:
        report = send_digests(self.engine, self.subs, now=self.clock.now,
                              notifier=self.notifier, rng=self.rng, timezone=DEFAULT_ZONE)
        return report.sent, report.retrying

    def statuses(self) -> dict[str, int]:
        with read_session(self.engine) as session:
            rows = session.exec(select(Delivery)).all()
        out: dict[str, int] = {}
        for row in rows:
            key = f"{row.mode}:{row.status}"
            out[key] = out.get(key, 0) + 1
        return out


def _sub(name: str, *urls: str, **kwargs: object) -> SubscriptionConfig:
    return SubscriptionConfig.model_validate({"name": name, "urls": list(urls), **kwargs})


def _positions(text: str, *needles: str) -> list[int]:
    found = [text.find(n) for n in needles]
    assert -1 not in found, (needles, found, text)
    return found


def _mail_parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


# ---------------------------------------------------------------------------- the test


def test_two_cases_give_one_message_at_the_set_time_grouped_by_case(
        tmp_path: Path, smtp: SmtpServer, hook: WebhookReceiver) -> None:
    subs = [_sub("morning", smtp.apprise_url(), hook.apprise_url(), mode="digest",
                 digest_at="07:00", timezone=CHICAGO, events=["entry.added"])]
    world = World(tmp_path, subs, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 09:00 CST
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")
    world.clock.advance(hours=1)
    world.entry(ROE, 1, "COMPLAINT for Writ of Mandamus against DHS")
    world.clock.advance(hours=1)
    world.entry(DOE, 2, "ORDER to show cause <b>why</b> the writ should not issue")

    assert world.dispatch() == 0  # digest mode: nothing goes alone
    # 06:59 in Chicago (07:59 in New York, where the daemon's default zone would have sent it)
    world.clock.now = datetime(2026, 3, 3, 12, 59, tzinfo=UTC)
    assert world.digests() == (0, 0)
    assert not smtp.received and not hook.posts
    world.clock.now = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 07:00 CST
    assert world.digests() == (6, 0)  # three entries x two channels, one message per channel
    assert world.digests() == (0, 0)
    assert world.dispatch() == 0

    (mail,) = smtp.received
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    assert _mail_parts(message)[1:] == ["text/plain", "text/html"]
    assert message["Subject"] == "[court-monitor] morning: 3 updates"
    plain, html = mail.part("plain"), mail.part("html")
    for body in (plain, html):
        assert "3 updates on 2 cases (daily digest, Tue 2026-03-03 07:00 America/Chicago)" in body
        doe, roe = _positions(body, "Doe v. U.S. Citizenship", "Roe v. Department")
        first, second, other = _positions(body, "PETITION for Writ", "ORDER to show cause",
                                          "COMPLAINT for Writ")
        # grouped by case: Doe's two entries under Doe's heading, Roe's after Roe's
        assert doe < first < second < roe < other
        assert body.count("Doe v. U.S. Citizenship") == 1
        assert "DktRpt.pl" in body or "courtlistener.com" in body
    assert "<" not in plain.replace("<b>why</b>", "")  # tags only where the docket had them
    assert "&lt;b&gt;why&lt;/b&gt;" in html and "<b>why</b>" not in html
    assert "<h2>" in html and "<li>" in html and "- PETITION" not in html
    assert "- New docket entry" in plain  # the derived text keeps the list bullets

    (post,) = hook.posts
    text = post.json()["message"]
    doe, roe = _positions(text, "## Doe v. U.S.", "## Roe v. Department")
    first, second, other = _positions(text, "PETITION", "ORDER to show cause", "COMPLAINT")
    assert doe < first < second < roe < other
    assert world.statuses() == {"digest:sent": 6}


# ---------------------------------------------------------------------------- urgent, quiet


def test_overdue_goes_at_once_in_quiet_hours_and_the_rest_when_they_end(
        tmp_path: Path, hook: WebhookReceiver) -> None:
    subs = [_sub("night", hook.apprise_url(), quiet_hours="22:00-07:00", timezone=CHICAGO)]
    world = World(tmp_path, subs, datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # 23:00 CST
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")
    world.overdue(DOE, "Answer to the complaint", date(2026, 3, 2))

    assert world.dispatch() == 1
    (post,) = hook.posts
    assert post.json()["title"].startswith("[court-monitor] Deadline overdue 2026-03-02: Answer")
    assert world.statuses() == {"urgent:sent": 1, "immediate:pending": 2}
    world.clock.now = datetime(2026, 3, 3, 12, 59, tzinfo=UTC)  # 06:59 CST
    assert world.dispatch() == 0
    world.clock.now = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 07:00 CST: the quiet ends
    assert world.dispatch() == 2
    assert world.dispatch() == 0
    titles = [p.json()["title"] for p in hook.posts]
    assert len(titles) == 3 and titles[0].startswith("[court-monitor] Deadline overdue")
    assert any("New case tracked" in t for t in titles[1:])
    assert any("New entry dcd 1:26-cv-00412 #1" in t for t in titles[1:])


def test_overdue_goes_at_once_in_digest_mode_and_is_not_repeated(
        tmp_path: Path, hook: WebhookReceiver) -> None:
    subs = [_sub("morning", hook.apprise_url(), mode="digest", digest_at="07:00",
                 timezone=CHICAGO, quiet_hours="22:00-07:00")]
    world = World(tmp_path, subs, datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # 23:00 CST
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")
    world.overdue(DOE, "Answer to the complaint", date(2026, 3, 2))
    assert world.digests() == (0, 0)
    assert world.dispatch() == 1
    assert hook.posts[0].json()["title"].startswith("[court-monitor] Deadline overdue")
    world.clock.now = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 07:00 CST
    assert world.digests() == (2, 0)  # case.discovered and the entry
    assert len(hook.posts) == 2
    digest = hook.posts[1].json()["message"]
    assert "PETITION" in digest and "overdue" not in digest.lower()


# ---------------------------------------------------------------------------- nothing lost


def test_digest_due_while_down_goes_once_at_the_next_start(
        tmp_path: Path, hook: WebhookReceiver) -> None:
    subs = [_sub("morning", hook.apprise_url(), mode="digest", digest_at="07:00",
                 timezone=CHICAGO, events=["entry.added"])]
    world = World(tmp_path, subs, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")
    # No daemon from 14:00 CST to 09:30 CST the next day; it starts after the digest time.
    world.clock.now = datetime(2026, 3, 3, 15, 30, tzinfo=UTC)
    world.entry(ROE, 1, "COMPLAINT for Writ of Mandamus against DHS")  # after 07:00: tomorrow
    assert world.digests() == (1, 0)
    assert world.digests() == (0, 0)
    (post,) = hook.posts
    assert "PETITION" in post.json()["message"] and "COMPLAINT" not in post.json()["message"]
    world.clock.now = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    assert world.digests() == (1, 0)
    assert "COMPLAINT" in hook.posts[1].json()["message"]
    assert world.statuses() == {"digest:sent": 2}


def test_refused_digest_is_retried_then_sent_once(tmp_path: Path, smtp: SmtpServer) -> None:
    subs = [_sub("morning", smtp.apprise_url(), mode="digest", digest_at="07:00",
                 timezone=CHICAGO, events=["entry.added"])]
    world = World(tmp_path, subs, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")
    world.entry(ROE, 1, "COMPLAINT for Writ of Mandamus against DHS")
    smtp.refuse(1)
    world.clock.now = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    assert world.digests() == (0, 2)
    assert not smtp.received and smtp.refused == 1
    assert world.digests() == (0, 0)  # backing off
    world.clock.advance(minutes=2)
    assert world.digests() == (2, 0)
    world.clock.advance(minutes=30)
    assert world.digests() == (0, 0)
    (mail,) = smtp.received
    assert "PETITION" in mail.part("plain") and "COMPLAINT" in mail.part("plain")


def test_weekly_digest_goes_on_its_day_only(tmp_path: Path, hook: WebhookReceiver) -> None:
    subs = [_sub("weekly", hook.apprise_url(), mode="digest", digest="weekly",
                 digest_day="monday", digest_at="08:00", timezone=CHICAGO,
                 events=["entry.added"])]
    world = World(tmp_path, subs, datetime(2026, 3, 3, 15, 0, tzinfo=UTC))  # Tuesday
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")
    sent_at = []
    for hours in range(0, 8 * 24):  # the daemon's rounds, hour by hour for eight days
        world.clock.now = datetime(2026, 3, 3, 15, 1, tzinfo=UTC) + timedelta(hours=hours)
        if hours == 30:
            world.entry(ROE, 1, "COMPLAINT for Writ of Mandamus against DHS")  # Wednesday
        if world.digests()[0]:
            sent_at.append(world.clock.now)
    # Monday 2026-03-09 08:00 CDT is 13:00 UTC: the round at 13:01 sends both entries.
    assert sent_at == [datetime(2026, 3, 9, 13, 1, tzinfo=UTC)]
    (post,) = hook.posts
    assert "PETITION" in post.json()["message"] and "COMPLAINT" in post.json()["message"]


# ---------------------------------------------------------------------------- status


def test_held_deliveries_are_not_late(tmp_path: Path, hook: WebhookReceiver) -> None:
    subs = [_sub("morning", hook.apprise_url(), mode="digest", digest_at="07:00",
                 timezone=CHICAGO, events=["entry.added"]),
            _sub("night", hook.apprise_url(), quiet_hours="22:00-07:00", timezone=CHICAGO,
                 events=["entry.added"])]
    world = World(tmp_path, subs, datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # 23:00 CST
    world.entry(DOE, 1, "PETITION for Writ of Mandamus against USCIS")

    def since() -> datetime | None:
        return due_since(world.engine, subs, world.clock.now, timezone=DEFAULT_ZONE)

    assert since() is None
    world.clock.now = datetime(2026, 3, 3, 12, 59, tzinfo=UTC)  # 06:59 CST: both held
    assert since() is None
    world.clock.now = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 09:00 CST, nothing sent yet
    assert since() == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # both since 07:00 CST
    assert world.dispatch() == 1
    assert since() == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # the digest: since 07:00 CST
    assert world.digests() == (1, 0)
    assert since() is None


def test_status_is_healthy_while_a_digest_waits_and_stuck_when_it_is_late(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FeedServer() as server:
        cfg = write_config(tmp_path, server.base, extra=f"""
[[watch]]
name = "m"
case_name = ["(?i)citizenship"]

[[subscription]]
name = "morning"
urls = ["console://"]
mode = "digest"
digest_at = "07:00"
timezone = "{CHICAGO}"
""")
        server.set("/dcd/rss", rss("dcd", [Item("dcd", DOE[0], DOE[1], "PETITION for Writ of "
                                                "Mandamus", 1, case_id="290001")]))
        clock = FixedClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 09:00 CST
        assert run(["--config", cfg, "poll", "--once"], clock) == 0
        clock.now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)  # 21 hours later, 06:00 CST
        capsys.readouterr()
        assert run(["--config", cfg, "status", "--json"], clock) == 0
        outbox = json.loads(capsys.readouterr().out)["outbox"]
        assert outbox["pending"] > 0 and outbox["oldest_due"] is None
        clock.now = datetime(2026, 3, 3, 14, 1, tzinfo=UTC)  # 08:01 CST, digest not sent
        assert run(["--config", cfg, "status"], clock) == 3
        assert run(["--config", cfg, "poll", "--once"], clock) == 0  # sends the digest
        assert "[court-monitor] morning:" in capsys.readouterr().out
        assert run(["--config", cfg, "status"], clock) == 0
