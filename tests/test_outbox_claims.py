"""The outbox under slow, dead and silent channels, and after a SIGKILL: nothing sent twice,
nothing stranded, no round without bound (issue 13, defect 1).

Each test here failed before the per-delivery claims: the slow server's second dispatcher resent
what the first had claimed (duplicates), the killed dispatcher's claims waited five minutes,
`poll --once` stopped at 100, and a silent server cost 15 s per delivery, one after another.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from monitor.alerts import AppriseNotifier, dispatch_pending
from monitor.cli import build_parser, run_command
from monitor.db import read_session
from monitor.leases import Owner, claim_is_live, this_process
from monitor.models import Delivery
from sources.base import EntryObservation
from tests.cli_helpers import write_config
from tests.conftest import ROOT, FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import SmtpServer, silent_smtp_server, smtp_server
from tests.test_alerts import PETITION, _case, _engine, _entry, _store, _sub

DOCKET = "1:26-cv-00412"
NAME = "Doe v. U.S. Citizenship and Immigration Services"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def _entries(count: int) -> list[Item]:
    first = Item("dcd", DOCKET, NAME, "PETITION for Writ of Mandamus", 1, case_id="290001")
    rest = [Item("dcd", DOCKET, NAME, f"ORDER number {n} of the court", n, case_id="290001")
            for n in range(2, count + 1)]
    return [first, *rest]


def _orders(count: int) -> list[EntryObservation]:
    """A mandamus petition (it makes the case tracked) and `count - 1` orders."""
    return [_entry(1, PETITION), *(_entry(n, f"ORDER number {n}") for n in range(2, count + 1))]


def _per_entry(smtp: SmtpServer) -> Counter[str]:
    """Emails received per docket entry number (from the subject)."""
    found: Counter[str] = Counter()
    for mail in smtp.received:
        match = re.search(r"#(\d+)", str(mail.message["Subject"]))
        found[match.group(1) if match else "?"] += 1
    return found


def _outbox_config(tmp_path: Path, feeds: FeedServer, smtp_url: str) -> str:
    extra = f'[[subscription]]\nname = "lawyers"\nurls = ["{smtp_url}"]\nevents = ["entry.added"]\n'
    return write_config(tmp_path, feeds.base, extra=extra)


def _run(argv: list[str]) -> int:
    """`court-monitor ARGV` in-process on the wall clock (claims compare with real time)."""
    return run_command(build_parser().parse_args(argv), clock=lambda: datetime.now(UTC))


def test_a_round_that_outlives_the_old_lease_sends_nothing_twice(
        tmp_path: Path, smtp: SmtpServer, clock: FixedClock) -> None:
    """A slow server (9 s a message in the field): the next dispatch, a lease later, must not
    resend what the first is still working through (40 events gave 45 emails)."""
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("lawyers", smtp.apprise_url(), events=["entry.added"])]
    _store(engine, subs).apply([_case(*_orders(12))], source_id="s", now=clock.now)
    smtp.slow(0.2)
    first: list[int] = []
    worker = threading.Thread(target=lambda: first.append(dispatch_pending(
        engine, subs, now=clock.now, notifier=AppriseNotifier(), clock=clock, budget=None).sent))
    worker.start()
    deadline = time.monotonic() + 60
    while len(smtp.received) < 3 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.advance(minutes=6)  # the first round is now older than any lease it took at its start
    second = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(),
                              clock=clock, budget=None)
    worker.join(timeout=60)
    assert first[0] + second.sent == 12
    assert second.sent > 0  # the two rounds shared the work...
    assert sorted(_per_entry(smtp).values()) == [1] * 12  # ...and sent each entry once


def test_a_killed_dispatchers_claims_are_retried_at_once(tmp_path: Path,
                                                         smtp: SmtpServer) -> None:
    with FeedServer() as feeds:
        feeds.set("/dcd/rss", rss("dcd", _entries(6)))
        cfg = _outbox_config(tmp_path, feeds, smtp.apprise_url())
        assert _run(["--config", cfg, "poll", "--once", "--no-dispatch"]) == 0
    smtp.slow(0.4)
    child = subprocess.Popen([sys.executable, "-m", "monitor", "--config", cfg, "alerts",
                              "dispatch"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not smtp.received and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    taken = len(smtp.received)
    assert 1 <= taken < 6
    smtp.slow(0)
    # Seconds later, not a lease later: the dead process's claim is void.
    assert _run(["--config", cfg, "alerts", "dispatch"]) == 0
    counts = _per_entry(smtp)
    assert set(counts) == {str(n) for n in range(1, 7)}  # lost: 0
    # A duplicate only for the message in flight when the process died.
    assert sum(counts.values()) - 6 <= 1


def test_poll_once_drains_the_outbox_and_says_what_is_left(
        tmp_path: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]) -> None:
    with FeedServer() as feeds:
        feeds.set("/dcd/rss", rss("dcd", _entries(110)))
        cfg = _outbox_config(tmp_path, feeds, smtp.apprise_url())
        capsys.readouterr()
        assert _run(["--config", cfg, "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "outbox: 110 sent, 0 failed, 0 unanswered, 0 left" in out
    assert sorted(_per_entry(smtp).values()) == [1] * 110


def test_a_round_within_its_budget_says_what_is_left(tmp_path: Path, smtp: SmtpServer,
                                                     clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    subs = [_sub("lawyers", smtp.apprise_url(), events=["entry.added"])]
    _store(engine, subs).apply([_case(*_orders(10))],
                               source_id="s", now=clock.now)
    ticks = iter(range(1000))  # each claim costs one "second" of a fake monotonic clock
    report = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(),
                              budget=timedelta(seconds=4), monotonic=lambda: next(ticks))
    assert (report.sent, report.left) == (3, 7)
    again = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier())
    assert (again.sent, again.left) == (7, 0)
    assert sorted(_per_entry(smtp).values()) == [1] * 10


def test_a_silent_server_costs_one_send_limit_per_round(tmp_path: Path,
                                                        clock: FixedClock) -> None:
    engine = _engine(tmp_path / "m.db")
    with silent_smtp_server() as silent:
        subs = [_sub("lawyers", silent.apprise_url(), events=["entry.added"])]
        _store(engine, subs).apply([_case(*_orders(5))],
                                   source_id="s", now=clock.now)
        report = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(),
                                  send_limit=timedelta(seconds=1))
        assert (report.sent, report.unanswered, report.left) == (0, 1, 5)
        assert silent.connections == 1  # the other four were not tried behind it
        # The unanswered one stays claimed while its send runs: a second round leaves it be.
        again = dispatch_pending(engine, subs, now=clock.now, notifier=AppriseNotifier(),
                                 send_limit=timedelta(seconds=1))
        assert again.unanswered == 1 and silent.connections == 2
    # The server hung up: both sends end, are recorded as failed tries, and release their claim.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with read_session(engine) as session:
            rows = session.exec(select(Delivery)).all()
        tried = [r for r in rows if r.attempts == 1 and not r.claimed_by]
        if len(tried) == 2:
            break
        time.sleep(0.1)
    assert len(tried) == 2 and all(r.status == "pending" for r in tried)


def test_claims_of_gone_processes_are_void_and_others_lapse_with_their_lease() -> None:
    me = this_process()
    now = datetime(2026, 3, 2, 15, tzinfo=UTC)
    later = now + timedelta(minutes=2)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = Owner(me.host, me.boot_id, gone.pid, me.started).token
    assert not claim_is_live(dead, later, now, me)
    rebooted = Owner(me.host, "another-boot", os.getpid(), me.started).token
    assert not claim_is_live(rebooted, later, now, me)
    recycled_pid = Owner(me.host, me.boot_id, os.getppid(), "1").token
    assert not claim_is_live(recycled_pid, later, now, me)
    elsewhere = Owner("other-host", "b", 4242, "77").token
    assert claim_is_live(elsewhere, later, now, me)
    assert not claim_is_live(elsewhere, now - timedelta(seconds=1), now, me)
    assert claim_is_live(me.token, later, now, me)
    assert not claim_is_live("", later, now, me)
    assert Owner.parse(me.token) == me
