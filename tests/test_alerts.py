"""Alerts end to end: store -> router -> outbox -> Apprise -> a real SMTP server and webhook."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, time, timedelta
from io import StringIO
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.alerts import (
    AppriseNotifier,
    Message,
    channel_id,
    dispatch_pending,
    make_router,
    outbox_summary,
    pending,
    retry_failed,
    send_digests,
    send_test,
)
from monitor.config import SubscriptionConfig, WatchConfig
from monitor.db import make_engine, read_session
from monitor.errors import AlertError
from monitor.matching import Matcher
from monitor.models import Delivery, Event
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from tests.conftest import FixedClock
from tests.fakes.smtp import SmtpServer, free_port, smtp_server
from tests.fakes.webhook_receiver import WebhookReceiver, webhook_receiver

WATCH = WatchConfig(name="mandamus", tags=["287g", "mandamus"],
                    entry_text=[r"(?i)writ of mandamus"])
CASE_NAME = "Doe v. U.S. Citizenship and Immigration Services"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


def _engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    return engine


def _store(engine: Engine, subs: list[SubscriptionConfig]) -> Store:
    router = make_router(subs, watch_tags={WATCH.name: list(WATCH.tags)})
    return Store(engine, Matcher([WATCH]), listeners=[router])


def _sub(name: str, url: str, **kwargs: object) -> SubscriptionConfig:
    return SubscriptionConfig.model_validate({"name": name, "urls": [url], **kwargs})


def _case(*entries: EntryObservation, backfill: bool = False) -> CaseObservation:
    return CaseObservation(court="dcd", docket_number="1:26-cv-00412",
                           docket_number_raw="1:26-cv-412-ABC", case_name=CASE_NAME,
                           pacer_case_id="281234", entries=entries, backfill=backfill)


def _entry(number: int, text: str) -> EntryObservation:
    return EntryObservation(entry_number=number, date_filed=date(2026, 3, 2),
                            short_description=text.split(" ")[0], description=text,
                            document_url=f"https://ecf.dcd.uscourts.gov/doc1/0450{number}")


PETITION = "PETITION for Writ of Mandamus against USCIS (Filing fee $405)"


def _deliveries(engine: Engine) -> list[Delivery]:
    with read_session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())  # type: ignore[arg-type]


def test_entry_reaches_email_once_and_webhook(tmp_path: Path, smtp: SmtpServer,
                                              hook: WebhookReceiver, clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("lawyers", smtp.apprise_url(), events=["entry.*"]),
            _sub("chat", hook.apprise_url(), watches=["mandamus"])]
    store = _store(engine, subs)
    store.apply([_case(_entry(1, PETITION))], source_id="pacer-rss", now=clock.now)

    rows = _deliveries(engine)
    assert {(r.subscription, r.status) for r in rows} == {("lawyers", "pending"),
                                                          ("chat", "pending")}
    assert len([r for r in rows if r.subscription == "chat"]) == 2  # discovered + entry
    assert all(r.channel == channel_id(smtp.apprise_url()) or r.channel == channel_id(
        hook.apprise_url()) for r in rows)

    report = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(),
                              rng=random.Random(1))
    assert (report.sent, report.retrying) == (3, 0)
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert "1:26-cv-00412" in mail.message["Subject"]
    plain, html = mail.part("plain"), mail.part("html")
    for body in (plain, html):
        assert "Writ of Mandamus against USCIS" in body
        assert CASE_NAME in body.replace("&amp;", "&")
        assert "DktRpt.pl?281234" in body
    assert "<table>" in html and "<table>" not in plain
    titles = sorted(p.json()["title"] for p in hook.posts)
    assert titles[0].startswith("[court-monitor] New case tracked: dcd 1:26-cv-00412 Doe v.")
    assert titles[1].startswith("[court-monitor] New entry dcd 1:26-cv-00412 #1: PETITION")

    # Nothing is sent twice: not on the next round, not when the same entry comes again.
    clock.advance(minutes=30)
    store.apply([_case(_entry(1, PETITION))], source_id="courtlistener", now=clock.now)
    again = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier())
    assert again.sent == 0
    assert len(smtp.received) == 1 and len(hook.posts) == 2
    assert all(r.status == "sent" and r.sent_at is not None for r in _deliveries(engine))


def test_muted_entry_is_stored_not_sent(tmp_path: Path, hook: WebhookReceiver,
                                        clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("chat", hook.apprise_url(), events=["entry.added"],
                 mute=[r"(?i)notice of appearance"])]
    store = _store(engine, subs)
    store.apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    clock.advance(hours=1)
    store.apply([_case(_entry(2, "NOTICE of Appearance by Jane Roe on behalf of USCIS"),
                       _entry(3, "ORDER to show cause why the writ should not issue"))],
                source_id="s", now=clock.now)
    with read_session(engine) as session:
        texts = [e.data.get("description", "") for e in session.exec(select(Event)).all()]
    assert any("NOTICE of Appearance" in t for t in texts)  # stored
    dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier())
    sent = [p.json()["message"] for p in hook.posts]
    assert len(sent) == 2
    assert not any("Appearance" in m for m in sent)
    assert any("show cause" in m for m in sent)


def test_refusing_smtp_is_retried_with_backoff(tmp_path: Path, smtp: SmtpServer,
                                               clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("lawyers", smtp.apprise_url(), events=["entry.added"])]
    _store(engine, subs).apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    smtp.refuse(2)
    rng = random.Random(7)
    notifier = AppriseNotifier()

    first = dispatch_pending(engine, subs, now=clock.now, notifier=notifier, rng=rng)
    assert (first.sent, first.retrying) == (0, 1)
    (row,) = _deliveries(engine)
    assert row.attempts == 1 and row.status == "pending" and row.next_try is not None
    wait = row.next_try - clock.now
    assert timedelta(seconds=54) <= wait <= timedelta(seconds=66)
    assert "did not take the message" in row.last_error

    # Not due yet: nothing is tried.
    clock.advance(seconds=30)
    assert dispatch_pending(engine, subs, now=clock.now, notifier=notifier, rng=rng).retrying == 0
    assert smtp.refused == 1

    clock.advance(seconds=40)
    second = dispatch_pending(engine, subs, now=clock.now, notifier=notifier, rng=rng)
    assert second.retrying == 1 and smtp.refused == 2
    (row,) = _deliveries(engine)
    wait = row.next_try - clock.now  # type: ignore[operator]
    assert row.attempts == 2 and timedelta(seconds=108) <= wait <= timedelta(seconds=132)

    clock.advance(minutes=3)
    third = dispatch_pending(engine, subs, now=clock.now, notifier=notifier, rng=rng)
    assert third.sent == 1
    assert len(smtp.received) == 1
    clock.advance(hours=2)
    assert dispatch_pending(engine, subs, now=clock.now, notifier=notifier).sent == 0
    assert len(smtp.received) == 1


def test_crash_between_commit_and_send_delivers_once(tmp_path: Path, smtp: SmtpServer,
                                                     clock: FixedClock) -> None:
    path = tmp_path / "m.db"
    subs = [_sub("lawyers", smtp.apprise_url(), events=["entry.added"])]
    first = _engine(path)
    _store(first, subs).apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    first.dispose()  # the process dies before any dispatch

    restarted = make_engine(f"sqlite:///{path}")
    assert outbox_summary(restarted, clock.now)["pending"] == 1
    clock.advance(minutes=1)
    report = dispatch_pending(restarted, subs, now=clock.now, notifier=AppriseNotifier())
    assert report.sent == 1
    assert dispatch_pending(restarted, subs, now=clock.now, notifier=AppriseNotifier()).sent == 0
    assert len(smtp.received) == 1
    assert outbox_summary(restarted, clock.now) == {"pending": 0, "failed": 0,
                                                    "oldest_pending": None, "due": 0}


def test_give_up_after_then_retry_failed(tmp_path: Path, hook: WebhookReceiver,
                                         clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("chat", hook.apprise_url(), events=["entry.added"], give_up_after=2)]
    _store(engine, subs).apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    hook.fail(2)
    rng = random.Random(3)
    dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(), rng=rng)
    clock.advance(minutes=5)
    report = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(), rng=rng)
    assert report.gave_up == 1
    summary = outbox_summary(engine, clock.now)
    assert (summary["pending"], summary["failed"]) == (0, 1)
    listed = pending(engine)
    assert [(p.status, p.attempts, p.kind) for p in listed] == [("failed", 2, "entry.added")]
    assert listed[0].as_json()["created_at"].endswith("Z")
    clock.advance(hours=5)
    assert dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier()).sent == 0

    assert retry_failed(engine) == 1
    assert dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier()).sent == 1
    assert len(hook.posts) == 1


def test_never_gives_up_by_default_and_caps_backoff(tmp_path: Path, clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    dead = f"json://127.0.0.1:{free_port()}/hook"
    subs = [_sub("chat", dead, events=["entry.added"])]
    _store(engine, subs).apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    rng = random.Random(5)
    for _ in range(12):
        dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(), rng=rng)
        clock.advance(hours=1, minutes=7)
    (row,) = _deliveries(engine)
    assert row.status == "pending" and row.attempts == 12
    assert row.next_try is not None
    last_wait = row.next_try - (clock.now - timedelta(hours=1, minutes=7))
    assert timedelta(minutes=54) <= last_wait <= timedelta(minutes=66)


def test_errors_never_carry_secrets(tmp_path: Path, clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    secret = "Sup3rS3cretT0ken"
    url = f"json://bot:{secret}@127.0.0.1:{free_port()}/hooks/{secret}x9"
    subs = [_sub("chat", url, events=["entry.added"])]
    _store(engine, subs).apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    report = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier())
    assert report.retrying == 1
    (row,) = _deliveries(engine)
    assert row.last_error and secret not in row.last_error
    assert secret not in " ".join(report.errors)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("m.db*"))
    assert secret.encode() not in raw


def test_digest_sends_one_message_at_digest_time(tmp_path: Path, hook: WebhookReceiver,
                                                 clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("morning", hook.apprise_url(), mode="digest", digest_at=time(7, 0))]
    store = _store(engine, subs)
    store.apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)  # 10:00 New York
    clock.advance(hours=2)
    store.apply([_case(_entry(2, "ORDER to show cause"))], source_id="s", now=clock.now)
    assert {r.mode for r in _deliveries(engine)} == {"digest"}

    notifier = AppriseNotifier()
    zone = "America/New_York"
    assert dispatch_pending(engine, subs, now=clock.now, notifier=notifier).sent == 0
    assert send_digests(engine, subs, now=clock.now, notifier=notifier, timezone=zone).sent == 0
    clock.advance(hours=18, minutes=59)  # 2026-03-03 06:59 in New York
    assert send_digests(engine, subs, now=clock.now, notifier=notifier, timezone=zone).sent == 0
    clock.advance(minutes=2)
    report = send_digests(engine, subs, now=clock.now, notifier=notifier, timezone=zone)
    assert report.sent == 3  # case.discovered, two entries: one message
    assert len(hook.posts) == 1
    body = hook.posts[0].json()
    assert body["title"] == "[court-monitor] morning: 3 updates"
    assert "Writ of Mandamus" in body["message"] and "show cause" in body["message"]
    assert send_digests(engine, subs, now=clock.now, notifier=notifier, timezone=zone).sent == 0
    assert len(hook.posts) == 1


def test_console_channel_prints(capsys: pytest.CaptureFixture[str]) -> None:
    AppriseNotifier().send("console://", Message(title="T1", text="body text", html="<p/>"))
    out = capsys.readouterr().out
    assert "T1" in out and "body text" in out
    stream = StringIO()
    AppriseNotifier(stream=stream).send("console://", Message("T2", "other", ""))
    assert "other" in stream.getvalue()


def test_send_test_reaches_channels_and_names_failures(hook: WebhookReceiver,
                                                       clock: FixedClock) -> None:
    good = _sub("chat", hook.apprise_url())
    send_test(good, AppriseNotifier(), clock.now)
    assert len(hook.posts) == 1 and "chat" in hook.posts[0].json()["title"]
    bad = SubscriptionConfig(name="bad", urls=[hook.apprise_url(),
                                               f"json://u:pw12345678@127.0.0.1:{free_port()}/"])
    with pytest.raises(AlertError) as info:
        send_test(bad, AppriseNotifier(), clock.now)
    assert "pw12345678" not in str(info.value)
    assert len(hook.posts) == 2
    with pytest.raises(AlertError, match="not a usable Apprise URL"):
        AppriseNotifier().send("nosuchscheme://x", Message("t", "b", ""))


class _Recorder:
    """A notifier that records sends and runs a second dispatcher mid-send (two processes)."""

    def __init__(self, engine: Engine, subs: list[SubscriptionConfig],
                 clock: FixedClock) -> None:
        self.engine, self.subs, self.clock = engine, subs, clock
        self.sent: list[str] = []
        self.nested: list[int] = []

    def send(self, channel_url: str, message: Message) -> None:
        self.sent.append(message.title)
        if not self.nested:
            self.nested.append(0)
            report = dispatch_pending(self.engine, self.subs, now=self.clock.now, notifier=self)
            self.nested[0] = report.sent


def test_a_second_dispatcher_leaves_claimed_deliveries_alone(tmp_path: Path,
                                                             clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("chat", "json://127.0.0.1:9/", events=["entry.added"])]
    _store(engine, subs).apply([_case(_entry(1, PETITION))], source_id="s", now=clock.now)
    recorder = _Recorder(engine, subs, clock)
    assert dispatch_pending(engine, subs, now=clock.now, notifier=recorder).sent == 1
    assert recorder.nested == [0] and len(recorder.sent) == 1
