"""The request quota of a rate-limited API (a source's `request_budget`), kept in the database.

Every request is a row of the `ApiRequest` ledger, so several processes on one database share
one budget. `Quota.try_acquire(now, path)` checks every rolling window (minute, hour, day), the
stored Retry-After and the pacing rule, and records the request, all inside one
`write_session` (BEGIN IMMEDIATE): two processes can never both take the last request.
The rules themselves are pure and shared with the in-memory gate
(`sources.request_budget.admit_request`).

A 429's Retry-After is stored as `SourceState.retry_not_before` on the source's own row
(`target == ""`), which is what `status` shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import select

from monitor.config import SourceConfig
from monitor.db import read_session, write_session
from monitor.models import ApiRequest, SourceState
from sources import source_class
from sources.base import Clock, QuotaLimits
from sources.request_budget import admit_request, quota_usage

__all__ = ["Quota", "QuotaGate", "quota_for_source"]

_DAY = timedelta(days=1)
#: ledger rows older than this are deleted as new requests are recorded
KEEP = timedelta(days=7)


def _aware(moment: datetime) -> datetime:
    """UTC with tzinfo (the columns want it; a naive value read back means UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Quota:
    """Rolling-window request budget of one source, shared through the `ApiRequest` ledger."""

    def __init__(
        self,
        engine: Engine,
        source_id: str,
        limits: QuotaLimits,
        *,
        pace: bool = True,
        kind: str = "",
    ) -> None:
        self.engine = engine
        self.source_id = source_id
        self.limits = limits
        self.pace = pace
        self.kind = kind

    def remaining(self, now: datetime) -> dict[str, dict[str, int]]:
        """`{"minute": {"used", "left", "limit"}, "hour": ..., "day": ...}` at `now`."""
        with read_session(self.engine) as session:
            times = self._times(session, now)
        return {
            name: {"used": u.used, "left": u.left, "limit": u.limit}
            for name, u in quota_usage(times, _aware(now), self.limits).items()
        }

    def try_acquire(self, now: datetime, path: str) -> bool:
        """Atomically check every window (and Retry-After) and record one request to `path`."""
        with write_session(self.engine) as session:
            times = self._times(session, now)
            not_before = self._not_before(session)
            if not admit_request(times, _aware(now), self.limits, not_before=not_before,
                                 pace=self.pace):
                return False
            session.add(ApiRequest(source_id=self.source_id, at=_aware(now), path=path))
            session.execute(
                delete(ApiRequest).where(
                    ApiRequest.source_id == self.source_id,  # type: ignore[arg-type]
                    ApiRequest.at < _aware(now - KEEP),  # type: ignore[arg-type]
                )
            )
            return True

    def defer(self, until: datetime) -> None:
        """Refuse requests before `until` (a 429's Retry-After); a later time wins."""
        with write_session(self.engine) as session:
            row = self._source_row(session)
            current = row.retry_not_before
            if current is None or _aware(until) > _aware(current):
                row.retry_not_before = _aware(until)
            session.add(row)

    def not_before(self) -> datetime | None:
        """The stored Retry-After time (UTC), if any."""
        with read_session(self.engine) as session:
            return self._not_before(session)

    def gate(self, clock: Clock) -> QuotaGate:
        """A `sources.request_budget.RequestGate` reading time from `clock`."""
        return QuotaGate(self, clock)

    # ------------------------------------------------------------------ rows

    def _times(self, session: Any, now: datetime) -> list[datetime]:
        since = _aware(now - _DAY)
        rows = session.exec(
            select(ApiRequest.at).where(
                ApiRequest.source_id == self.source_id,
                ApiRequest.at > since,
            )
        ).all()
        return [_aware(at) for at in rows]

    def _not_before(self, session: Any) -> datetime | None:
        value = session.exec(
            select(SourceState.retry_not_before).where(
                SourceState.source_id == self.source_id, SourceState.target == ""
            )
        ).first()
        return _aware(value) if value is not None else None

    def _source_row(self, session: Any) -> SourceState:
        row: SourceState | None = session.exec(
            select(SourceState).where(
                SourceState.source_id == self.source_id, SourceState.target == ""
            )
        ).first()
        if row is None:
            row = SourceState(source_id=self.source_id, target="", kind=self.kind)
        return row


class QuotaGate:
    """Binds a `Quota` to a clock: the `RequestGate` a budgeted source asks."""

    def __init__(self, quota: Quota, clock: Clock) -> None:
        self.quota = quota
        self.clock = clock

    def acquire(self, path: str) -> bool:
        """Record one request now, or refuse."""
        return self.quota.try_acquire(self.clock(), path)

    def defer(self, until: datetime) -> None:
        """Store a Retry-After."""
        self.quota.defer(until)


def quota_for_source(engine: Engine, src: SourceConfig) -> Quota | None:
    """The shared ledger quota of a configured source whose kind declares a request budget
    (`Source.request_budget`); None for the others."""
    limits = source_class(src.kind).request_budget(src.options)
    return None if limits is None else Quota(engine, src.id, limits, kind=src.kind)
