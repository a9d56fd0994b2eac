"""Wiring: config -> engine (migrated), matcher, store with its listeners, sources.

Used by the CLI commands that touch the database and by the daemon; kept out of `cli.py` so
that `calc`, `init`, `check-config` and `--help` never import the heavy stack.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Engine

from monitor.config import Config
from monitor.db import make_engine
from monitor.events import EventListener
from monitor.matching import Matcher
from monitor.store import Store
from sources.base import Clock

if TYPE_CHECKING:
    from monitor.runner import Runner

__all__ = ["App"]

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything a command needs, built lazily from the config and an injected clock."""

    config: Config
    clock: Clock
    client_factory: type[httpx.Client] | None = None
    migrate: bool = True
    #: set when the process is stopping: fetches in flight are abandoned, rounds end early
    stop: threading.Event = field(default_factory=threading.Event)
    _listeners: list[EventListener] = field(default_factory=list)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.config.database_url)
        if self.migrate:
            from monitor.migrate import upgrade

            upgrade(engine)
        return engine

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(self.config.watches)

    @cached_property
    def store(self) -> Store:
        return Store(self.engine, self.matcher, self.listeners())

    def listeners(self) -> list[EventListener]:
        """Derived deadlines first (their events are routed too), then the outbox router."""
        from monitor.wiring import build_listeners

        return build_listeners(self.config, self.matcher, self.clock)

    @cached_property
    def client(self) -> httpx.Client:
        from monitor.http_client import make_client

        return make_client(self.config.http, stop=self.stop)

    @cached_property
    def runner(self) -> Runner:
        from monitor.runner import Runner

        return Runner(self.config, self.engine, self.store, self.client, self.clock,
                      stop=self.stop)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
