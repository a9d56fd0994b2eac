"""When each tracked docket is due for a check, and in what order (pure).

A source with a daily request budget cannot check every docket every round. Each tracked docket
gets a share of the daily checks weighted by how near its next deadline is (`deadline_weight`),
which gives it a minimum interval between checks (`sync_interval`). `split_due` sorts the
tracked cases into those due now, in priority order (deadline nearest first, then fresh activity
newest first, then the rest least recently synced first), and those not yet due, nearest to due
first, which a source may check early with budget nothing due wanted.

A docket whose news CourtListener pushes (a live docket alert: `pushed`) is only the safety
net's concern: it is checked once a day (`PUSH_SAFETY_INTERVAL`), or as any other docket when
a deadline is near (`PUSH_NEAR_DEADLINE`) and no push came for a day, or when RSS saw activity
that no push followed within `PUSH_GRACE`. Its daily check is taken off the budget the others
share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sources.base import QuotaLimits, TrackedCase

__all__ = [
    "PUSH_GRACE",
    "PUSH_NEAR_DEADLINE",
    "PUSH_SAFETY_INTERVAL",
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
#: a docket with a live push subscription is still checked this often (the safety net)
PUSH_SAFETY_INTERVAL = timedelta(days=1)
#: a deadline this near with no push for a day: the docket is polled as if it had no alert
PUSH_NEAR_DEADLINE = timedelta(days=3)
#: activity seen elsewhere (RSS) that no push followed within this long makes a docket due
PUSH_GRACE = timedelta(hours=1)

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
    tracked: Sequence[TrackedCase], now: datetime, checks_per_day: float,
    pushed: frozenset[int] = frozenset(),
) -> tuple[list[TrackedCase], list[TrackedCase]]:
    """(due in priority order, not yet due with the nearest to due first).

    The not-due tail is checked early only with budget no due target wanted (the gate's
    pacing decides), so the daily quota is used rather than left idle. Dockets in `pushed`
    (CourtListener ids with a live docket alert) follow the safety net's rules (module doc).
    """
    today = now.date()
    safety = {id(c) for c in tracked if c.cl_docket_id in pushed and not _push_missing(c, now)}
    polled = [c for c in tracked if id(c) not in safety]
    weights = {id(c): deadline_weight(c.next_due, today) for c in polled}
    total = sum(weights.values())
    per_day = max(1.0, checks_per_day - len(safety))
    due: list[TrackedCase] = []
    spare: list[tuple[float, TrackedCase]] = []
    for case in tracked:
        if id(case) in safety:
            interval = PUSH_SAFETY_INTERVAL
            is_due = _push_due(case, now)
        else:
            interval = sync_interval(weights[id(case)], total, per_day)
            is_due = _is_due(case, now, interval)
        if is_due:
            due.append(case)
        elif case.last_synced is not None and id(case) not in safety:
            spare.append(((now - case.last_synced) / interval, case))
    due.sort(key=_priority)
    spare.sort(key=lambda pair: -pair[0])
    return due, [case for _, case in spare]


def _push_missing(case: TrackedCase, now: datetime) -> bool:
    """A deadline is near and no push came for a day: poll it as if it had no alert."""
    near = case.next_due is not None and case.next_due <= (now + PUSH_NEAR_DEADLINE).date()
    quiet = case.last_push is None or now - case.last_push >= PUSH_SAFETY_INTERVAL
    return near and quiet


def _push_due(case: TrackedCase, now: datetime) -> bool:
    """A pushed docket is due when never synced, after a day, or when activity seen elsewhere
    was not followed by a push within `PUSH_GRACE`."""
    if case.last_synced is None or now - case.last_synced >= PUSH_SAFETY_INTERVAL:
        return True
    activity = case.last_activity
    if activity is None or not _is_fresh(case):
        return False
    unpushed = case.last_push is None or case.last_push < activity
    return unpushed and now - activity >= PUSH_GRACE


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
