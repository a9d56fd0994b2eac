"""Two `court-monitor run` daemons on one PostgreSQL: they split the sources, never poll one
together, send each alert once, and the survivor takes over when one is SIGKILLed.

Real processes, a real PostgreSQL on 127.0.0.1 (skips without it), the feed and SMTP fakes. Each
daemon has its own User-Agent, so the feed server tells who polled what, and when.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.feed_server import FeedServer, Item, Request, rss
from tests.fakes.postgres import postgres_server
from tests.fakes.smtp import SmtpServer, smtp_server

COURTS = ("dcd", "txsd", "flsd", "gand")
INTERVAL = 2.0
PHASE = 10.0  # seconds each phase runs


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _config(tmp_path: Path, name: str, pg_url: str, feeds: FeedServer, smtp: SmtpServer) -> Path:
    sources = "\n".join(f"""
[[source]]
id = "rss-{court}"
kind = "pacer_rss"
courts = ["{court}"]
url_template = "{feeds.base}/{{court}}/rss"
interval = "{int(INTERVAL)}s"
jitter = "0s"
""" for court in COURTS)
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
[database]
url = "{pg_url}"

[feeds]
dir = "{tmp_path / name / 'feeds'}"

[http]
user_agent = "daemon-{name}"

{sources}

[[subscription]]
name = "lawyers"
urls = ["{smtp.apprise_url()}"]
events = ["entry.added"]
""")
    return path


def _items(court: str, count: int) -> list[Item]:
    docket, name = "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services"
    first = Item(court, docket, name, "PETITION for Writ of Mandamus", 1, case_id="290001")
    return [first, *(Item(court, docket, name, f"ORDER number {n}", n, case_id="290001")
                     for n in range(2, count + 1))]


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _polls(requests: list[Request], since: float, until: float) -> dict[str, Counter[str]]:
    """Polls per source (court) per daemon in [since, until)."""
    table: dict[str, Counter[str]] = {court: Counter() for court in COURTS}
    for r in requests:
        if since <= r.started < until:
            table[r.path.split("/")[1]][r.agent.split()[0]] += 1
    return table


def _overlaps(requests: list[Request]) -> int:
    """Pairs of requests for one path that ran at the same time."""
    by_path: dict[str, list[Request]] = {}
    for r in requests:
        by_path.setdefault(r.path, []).append(r)
    count = 0
    for rows in by_path.values():
        rows.sort(key=lambda r: r.started)
        count += sum(1 for a, b in zip(rows, rows[1:], strict=False) if b.started < a.ended)
    return count


def _emails(smtp: SmtpServer) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for mail in smtp.received:
        match = re.search(r"New entry (\w+) \S+ #(\d+)", str(mail.message["Subject"]))
        assert match, mail.message["Subject"]
        found[(match.group(1), match.group(2))] += 1
    return found


def _grow(feeds: FeedServer, counts: dict[str, int], until: float) -> None:
    """Add one entry to a court every half second until `until`."""
    turn = 0
    while time.time() < until:
        court = COURTS[turn % len(COURTS)]
        counts[court] += 1
        feeds.set(f"/{court}/rss", rss(court, _items(court, counts[court])))
        turn += 1
        time.sleep(0.5)


@pytest.mark.e2e
def test_two_daemons_split_sources_and_outbox_and_survive_a_kill(
        pg_url: str, tmp_path: Path) -> None:
    counts = dict.fromkeys(COURTS, 1)
    with FeedServer() as feeds, smtp_server() as smtp:
        for court in COURTS:
            feeds.set(f"/{court}/rss", rss(court, _items(court, 1)))
        configs = {n: _config(tmp_path, n, pg_url, feeds, smtp) for n in ("one", "two")}
        one = _start(configs["one"], tmp_path / "one.log")
        deadline = time.time() + 60
        while not any(r.agent.startswith("daemon-one") for r in feeds.requests):
            assert time.time() < deadline and one.poll() is None, (tmp_path / "one.log").read_text()
            time.sleep(0.1)
        two = _start(configs["two"], tmp_path / "two.log")
        try:
            while not any(r.agent.startswith("daemon-two") for r in feeds.requests):
                assert time.time() < deadline and two.poll() is None, \
                    (tmp_path / "two.log").read_text()
                time.sleep(0.1)
            settle = time.time() + 3 * INTERVAL  # the split settles within a few intervals
            _grow(feeds, counts, settle)
            both_from = time.time()
            _grow(feeds, counts, both_from + PHASE)
            killed_at = time.time()
            one.send_signal(signal.SIGKILL)
            one.wait()
            _grow(feeds, counts, killed_at + PHASE)
            after_until = time.time()
            time.sleep(3 * INTERVAL)  # the last entries reach the outbox and the SMTP server
        finally:
            for proc in (one, two):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            two.wait(timeout=60)
        requests = list(feeds.requests)
        emails = _emails(smtp)

    before = _polls(requests, both_from, killed_at)
    after = _polls(requests, killed_at, after_until)
    print(f"\npolls per source before the kill ({PHASE:g}s, interval {INTERVAL:g}s): "
          + ", ".join(f"{c}: {dict(before[c])}" for c in COURTS))
    print(f"polls per source after the kill ({PHASE:g}s): "
          + ", ".join(f"{c}: {dict(after[c])}" for c in COURTS))
    per_event = Counter(emails.values())
    print(f"entries {sum(counts.values())}, emails {sum(emails.values())}, "
          f"emails per event {dict(per_event)}")

    assert _overlaps(requests) == 0  # no source polled by two at once
    # Before the kill: each source had one poller, and each daemon had its share.
    assert all(len(before[c]) == 1 for c in COURTS), before
    owners = Counter(next(iter(before[c])) for c in COURTS)
    assert owners == Counter({"daemon-one": 2, "daemon-two": 2}), owners
    # Each source kept being polled about once an interval (not twice).
    assert all(sum(before[c].values()) <= PHASE / INTERVAL + 2 for c in COURTS), before
    assert all(sum(before[c].values()) >= 2 for c in COURTS), before
    # After the kill: the survivor polls every source, the dead one's within a lease.
    assert all(set(after[c]) == {"daemon-two"} for c in COURTS), after
    took_over = min(r.started for r in requests if r.started >= killed_at
                    and r.path.split("/")[1] in {c for c in COURTS if "daemon-one" in before[c]})
    print(f"first poll of a dead daemon's source {took_over - killed_at:.1f}s after the kill")
    assert took_over - killed_at < 30  # the lease (its pid gone: at once, in practice)
    # Every entry was emailed; twice only for one message in flight when the daemon died.
    expected = {(court, str(n)) for court in COURTS for n in range(1, counts[court] + 1)}
    assert set(emails) == expected
    assert sum(emails.values()) - len(expected) <= 1, emails
