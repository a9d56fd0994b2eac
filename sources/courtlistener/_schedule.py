"""When each tracked docket is due for a check, and in what order (pure).

A source with a daily request budget cannot check every docket every round. Each tracked docket
gets a share of the daily checks weighted by how near its next deadline is (`deadline_weight`),
which gives it a minimum interval between checks (`sync_interval`). `split_due` sorts the
tracked cases into those due now, in priority order (deadline nearest first, then fresh activity
newest first, then the rest least recently synced first), and those not yet due, nearest to due
first, which a source may check early with budget nothing due wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sources.base import QuotaLimits, TrackedCase

__all__ = [
    "MAX_SYNC_INTERVAL",
    "MIN_SYNC_INTERVAL",
    "SYNC_SHARE",
    "daily_checks",
    "deadline_weight",
    "split_due",
    "sync_interval",
]

#: bounds of the interval between two checks of one docket
MIN_SYNC_INTERVAL = timedelta(minutes=20)
MAX_SYNC_INTERVAL = timedelta(days=7)
#: share of the daily quota planned for docket checks (the rest: entries, lookups, slack)
SYNC_SHARE = 0.85

_DAY = timedelta(days=1)


def deadline_weight(next_due: date | None, today: date) -> float:
    """How much of the budget a docket deserves, by the nearness of its next deadline."""
    if next_due is None:
        return 1.0
    days = (next_due - today).days
    if days < 0:
        return 8.0
    if days <= 3:
        return 24.0
    if days <= 7:
        return 8.0
    if days <= 14:
        return 4.0
    if days <= 30:
        return 2.0
    return 1.0


def sync_interval(weight: float, total_weight: float, checks_per_day: float) -> timedelta:
    """The interval between checks of one docket: its weighted share of the daily checks."""
    if weight <= 0 or total_weight <= 0 or checks_per_day <= 0:
        return MAX_SYNC_INTERVAL
    share = checks_per_day * weight / total_weight
    return min(MAX_SYNC_INTERVAL, max(MIN_SYNC_INTERVAL, _DAY / share))


def daily_checks(limits: QuotaLimits, other_requests_per_day: float) -> float:
    """Docket checks the budget plans per day: its sync share, less the other requests
    (discovery) planned per day; at least one."""
    return max(1.0, limits.per_day * SYNC_SHARE - other_requests_per_day)


def split_due(
    tracked: Sequence[TrackedCase], now: datetime, checks_per_day: float
) -> tuple[list[TrackedCase], list[TrackedCase]]:
    """(due in priority order, not yet due with the nearest to due first).

    The not-due tail is checked early only with budget no due target wanted (the gate's
    pacing decides), so the daily quota is used rather than left idle.
    """
    today = now.date()
    weights = {id(c): deadline_weight(c.next_due, today) for c in tracked}
    total = sum(weights.values())
    due: list[TrackedCase] = []
    spare: list[tuple[float, TrackedCase]] = []
    for case in tracked:
        interval = sync_interval(weights[id(case)], total, checks_per_day)
        if _is_due(case, now, interval):
            due.append(case)
        elif case.last_synced is not None:
            spare.append(((now - case.last_synced) / interval, case))
    due.sort(key=_priority)
    spare.sort(key=lambda pair: -pair[0])
    return due, [case for _, case in spare]


def _is_fresh(case: TrackedCase) -> bool:
    return case.last_activity is not None and (
        case.last_synced is None or case.last_activity > case.last_synced
    )


def _priority(case: TrackedCase) -> tuple[int, float]:
    """Sort key: deadline (nearest first), fresh activity (newest first), rest (oldest sync)."""
    if case.next_due is not None:
        return (1, float(case.next_due.toordinal()))
    if _is_fresh(case) and case.last_activity is not None:
        return (2, -case.last_activity.timestamp())
    synced = case.last_synced.timestamp() if case.last_synced else float("-inf")
    return (3, synced)


def _is_due(case: TrackedCase, now: datetime, interval: timedelta) -> bool:
    return case.last_synced is None or _is_fresh(case) or now - case.last_synced >= interval
