"""The jobs: one per source at its interval with jitter, plus housekeeping.

APScheduler 3.x traps (design.md): an interval job first runs one interval after start, so
`next_run_time` is now; the default misfire grace of 1 s drops late runs, so each job gets a
grace as long as its interval; it cannot take an injected clock, so the jobs call `(now) -> ...`
functions that tests call directly.

Feeds are rendered by the feeds job only (incrementally: `monitor.feeds.incremental`), every
minute and as soon as a poll brought events; such a poll also wakes the dispatch job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from monitor import jobs
from monitor.app import App
from monitor.cluster import BEAT_EVERY, Coordinator
from monitor.errors import MonitorError
from monitor.logs import one_line

__all__ = ["build_scheduler", "guarded", "scheduler_workers"]

log = logging.getLogger(__name__)

DISPATCH_EVERY = timedelta(seconds=30)
DISPATCH_TICK = timedelta(seconds=1)
FEEDS_EVERY = timedelta(minutes=1)
FEEDS_TICK = timedelta(seconds=1)
REMINDERS_EVERY = timedelta(minutes=15)
#: instances of a ticking job at once: the round that runs, and a tick that sees it and returns
TICK_INSTANCES = 2
#: the executor of the housekeeping jobs (dispatch, feeds, reminders, heartbeat)
HOUSEKEEPING = "housekeeping"
#: job threads at most (see `scheduler_workers`)
MAX_WORKERS = 8


def guarded(name: str, fn: Callable[[], Any]) -> Callable[[], None]:
    """A job that logs its failure instead of killing the scheduler's thread."""

    def job() -> None:
        try:
            fn()
        except MonitorError as exc:
            log.error("%s failed: %s", name, exc)
        except Exception as exc:  # a job must never take the daemon down
            # One line in the journal; the traceback at DEBUG (`[logging] level = "DEBUG"`).
            log.error("%s crashed: %s", name, one_line(exc))
            log.debug("%s traceback", name, exc_info=True)

    job.__name__ = job.__qualname__ = name
    return job


class _Wakeable:
    """A job that runs every `every`, and right away when a poll asks for it (`wake`): the
    dispatch of new deliveries, the render of changed feeds. The job ticks often and runs only
    when one is due; a poll never calls into the scheduler (its locks are held while it shuts
    down). A tick while a round still runs returns at once (the job is scheduled with room for
    that tick, `TICK_INSTANCES`, so a round longer than a tick is not logged as a skipped run
    every second); a wake meanwhile is kept for the next tick."""

    def __init__(self, run: Callable[[], Any], every: timedelta,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._run, self._every, self._monotonic = run, every, monotonic
        self._wanted = threading.Event()
        self._wanted.set()
        self._last = monotonic()
        self._running = threading.Lock()

    def tick(self) -> None:
        """Run when woken or when a round is due, unless a round still runs."""
        if not self._running.acquire(blocking=False):
            return
        try:
            if not self._wanted.is_set() and \
                    self._monotonic() - self._last < self._every.total_seconds():
                return
            self._wanted.clear()
            self._last = self._monotonic()
            self._run()
        finally:
            self._running.release()

    def wake(self) -> None:
        """Ask for a round at the next tick."""
        self._wanted.set()


def scheduler_workers(count: int) -> int:
    """Threads running the sources' jobs: enough that a slow feed never holds the others back,
    few enough that SQLite's single writer and the HTTP pool are not swamped (4 to 8)."""
    return max(4, min(MAX_WORKERS, count))


def build_scheduler(app: App, *, on_poll: Callable[[str], None] | None = None,
                    extra_jobs: list[tuple[str, timedelta, Callable[[], Any]]] | None = None,
                    coordinator: Coordinator | None = None) -> BlockingScheduler:
    """A BlockingScheduler with the source jobs and housekeeping of `app`.

    With a `coordinator` (several daemons on one database) a source job polls only while this
    daemon holds the source's lease, and a heartbeat job keeps the daemon counted.
    """
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=scheduler_workers(
            len(app.runner.sources)))},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    now = datetime.now(UTC)
    outbox = _Wakeable(lambda: jobs.dispatch_outbox(app), DISPATCH_EVERY)
    feeds = _Wakeable(lambda: jobs.render_all_feeds(app), FEEDS_EVERY)
    for source_id in app.runner.sources:
        src = app.config.source(source_id)

        def poll(source_id: str = source_id) -> None:
            if coordinator is None:
                report = app.runner.poll(source_id)
            else:
                with coordinator.polling(source_id) as mine:
                    if not mine:
                        log.debug("%s is polled by another daemon", source_id)
                        return
                    report = app.runner.poll(source_id)
            if report.events:
                # The outbox is the dispatch job's: woken now, so this source's next round never
                # waits behind a slow channel; the feeds job too (many polls, one render).
                outbox.wake()
                feeds.wake()
            if on_poll is not None:
                on_poll(source_id)

        interval = src.interval_td
        scheduler.add_job(
            guarded(f"poll {source_id}", poll), "interval", id=f"source:{source_id}",
            name=f"poll {source_id}",
            seconds=max(1, int(interval.total_seconds())),
            jitter=int(src.jitter_td.total_seconds()) or None,
            next_run_time=now, misfire_grace_time=max(1, int(interval.total_seconds())),
        )
    housekeeping_jobs: list[tuple[str, timedelta, Callable[[], Any]]] = [
        ("dispatch alerts", DISPATCH_TICK, outbox.tick),
        ("render feeds", FEEDS_TICK, feeds.tick),
        ("deadline reminders", REMINDERS_EVERY, lambda: jobs.reminders(app)),
        *(extra_jobs or []),
    ]
    if coordinator is not None:
        housekeeping_jobs.append(("heartbeat", BEAT_EVERY, coordinator.beat))
    ticking = {outbox.tick, feeds.tick}
    # Threads of their own: a tick never waits behind the polls for one (it would count as a
    # running instance meanwhile, and the next tick be logged as skipped).
    scheduler.add_executor(ThreadPoolExecutor(max_workers=len(housekeeping_jobs) + len(ticking)
                                              * (TICK_INSTANCES - 1)), HOUSEKEEPING)
    for name, every, fn in housekeeping_jobs:
        scheduler.add_job(
            guarded(name, fn), "interval", id=f"housekeeping:{name}", name=name,
            seconds=max(1, int(every.total_seconds())), next_run_time=now,
            misfire_grace_time=max(1, int(every.total_seconds())),
            max_instances=TICK_INSTANCES if fn in ticking else 1, executor=HOUSEKEEPING,
        )
    return scheduler
