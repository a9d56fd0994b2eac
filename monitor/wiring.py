"""Which listeners see each new event, in order: deadline derivation, then the outbox router."""

from __future__ import annotations

from sqlalchemy import Engine

from monitor.config import Config, SourceConfig
from monitor.events import EventListener
from monitor.matching import Matcher
from monitor.quota import quota_for_source
from sources.base import Clock, Runtime

__all__ = ["build_listeners", "source_runtime"]


def build_listeners(config: Config, matcher: Matcher, clock: Clock) -> list[EventListener]:
    """The listeners for `Store`: derived deadlines, then routing to subscriptions."""
    listeners: list[EventListener] = []
    from monitor.deadlines.service import make_deadline_listener

    listeners.append(make_deadline_listener(config))
    from monitor.alerts.routing import make_router

    watch_tags = {w.name: list(w.tags) for w in config.watches}
    listeners.append(make_router(config.subscriptions, watch_tags=watch_tags))
    return listeners


def source_runtime(src: SourceConfig, engine: Engine, clock: Clock) -> dict[str, Runtime]:
    """The `runtime` a source is constructed with: its resolved secrets, and a gate on the
    shared request budget when its kind declares one (`Source.request_budget`)."""
    quota = quota_for_source(engine, src)
    gate = quota.gate(clock) if quota is not None else None
    return {"runtime": Runtime(secrets=dict(src.secrets), gate=gate)}
