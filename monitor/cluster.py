"""Several `court-monitor run` daemons on one database: who polls which source.

Each daemon keeps a lease `daemon:<owner>` alive (`beat`, every `BEAT_EVERY`), so the daemons
know how many they are. A source is polled under the lease `source:<id>`: a daemon polls a
source only while it holds that lease, renewed while the round runs, so no source is polled by
two daemons at once. The sources are split: a daemon takes a free source only while it holds
fewer than its share (the sources divided by the live daemons, rounded up) and lets one go at its
next turn when it holds more, so a daemon that joins gets its share within a poll interval or two.
A daemon that dies frees its leases at once for a daemon on the same machine (its pid is gone) and
after the lease (`source_lease_ttl`: twice the poll interval, at least 30 s) for one on another
machine; a daemon that stops cleanly hands its sources over at once (`leave`).

The outbox needs none of this: its deliveries are claimed row by row (`monitor.alerts.outbox`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.db import write_session
from monitor.leases import LeaseBook, Owner, renewing
from monitor.models import Lease

__all__ = ["BEAT_EVERY", "DAEMON_TTL", "Coordinator", "source_lease_ttl"]

log = logging.getLogger(__name__)

BEAT_EVERY = timedelta(seconds=10)
DAEMON_TTL = timedelta(seconds=30)
DAEMON_PREFIX = "daemon:"
SOURCE_PREFIX = "source:"


def source_lease_ttl(interval: timedelta) -> timedelta:
    """How long a source's lease holds without renewal: two poll intervals, at least 30 s."""
    return max(2 * interval, timedelta(seconds=30))


class Coordinator:
    """One daemon's side of the split: its heartbeat and its source leases."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime],
                 intervals: Mapping[str, timedelta], *, me: Owner | None = None) -> None:
        self.book = LeaseBook(engine, clock, me)
        self.intervals = dict(intervals)

    @property
    def me(self) -> Owner:
        """This daemon's owner token."""
        return self.book.me

    def beat(self) -> None:
        """Say this daemon is alive (it counts in the split for `DAEMON_TTL`); forget daemons
        gone for a day."""
        self.book.acquire(DAEMON_PREFIX + self.me.token, DAEMON_TTL)
        with write_session(self.book.engine) as session:
            stale = self.book.clock() - timedelta(days=1)
            for row in session.exec(select(Lease).where(
                    col(Lease.name).startswith(DAEMON_PREFIX),
                    col(Lease.expires_at) < stale)).all():
                session.delete(row)

    def _share(self, session: Session) -> int:
        daemons = max(1, self.book.live(session, DAEMON_PREFIX))
        return max(1, math.ceil(len(self.intervals) / daemons))

    def _held(self, session: Session) -> int:
        return self.book.live(session, SOURCE_PREFIX, owner=self.me.token)

    def take(self, source_id: str) -> bool:
        """Hold (or keep) the lease of a source for its next round; False: leave it alone."""
        ttl = source_lease_ttl(self.intervals[source_id])
        return self.book.acquire(
            SOURCE_PREFIX + source_id, ttl,
            may_take=lambda s: self._held(s) < self._share(s),
            should_keep=lambda s: self._held(s) <= self._share(s),
        )

    @contextmanager
    def polling(self, source_id: str) -> Iterator[bool]:
        """Yield whether this daemon polls the source now; its lease is renewed meanwhile."""
        if not self.take(source_id):
            yield False
            return
        name, ttl = SOURCE_PREFIX + source_id, source_lease_ttl(self.intervals[source_id])
        with renewing(lambda: self.book.renew(name, ttl), ttl / 3):
            yield True
        self.book.renew(name, ttl)

    def leave(self) -> None:
        """Let every lease of this daemon go (a clean stop hands its sources over at once)."""
        with write_session(self.book.engine) as session:
            rows = session.exec(select(Lease).where(
                Lease.owner == self.me.token,
                col(Lease.name).startswith(SOURCE_PREFIX) | col(Lease.name).startswith(
                    DAEMON_PREFIX))).all()
            for row in rows:
                if row.name.startswith(DAEMON_PREFIX):
                    session.delete(row)
                else:
                    row.owner, row.expires_at = "", None
                    session.add(row)
