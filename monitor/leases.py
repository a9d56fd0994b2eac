"""Who is doing what: process identity, named leases, and renewing a lease while working.

Several processes may share one database (two daemons on one PostgreSQL, a `poll --once` beside
a daemon, a daemon restarted after a SIGKILL). Work that must be done by one of them at a time
(polling a source, sending a delivery) is taken under a lease naming its owner:

- The owner is a process token: host name (with the pid namespace), boot id
  (`/proc/sys/kernel/random/boot_id`), pid and the process's start time (so a recycled pid is
  not mistaken for the owner).
- A lease is free when it has no owner, when it has expired, or when its owner is a process of
  this host that no longer runs (or ran before the last boot): a SIGKILLed daemon's work is taken
  over at once by a process on the same machine, and within the lease by one on another machine.
- An owner keeps a lease alive while it works with `renewing(...)`, so slow work never outlives
  its lease.

Leases live in the `lease` table (`monitor.models.Lease`); delivery claims use the same owner
tokens on the delivery rows (`monitor.alerts.outbox`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from monitor.db import write_session
from monitor.models import Lease

__all__ = [
    "Owner",
    "LeaseBook",
    "claim_is_live",
    "owner_alive",
    "renewing",
    "this_process",
]

log = logging.getLogger(__name__)

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_LEASE_LOCK = 287_0002  # the advisory lock key of lease decisions on PostgreSQL


@dataclass(frozen=True)
class Owner:
    """One process, as written into a lease: host, boot id, pid and start time."""

    host: str
    boot_id: str
    pid: int
    started: str

    @property
    def token(self) -> str:
        """The form stored in the database."""
        return f"{self.host}|{self.boot_id}|{self.pid}|{self.started}"

    @classmethod
    def parse(cls, token: str) -> Owner | None:
        """The owner a token names (None for "" or a token of another shape)."""
        parts = token.split("|")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The start time (clock ticks since boot) of a running process; None when it is gone.

    Without /proc (not Linux) a live pid answers "?" (pid reuse cannot be told apart there).
    """
    stat = _read(Path(f"/proc/{pid}/stat"))
    if stat:
        # Field 22, counted after the command name, which may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        return fields[19] if len(fields) > 19 else "?"
    if Path("/proc/self/stat").exists():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return "?"
    return "?"


def _machine() -> str:
    """The host name plus the pid namespace: containers that share a host name (host network)
    but not their pids must not judge each other's pids."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}{namespace}".replace("|", "/")


_cached: tuple[int, Owner] | None = None


def this_process() -> Owner:
    """The owner token of the calling process (recomputed after a fork)."""
    global _cached
    pid = os.getpid()
    if _cached is None or _cached[0] != pid:
        _cached = (pid, Owner(_machine(), _read(_BOOT_ID), pid, _start_time(pid) or "?"))
    return _cached[1]


def owner_alive(token: str, me: Owner) -> bool | None:
    """Whether the process a token names still runs: True, False, or None when this host cannot
    tell (another host, or a token of another shape)."""
    owner = Owner.parse(token)
    if owner is None or owner.host != me.host:
        return None
    if owner.boot_id != me.boot_id:
        return False  # the machine rebooted since (or the token is from another container)
    if owner.pid == me.pid:
        return owner.started == me.started
    started = _start_time(owner.pid)
    return started is not None and (started == owner.started or "?" in (started, owner.started))


def claim_is_live(owner: str, until: datetime | None, now: datetime, me: Owner) -> bool:
    """Whether work claimed by `owner` until `until` is still someone's: not when there is no
    owner, when the owner is a process of this host that is gone, or when the claim expired."""
    if not owner:
        return False
    if owner_alive(owner, me) is False:
        return False
    return until is not None and _aware(until) > now


def _serialize(session: Session) -> None:
    """Decide one lease at a time across every process: the split counts what others hold, so
    two decisions at once could both give up, or both take, the same share. SQLite's
    BEGIN IMMEDIATE already serializes; PostgreSQL takes a transaction-level advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text(f"SELECT pg_advisory_xact_lock({_LEASE_LOCK})"))  # type: ignore[call-overload]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@contextmanager
def renewing(renew: Callable[[], None], every: timedelta) -> Iterator[None]:
    """Call `renew()` every `every` (wall time) in a helper thread while the body runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every.total_seconds()):
            try:
                renew()
            except Exception:  # noqa: BLE001 - a failed renewal must not kill the work
                log.warning("could not renew a lease", exc_info=True)

    thread = threading.Thread(target=loop, name="lease-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


class LeaseBook:
    """Named leases of one process in the `lease` table."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime],
                 me: Owner | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.me = me or this_process()

    def _free(self, row: Lease, now: datetime) -> bool:
        return not claim_is_live(row.owner, row.expires_at, now, self.me)

    def _row(self, session: Session, name: str) -> Lease | None:
        query = select(Lease).where(Lease.name == name).with_for_update()
        return session.exec(query).first()

    def acquire(self, name: str, ttl: timedelta, *,
                may_take: Callable[[Session], bool] | None = None,
                should_keep: Callable[[Session], bool] | None = None) -> bool:
        """Hold `name` for `ttl` more: renew it when this process holds it, take it when it is
        free (and `may_take(session)` agrees). A holder that `should_keep(session)` refuses
        lets it go. Returns whether this process holds it now."""
        try:
            with write_session(self.engine) as session:
                _serialize(session)
                now = self.clock()
                row = self._row(session, name)
                if row is None:
                    row = Lease(name=name)
                mine = row.owner == self.me.token and not self._free(row, now)
                if mine and should_keep is not None and not should_keep(session):
                    row.owner, row.expires_at = "", None
                    session.add(row)
                    return False
                if not mine:
                    if not self._free(row, now) or (may_take is not None
                                                    and not may_take(session)):
                        return False
                    row.owner, row.acquired_at = self.me.token, now
                row.expires_at = now + ttl
                session.add(row)
            return True
        except (IntegrityError, OperationalError) as exc:
            # Another process inserted or holds the row this very moment: not ours this time.
            log.debug("lease %s: %s", name, exc)
            return False

    def renew(self, name: str, ttl: timedelta) -> None:
        """Push a lease this process holds `ttl` ahead (no-op when it is not ours)."""
        with write_session(self.engine) as session:
            row = self._row(session, name)
            if row is not None and row.owner == self.me.token:
                row.expires_at = self.clock() + ttl
                session.add(row)

    def release(self, name: str) -> None:
        """Let a lease this process holds go (no-op when it is not ours)."""
        with write_session(self.engine) as session:
            row = self._row(session, name)
            if row is not None and row.owner == self.me.token:
                row.owner, row.expires_at = "", None
                session.add(row)

    def live(self, session: Session, prefix: str, *, owner: str | None = None) -> int:
        """How many leases named `prefix...` are held (by `owner`, when given)."""
        now = self.clock()
        query = select(Lease).where(col(Lease.name).startswith(prefix), Lease.owner != "")
        if owner is not None:
            query = query.where(Lease.owner == owner)
        return sum(1 for row in session.exec(query).all() if not self._free(row, now))
