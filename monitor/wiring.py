"""Which listeners see each new event, in order: deadline derivation, then the outbox router."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from monitor.config import Config, SourceConfig
from monitor.events import EventListener
from monitor.matching import Matcher
from sources.base import Clock

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


def source_runtime(src: SourceConfig, engine: Engine, clock: Clock) -> dict[str, Any]:
    """Constructor arguments a source needs beyond the contract's (secrets, a request gate)."""
    if src.kind != "courtlistener":
        return {}
    from monitor.quota import quota_for_source

    return {"token": src.secrets.get("token"),
            "gate": quota_for_source(engine, src).gate(clock)}
