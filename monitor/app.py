"""The application: config -> engine (migrated), matcher, store with its listeners, the HTTP
client, the poll runner with its sources; each built on first use from the config and an
injected clock.

Used by the commands that touch the database and by the daemon; the command line imports it
only when such a command runs, so that `calc`, `init`, `check-config` and `--help` never import
the heavy stack.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property

import httpx
from sqlalchemy import Engine

from monitor.config import Config
from monitor.db import make_engine
from monitor.events import EventListener
from monitor.http_client import make_client
from monitor.listeners import build_listeners
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.poll import Runner
from monitor.store import Store
from sources.base import Clock

__all__ = ["App"]

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything a command needs, built lazily from the config and an injected clock."""

    config: Config
    clock: Clock
    #: set when the process is stopping: fetches in flight are abandoned, rounds end early
    stop: threading.Event = field(default_factory=threading.Event)
    #: how long a write waits for another process's lock (SQLite) before "database is locked"
    busy_timeout_s: float = 30.0

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.config.database_url, busy_timeout_s=self.busy_timeout_s)
        upgrade(engine)
        return engine

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(self.config.watches)

    @cached_property
    def store(self) -> Store:
        return Store(self.engine, self.matcher, self.listeners(), config=self.config)

    def listeners(self) -> list[EventListener]:
        """Derived deadlines first (their events are routed too), then the outbox router."""
        return build_listeners(self.config)

    @cached_property
    def client(self) -> httpx.Client:
        return make_client(self.config.http, stop=self.stop)

    @cached_property
    def runner(self) -> Runner:
        return Runner(self.config, self.engine, self.store, self.client, self.clock,
                      stop=self.stop)

    def close(self) -> None:
        if "runner" in self.__dict__:
            self.runner.close()
        if "client" in self.__dict__:
            self.client.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
