"""The rules of a rate-limited API's request budget (pure), and the gate a source asks first.

A budget is `QuotaLimits`: requests per rolling minute, hour and day. `admit_request` says
whether one more request may be made now, given the requests of the last day: not before a
server's Retry-After, not when a rolling window is full, and (pacing) not faster than the
daily quota spread evenly over the day. `quota_usage` says what is used and left per window.

Before every HTTP request a source asks a `RequestGate` (`acquire(path) -> bool`). The core
passes one backed by the shared ledger in the database (`monitor.quota.Quota.gate`, which
applies these same rules); standalone use gets a `MemoryGate`. A refusal becomes
`QuotaDeferred`: not a failure of the source, the round just stops and resumes later.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.errors import DeferredError
from sources.base import Clock, QuotaLimits

__all__ = [
    "MemoryGate",
    "QuotaDeferred",
    "WindowUsage",
    "admit_request",
    "quota_usage",
]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WindowUsage:
    """Requests used and left in one rolling window."""

    used: int
    left: int
    limit: int


def quota_usage(
    times: Iterable[datetime], now: datetime, limits: QuotaLimits
) -> dict[str, WindowUsage]:
    """Usage of each rolling window ("minute", "hour", "day") at `now`."""
    stamps = list(times)
    usage: dict[str, WindowUsage] = {}
    for name, length, limit in limits.windows():
        used = sum(1 for t in stamps if now - length < t <= now)
        usage[name] = WindowUsage(used=used, left=max(0, limit - used), limit=limit)
    return usage


def _pace_allows(times: Sequence[datetime], now: datetime, limits: QuotaLimits) -> bool:
    """Spread the daily quota over the day (GCRA): one request per day/per_day on average,
    with bursts of up to `per_minute`. Without it a greedy client spends the whole day's quota
    in its first hours and then sees nothing for the rest of the day."""
    interval = _DAY / limits.per_day
    tolerance = interval * (limits.per_minute - 1)
    theoretical: datetime | None = None
    for t in sorted(times):
        theoretical = max(theoretical or t, t) + interval
    return theoretical is None or theoretical - now <= tolerance


def admit_request(
    times: Sequence[datetime],
    now: datetime,
    limits: QuotaLimits,
    *,
    not_before: datetime | None = None,
    pace: bool = True,
) -> bool:
    """May one more request be made at `now`, given the request `times` of the last day?

    No when a Retry-After (`not_before`) has not passed, when any rolling window is full, or
    (with `pace`) when the request would spend the daily quota faster than evenly.
    """
    if not_before is not None and now < not_before:
        return False
    if any(u.left <= 0 for u in quota_usage(times, now, limits).values()):
        return False
    return not pace or _pace_allows(times, now, limits)


class MemoryGate:
    """A `RequestGate` kept in memory (one process), with the same rules as the ledger's."""

    def __init__(self, limits: QuotaLimits, clock: Clock, *, pace: bool = True) -> None:
        self.limits = limits
        self.clock = clock
        self.pace = pace
        self.times: list[datetime] = []
        self.not_before: datetime | None = None
        self._lock = threading.Lock()

    def acquire(self, path: str) -> bool:
        """Admit and record one request, or refuse."""
        with self._lock:
            now = self.clock()
            self.times = [t for t in self.times if t > now - _DAY]
            if not admit_request(
                self.times, now, self.limits, not_before=self.not_before, pace=self.pace
            ):
                return False
            self.times.append(now)
            return True

    def defer(self, until: datetime) -> None:
        """Refuse every request before `until`."""
        with self._lock:
            self.not_before = max(until, self.not_before or until)


class QuotaDeferred(DeferredError):
    """The request budget (or a Retry-After) defers this target to a later round.

    Not a failure of the source: the core should stop the round and not count it.
    """
