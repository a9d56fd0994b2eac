"""The jobs: one per source at its interval with jitter, plus housekeeping.

APScheduler 3.x traps (design.md): an interval job first runs one interval after start, so
`next_run_time` is now; the default misfire grace of 1 s drops late runs, so each job gets a
grace as long as its interval; it cannot take an injected clock, so the jobs call `(now) -> ...`
functions that tests call directly.

Feeds are rendered by the feeds job only (incrementally: `monitor.feeds.incremental`), every
minute and as soon as a poll brought events; a poll job dispatches the alerts its events made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import MonitorError

__all__ = ["build_scheduler", "guarded", "scheduler_workers"]

log = logging.getLogger(__name__)

DISPATCH_EVERY = timedelta(seconds=30)
FEEDS_EVERY = timedelta(minutes=1)
REMINDERS_EVERY = timedelta(minutes=15)
#: job threads at most (see `scheduler_workers`)
MAX_WORKERS = 8


def guarded(name: str, fn: Callable[[], Any]) -> Callable[[], None]:
    """A job that logs its failure instead of killing the scheduler's thread."""

    def job() -> None:
        try:
            fn()
        except MonitorError as exc:
            log.error("%s failed: %s", name, exc)
        except Exception:  # a job must never take the daemon down
            log.exception("%s crashed", name)

    job.__name__ = name
    return job


def scheduler_workers(jobs: int) -> int:
    """Threads running jobs: enough that a slow feed never holds the others back, few enough
    that SQLite's single writer and the HTTP pool are not swamped (4 to 8)."""
    return max(4, min(MAX_WORKERS, jobs))


def build_scheduler(app: Any, *, on_poll: Callable[[str], None] | None = None,
                    extra_jobs: list[tuple[str, timedelta, Callable[[], Any]]] | None = None
                    ) -> Any:
    """A BlockingScheduler with the source jobs and housekeeping of `app`."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    from monitor import housekeeping

    jobs = len(app.runner.sources) + 3 + len(extra_jobs or [])
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=scheduler_workers(jobs))},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    now = datetime.now(UTC)
    for source_id in app.runner.sources:
        src = app.config.source(source_id)

        def poll(source_id: str = source_id) -> None:
            report = app.runner.poll(source_id)
            if report.events:
                # Alerts leave at once; the feeds job is woken (many polls, one render).
                housekeeping.dispatch_outbox(app)
                feeds = scheduler.get_job("housekeeping:feeds")
                if feeds is not None:
                    feeds.modify(next_run_time=datetime.now(UTC))
            if on_poll is not None:
                on_poll(source_id)

        interval = src.interval_td
        scheduler.add_job(
            guarded(f"poll {source_id}", poll), "interval", id=f"source:{source_id}",
            seconds=max(1, int(interval.total_seconds())),
            jitter=int(src.jitter_td.total_seconds()) or None,
            next_run_time=now, misfire_grace_time=max(1, int(interval.total_seconds())),
        )
    housekeeping_jobs: list[tuple[str, timedelta, Callable[[], Any]]] = [
        ("dispatch", DISPATCH_EVERY, lambda: housekeeping.dispatch_outbox(app)),
        ("feeds", FEEDS_EVERY, lambda: housekeeping.render_all_feeds(app)),
        ("reminders", REMINDERS_EVERY, lambda: housekeeping.reminders(app)),
        *(extra_jobs or []),
    ]
    for name, every, fn in housekeeping_jobs:
        scheduler.add_job(
            guarded(name, fn), "interval", id=f"housekeeping:{name}",
            seconds=max(1, int(every.total_seconds())), next_run_time=now,
            misfire_grace_time=max(1, int(every.total_seconds())),
        )
    return scheduler
