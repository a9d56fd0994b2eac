"""Chaos: `court-monitor poll --once` SIGKILLed at random moments of its poll and its dispatch,
again and again, then left to finish. Counted at the end: no entry lost, an email sent twice only
for a message the killed process had handed to the SMTP server and not yet marked sent (the last
message of a killed run), and a SQLite file that passes `PRAGMA integrity_check`.

Half the kills are aimed at the dispatch (just after the SMTP server took a message of the run),
half anywhere in the first half of a run. Each run is a real process (forked from a server that
has already imported the stack, so one run costs about a second and the test stays short)
against the feed and SMTP fakes. The seed is printed; `CHAOS_SEED=n` replays a run.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.cli import main
from tests.cli_helpers import write_config
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import ReceivedMail, smtp_server

COURTS = ("dcd", "txsd")
KILLS = 50
MAX_RUNS = 150
DOCKET, NAME = "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services"


@dataclass
class Run:
    """One process: when it started, and whether it was killed (else it finished)."""

    started: float
    killed: bool


def _items(court: str, count: int) -> list[Item]:
    first = Item(court, DOCKET, NAME, "PETITION for Writ of Mandamus", 1, case_id="290001")
    return [first, *(Item(court, DOCKET, NAME, f"ORDER number {n}", n, case_id="290001")
                     for n in range(2, count + 1))]


def _entry_of(mail: ReceivedMail) -> tuple[str, str]:
    match = re.search(r"New entry (\w+) \S+ #(\d+)", str(mail.message["Subject"]))
    assert match, mail.message["Subject"]
    return match.group(1), match.group(2)


def _run_of(at: float, runs: list[Run]) -> int:
    """The run during which the server accepted a message (the last one started before)."""
    index = 0
    for i, run in enumerate(runs):
        if run.started <= at:
            index = i
    return index


def _context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["monitor.cli", "monitor.app",
                                "monitor.poll", "monitor.alerts.outbox", "monitor.jobs",
                                "monitor.feeds", "sources", "apprise", "sqlmodel", "httpx"])
    return ctx


@pytest.mark.e2e
def test_random_sigkills_during_poll_and_dispatch_lose_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("CHAOS_SEED", "0")) or random.SystemRandom().randrange(1, 10**6)
    rng = random.Random(seed)
    print(f"\nchaos seed {seed}")
    ctx = _context()
    counts = dict.fromkeys(COURTS, 1)
    runs: list[Run] = []
    durations: list[float] = []
    with FeedServer() as feeds, smtp_server() as smtp:
        for court in COURTS:
            feeds.set(f"/{court}/rss", rss(court, _items(court, 1)))
        extra = (f'[[subscription]]\nname = "lawyers"\nurls = ["{smtp.apprise_url()}"]\n'
                 'events = ["entry.added"]\n')
        cfg = write_config(tmp_path, feeds.base, courts=COURTS, extra=extra)
        argv = ["--config", cfg, "poll", "--once"]
        smtp.slow(0.03)
        started_all = time.monotonic()
        while sum(r.killed for r in runs) < KILLS and len(runs) < MAX_RUNS:
            for _ in range(rng.randint(1, 4)):  # new entries: the poll has work, so has the outbox
                court = rng.choice(COURTS)
                counts[court] += 1
                feeds.set(f"/{court}/rss", rss(court, _items(court, counts[court])))
            child = ctx.Process(target=main, args=(argv,))
            began = time.time()
            child.start()
            # Half the kills land anywhere in the first half of a typical run (start-up, poll),
            # half in the dispatch: a moment after the SMTP server took a message of this run.
            typical = sorted(durations)[len(durations) // 2] if durations else 600.0
            if not durations or rng.random() < 0.5:
                child.join(rng.uniform(0.0, typical / 2) if durations else None)
            else:
                sent_before = len(smtp.received)
                while child.is_alive() and len(smtp.received) == sent_before \
                        and time.time() < began + 2 * typical:
                    time.sleep(0.005)
                child.join(rng.uniform(0.0, 0.15))
            killed = child.is_alive()
            if killed:
                os.kill(child.pid or 0, signal.SIGKILL)
            child.join()
            runs.append(Run(began, killed))
            if not killed:
                durations.append(time.time() - began)
        chaos_seconds = time.monotonic() - started_all
        for _ in range(2):  # then left alone: it catches up
            runs.append(Run(time.time(), False))
            child = ctx.Process(target=main, args=(argv,))
            child.start()
            child.join(120)
            assert child.exitcode == 0
        mails = smtp.received

    by_entry = Counter(_entry_of(m) for m in mails)
    expected = {(court, str(n)) for court in COURTS for n in range(1, counts[court] + 1)}
    lost = expected - set(by_entry)
    # A duplicate is allowed only for a killed run's last accepted message: once per such run.
    last_of_killed: Counter[tuple[str, str]] = Counter()
    per_run: dict[int, list[ReceivedMail]] = {}
    for mail in mails:
        per_run.setdefault(_run_of(mail.at, runs), []).append(mail)
    for index, run_mails in per_run.items():
        if runs[index].killed:
            last_of_killed[_entry_of(max(run_mails, key=lambda m: m.at))] += 1
    duplicates = {key: n - 1 for key, n in by_entry.items() if n > 1}
    # (A message can be a killed run's last more than once: killed again right after resending.)
    outside = {key: n for key, n in duplicates.items() if n > last_of_killed[key]}
    killed_in_dispatch = sum(1 for i, r in enumerate(runs) if r.killed and i in per_run)
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        outbox = dict(db.execute(
            "SELECT status, count(*) FROM delivery GROUP BY status").fetchall())
    kills = sum(r.killed for r in runs)
    print(f"chaos: {len(runs)} runs in {chaos_seconds:.0f}s, {kills} SIGKILLs "
          f"({killed_in_dispatch} after the dispatch had sent something, "
          f"{kills - killed_in_dispatch} before), {len(expected)} entries, {len(mails)} emails, "
          f"lost {len(lost)}, duplicates {sum(duplicates.values())} (all inside the send-commit "
          f"window: {not outside}), integrity_check {integrity}, outbox {outbox}")

    assert kills >= KILLS
    assert killed_in_dispatch >= 5 and kills - killed_in_dispatch >= 5  # both phases were hit
    assert not lost
    assert not outside, outside
    assert integrity == "ok"
    assert outbox == {"sent": len(expected)}
