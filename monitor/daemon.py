"""`court-monitor run`: the scheduler, signals, systemd notify and watchdog, the HTTP endpoint.

SIGTERM and SIGINT set the app's stop event: a fetch in flight is abandoned within a moment
(its target waits for the next start, not counted as a failure), the round ends, and the
process exits 0 within seconds. Under systemd (Type=notify) the
daemon reports READY once the database is migrated and the jobs are scheduled, a STATUS line after
each poll, and WATCHDOG pings from a scheduler job (so a stuck scheduler is restarted). Several
daemons may share one database (`monitor.cluster`): they split the sources, and a daemon that
stops hands its sources over.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from monitor.app import App
from monitor.cluster import Coordinator
from monitor.config import Config
from monitor.logs import quiet_libraries
from monitor.memory import fewer_malloc_arenas, release_free_memory
from monitor.scheduler import build_scheduler
from monitor.server import RunningServer, start_server
from monitor.systemd import notify, watchdog_interval

__all__ = ["run_daemon"]

log = logging.getLogger(__name__)

def run_daemon(config: Config) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    def clock() -> datetime:
        return datetime.now(UTC)

    logging.getLogger().setLevel(config.logging.level)
    quiet_libraries(logging.getLogger().level)
    fewer_malloc_arenas()
    app = App(config=config, clock=clock)
    app.engine  # migrate before READY  # noqa: B018
    polls = {"count": 0}

    def on_poll(source_id: str) -> None:
        polls["count"] += 1
        notify(f"STATUS=polled {source_id}; {polls['count']} polls since start")

    extra = []
    ping = watchdog_interval()
    if ping:
        extra.append(("watchdog ping", timedelta(seconds=max(1.0, ping)),
                      lambda: notify("WATCHDOG=1")))
    coordinator = Coordinator(app.engine, clock, {
        source_id: app.config.source(source_id).interval_td for source_id in app.runner.sources})
    coordinator.beat()  # counted by the other daemons before the first round
    scheduler = build_scheduler(app, on_poll=on_poll, extra_jobs=extra, coordinator=coordinator)
    # Memory freed by a job goes back to the system before the next one.
    scheduler.add_listener(release_free_memory, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    server = _start_server(app)
    stopping = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        app.stop.set()  # fetches in flight give up within a moment; rounds end early
        log.info("signal %s: stopping (fetches in flight abandoned, their targets wait for "
                 "the next start)", signum)
        notify("STOPPING=1")
        # shutdown(wait=True) blocks until running jobs end: not inside the signal handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("court-monitor running: %d sources, config %s", len(app.runner.sources),
             config.path)
    notify("READY=1\nSTATUS=running")
    try:
        scheduler.start()
    finally:
        if server is not None:
            server.shutdown()
        coordinator.leave()
        app.close()
    log.info("court-monitor stopped")
    return 0


def _start_server(app: App) -> RunningServer | None:
    if not app.config.server.enabled:
        return None
    return start_server(app)
