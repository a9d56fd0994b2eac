"""Work after a poll and on the housekeeping schedule: dispatch the outbox, render feeds."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["after_poll", "dispatch_outbox", "reminders", "render_all_feeds"]

log = logging.getLogger(__name__)


def dispatch_outbox(app: Any, notifier: Any = None) -> None:
    """Send due deliveries and digests whose time has come."""
    from monitor.alerts.channels import AppriseNotifier
    from monitor.alerts.outbox import dispatch_pending, send_digests

    notifier = notifier or AppriseNotifier()
    now = app.clock()
    report = dispatch_pending(app.engine, app.config.subscriptions, now=now, notifier=notifier)
    digests = send_digests(app.engine, app.config.subscriptions, now=now, notifier=notifier,
                           timezone=app.config.deadlines.timezone)
    for outcome in (report, digests):
        if outcome.sent or outcome.retrying or outcome.errors:
            log.info("dispatch: %s sent, %s retrying", outcome.sent, outcome.retrying)


def render_all_feeds(app: Any, *, full: bool = False) -> None:
    """Write the Atom and ICS feeds whose events changed since the last render (every feed
    with `full`) to the feeds directory."""
    from monitor.feeds.incremental import render_changed

    render_changed(app.engine, app.config.feeds, app.config.feeds_dir, now=app.clock(),
                   title=app.config.feeds.title, full=full)


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
    if _anything_to_remind(app.engine):
        run_reminders(app.engine, app.config, now=now, listeners=app.store.listeners)


def _anything_to_remind(engine: Any) -> bool:
    """An open deadline or an open matter exists (else reminders would only take the write
    lock for nothing)."""
    from sqlmodel import col, select

    from monitor.db import read_session
    from monitor.models import Deadline, Matter

    with read_session(engine) as session:
        deadline = session.exec(select(Deadline.id).where(
            col(Deadline.state).in_(["open", "overdue"])).limit(1)).first()
        matter = session.exec(select(Matter.id).where(
            col(Matter.closed).is_(False)).limit(1)).first()
    return deadline is not None or matter is not None
