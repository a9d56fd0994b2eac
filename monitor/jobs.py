"""The jobs that are not polls, run by the scheduler and after `poll --once`: dispatch the
outbox, render the feeds, run the clocks (deadline reminders, then matters' escalation)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from monitor.alerts.channels import AppriseNotifier, Notifier
from monitor.alerts.outbox import ROUND_BUDGET, DispatchReport, dispatch_pending, send_digests
from monitor.app import App
from monitor.config import Config
from monitor.db import read_session
from monitor.deadlines.service import run_reminders
from monitor.events import EventListener
from monitor.feeds.incremental import render_changed
from monitor.matters import escalate_matters, sync_config_matters
from monitor.memory import collect_only_new_objects
from monitor.models import Deadline, Event, Matter

__all__ = ["DRAIN_BUDGET", "after_poll", "dispatch_outbox", "reminders", "render_all_feeds",
           "run_clocks"]

#: How long `poll --once` keeps sending what the outbox holds before it says what is left.
DRAIN_BUDGET = timedelta(minutes=2)

log = logging.getLogger(__name__)


def dispatch_outbox(app: App, notifier: Notifier | None = None, *,
                    budget: timedelta | None = None) -> DispatchReport:
    """Send due deliveries and digests whose time has come, for at most `budget` of wall time
    (default: one daemon round, `ROUND_BUDGET`); the report's `left` says what is still due."""
    notifier = notifier or AppriseNotifier()
    now = app.clock()
    report = dispatch_pending(app.engine, app.config.subscriptions, now=now, notifier=notifier,
                              clock=app.clock, budget=budget or ROUND_BUDGET,
                              timezone=app.config.deadlines.timezone)
    digests = send_digests(app.engine, app.config.subscriptions, now=now, notifier=notifier,
                           timezone=app.config.deadlines.timezone, clock=app.clock)
    for name, outcome in (("dispatch", report), ("digests", digests)):
        if outcome.sent or outcome.retrying or outcome.errors or outcome.unanswered:
            log.info("%s: %s sent, %s retrying, %s unanswered, %s gave up, %s left", name,
                     outcome.sent, outcome.retrying, outcome.unanswered, outcome.gave_up,
                     outcome.left)
    return report


def render_all_feeds(app: App, *, full: bool = False) -> None:
    """Write the Atom and ICS feeds whose events changed since the last render (every feed
    with `full`) to the feeds directory."""
    with collect_only_new_objects():
        render_changed(app.engine, app.config.feeds, app.config.feeds_dir,
                       title=app.config.feeds.title,
                       lead_days=app.config.deadlines.reminder_days, full=full)


def after_poll(app: App, *, dispatch: bool = True,
               budget: timedelta | None = None) -> DispatchReport | None:
    """What `poll --once` does after the round: reminders, the outbox (within `budget`),
    the feeds. Returns the dispatch report (None without dispatch)."""
    reminders(app)
    report = dispatch_outbox(app, budget=budget) if dispatch else None
    render_all_feeds(app)
    return report


def reminders(app: App) -> None:
    """The reminder job: the config's matters brought in, then `run_clocks`."""
    now = app.clock()
    sync_config_matters(app.engine, app.config, now=now, listeners=app.store.listeners)
    if _anything_to_remind(app.engine):
        run_clocks(app.engine, app.config, now=now, listeners=app.store.listeners)


def run_clocks(engine: Engine, config: Config, *, now: datetime,
               listeners: Sequence[EventListener]) -> list[Event]:
    """Deadline reminders (`deadline.due_soon`, `deadline.overdue`, ...), then the escalation
    ladder of overdue matters (`matter.escalated`), as of `now`."""
    events = run_reminders(engine, config, now=now, listeners=listeners)
    return events + escalate_matters(engine, config, now=now, listeners=listeners)


def _anything_to_remind(engine: Engine) -> bool:
    """An open deadline or an open matter exists (else reminders would only take the write
    lock for nothing)."""
    with read_session(engine) as session:
        deadline = session.exec(select(Deadline.id).where(
            col(Deadline.state).in_(["open", "overdue"])).limit(1)).first()
        matter = session.exec(select(Matter.id).where(
            col(Matter.closed).is_(False)).limit(1)).first()
    return deadline is not None or matter is not None
