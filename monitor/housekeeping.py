"""Work after a poll and on the housekeeping schedule: dispatch the outbox, render feeds."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["after_poll", "dispatch_outbox", "reminders", "render_all_feeds"]

log = logging.getLogger(__name__)


def dispatch_outbox(app: Any) -> None:
    """Send due deliveries (no-op until alerts exist)."""
    try:
        from monitor.alerts import AppriseNotifier, dispatch_pending
    except ImportError:
        return
    report = dispatch_pending(app.engine, app.config.subscriptions, now=app.clock(),
                              notifier=AppriseNotifier())
    log.info("dispatch: %s", report)


def render_all_feeds(app: Any) -> None:
    """Write Atom and ICS feeds to the feeds directory."""
    try:
        from monitor.feeds import render_feeds, write_ics_feeds
    except ImportError:
        return
    render_feeds(app.engine, app.config.feeds, app.config.feeds_dir, now=app.clock())
    write_ics_feeds(app.engine, app.config.feeds_dir, now=app.clock())


def after_poll(app: Any, *, dispatch: bool = True) -> None:
    """What `poll --once` does after the round: reminders, the outbox, the feeds."""
    reminders(app)
    if dispatch:
        dispatch_outbox(app)
    render_all_feeds(app)


def reminders(app: Any) -> None:
    """Deadline reminders (`deadline.due_soon`, `deadline.overdue`) and matter escalation."""
    from monitor.deadlines.service import run_reminders
    from monitor.matters import sync_config_matters

    now = app.clock()
    sync_config_matters(app.engine, app.config, now=now, listeners=app.store.listeners)
    run_reminders(app.engine, app.config, now=now, listeners=app.store.listeners)
