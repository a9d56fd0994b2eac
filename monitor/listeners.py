"""Which listeners see each new event, in order: deadline derivation, then the outbox router."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.alerts.routing import make_router
from monitor.config import Config
from monitor.deadlines.service import make_deadline_listener
from monitor.events import EventListener

__all__ = ["build_listeners"]


def build_listeners(config: Config,
                    party_aliases: Sequence[tuple[str, str]] = ()) -> list[EventListener]:
    """The listeners for `Store`: derived deadlines first (their events are routed too), then
    routing to subscriptions. `party_aliases` ((other name, party) pairs) when the parties are
    known, as in `replay`."""
    watch_tags = {w.name: list(w.tags) for w in config.watches}
    return [make_deadline_listener(config, party_aliases),
            make_router(config.subscriptions, watch_tags=watch_tags)]
