"""The jobs: one per source at its interval with jitter, plus housekeeping.

APScheduler 3.x traps (design.md): an interval job first runs one interval after start, so
`next_run_time` is now; the default misfire grace of 1 s drops late runs, so each job gets a
grace as long as its interval; it cannot take an injected clock, so the jobs call `(now) -> ...`
functions that tests call directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import MonitorError
from monitor.logs import one_line

__all__ = ["build_scheduler", "guarded"]

log = logging.getLogger(__name__)

DISPATCH_EVERY = timedelta(seconds=30)
FEEDS_EVERY = timedelta(minutes=5)
REMINDERS_EVERY = timedelta(minutes=15)


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


def build_scheduler(app: Any, *, on_poll: Callable[[str], None] | None = None,
                    extra_jobs: list[tuple[str, timedelta, Callable[[], Any]]] | None = None
                    ) -> Any:
    """A BlockingScheduler with the source jobs and housekeeping of `app`."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    from monitor import housekeeping

    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    now = datetime.now(UTC)
    for source_id in app.runner.sources:
        src = app.config.source(source_id)

        def poll(source_id: str = source_id) -> None:
            app.runner.poll(source_id)
            housekeeping.after_poll(app)
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
        ("dispatch alerts", DISPATCH_EVERY, lambda: housekeeping.dispatch_outbox(app)),
        ("render feeds", FEEDS_EVERY, lambda: housekeeping.render_all_feeds(app)),
        ("deadline reminders", REMINDERS_EVERY, lambda: housekeeping.reminders(app)),
        *(extra_jobs or []),
    ]
    for name, every, fn in housekeeping_jobs:
        scheduler.add_job(
            guarded(name, fn), "interval", id=f"housekeeping:{name}", name=name,
            seconds=max(1, int(every.total_seconds())), next_run_time=now,
            misfire_grace_time=max(1, int(every.total_seconds())),
        )
    return scheduler
