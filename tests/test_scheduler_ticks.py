"""The daemon's ticking jobs (the outbox's dispatch, the feeds' render) with the real scheduler:
a round longer than a tick, while polls take every thread the scheduler gives them, is neither
run twice at once nor logged as a skipped run every second (an operator's journal is for what
needs them)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import jobs
from monitor.app import App
from monitor.config import load_config
from monitor.poll import PollReport
from monitor.scheduler import FEEDS_TICK, build_scheduler
from tests.cli_helpers import write_config
from tests.fakes.feed_server import FeedServer, rss

ROUND_S = 3 * FEEDS_TICK.total_seconds() + 0.5


class _SlowRounds:
    """A job body that takes `ROUND_S` a round and counts rounds and overlaps."""

    def __init__(self) -> None:
        self.rounds = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, *_: object, **__: object) -> PollReport:
        with self._lock:
            self.rounds += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(ROUND_S)
        with self._lock:
            self.running -= 1
        return PollReport(source_id="")  # (what a poll returns; the others return nothing)


def test_a_slow_render_and_dispatch_are_not_overlapped_nor_logged_each_tick(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    render, dispatch = _SlowRounds(), _SlowRounds()
    monkeypatch.setattr(jobs, "render_all_feeds", render)
    monkeypatch.setattr(jobs, "dispatch_outbox", dispatch)
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", []))
        # more sources than the scheduler has threads for polls, each poll slow: the polls
        # keep every one of those threads busy the whole time
        more = "".join(f'[[source]]\nid = "s{n}"\nkind = "pacer_rss"\ncourts = ["dcd"]\n'
                       f'url_template = "{server.base}/{{court}}/rss"\n' for n in range(9))
        app = App(config=load_config(write_config(tmp_path, server.base, extra=more)),
                  clock=lambda: datetime.now(UTC))
        polls = _SlowRounds()
        monkeypatch.setattr(app.runner, "poll", polls)
        scheduler = build_scheduler(app)
        runner = threading.Thread(target=scheduler.start, daemon=True)
        with caplog.at_level(logging.INFO, logger="apscheduler"):
            runner.start()
            time.sleep(ROUND_S + 2 * FEEDS_TICK.total_seconds())
            scheduler.shutdown(wait=True)
            runner.join(timeout=10)
        app.close()
    # both ran at once at start (they are due then), each one round at a time, beside the polls
    assert render.rounds == 1 and dispatch.rounds == 1
    assert polls.most_at_once >= 4
    assert render.most_at_once == 1 and dispatch.most_at_once == 1
    skipped = [r.getMessage() for r in caplog.records
               if "maximum number of running instances" in r.getMessage()]
    assert not skipped, skipped[:3]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
