"""When a subscription's messages may go: digest moments, quiet hours, urgent kinds (pure).

Every time of day is a wall-clock time in the subscription's own zone (`timezone`, else the
`[deadlines] timezone` the caller passes): a daily digest at 07:00 in America/Chicago goes at
07:00 there in winter and in summer. Moments are computed on local calendar days and compared
in UTC, so a DST change neither skips nor doubles a digest: a `digest_at` that does not exist
that day (02:30 on the spring-forward day) is read with the offset before the jump (03:30), and
one that happens twice (01:30 on the fall-back day) goes at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from fnmatch import fnmatchcase
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import SubscriptionConfig

__all__ = [
    "WEEKDAYS",
    "digest_cutoff",
    "digest_period",
    "is_urgent",
    "local_moment",
    "next_digest",
    "quiet_ended",
    "quiet_until",
    "subscription_zone",
]


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def subscription_zone(sub: SubscriptionConfig, default: str) -> str:
    """The IANA zone a subscription's times are read in: its own `timezone`, else `default`."""
    return sub.timezone or default


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant when the wall clock of `zone` shows `at` on `day` (PEP 495, fold=0).

    A time in a spring-forward gap is read with the offset before the jump (02:30 on the day
    America/Chicago skips 02:00-03:00 is 03:30 there); a repeated time (fall back) is its first
    occurrence.
    """
    return _utc(datetime.combine(day, at).replace(tzinfo=zone, fold=0))


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def digest_cutoff(sub: SubscriptionConfig, now: datetime, zone: str) -> datetime:
    """The latest digest moment at or before `now`, in UTC.

    Daily: `digest_at` (local time in `zone`) on each day. Weekly (`digest = "weekly"`): on
    `digest_day` only. Deliveries created up to this moment belong to the digest it starts.
    """
    tz = ZoneInfo(zone)
    at = _utc(now)
    today = at.astimezone(tz).date()
    weekday = WEEKDAYS.index(sub.digest_day)
    for back in range(0, 9):
        day = today - timedelta(days=back)
        if sub.digest == "weekly" and day.weekday() != weekday:
            continue
        moment = local_moment(day, sub.digest_at, tz)
        if moment <= at:
            return moment
    raise AssertionError("unreachable: a week always holds a digest day")  # pragma: no cover


def digest_period(sub: SubscriptionConfig, cutoff: datetime, zone: str) -> str:
    """How a digest names itself: `daily digest, Tue 2026-03-03 07:00 America/Chicago`."""
    local = _utc(cutoff).astimezone(ZoneInfo(zone))
    return f"{sub.digest} digest, {local:%a %Y-%m-%d %H:%M} {zone}"


def next_digest(sub: SubscriptionConfig, after: datetime, zone: str) -> datetime:
    """The first digest moment at or after `after`, in UTC (when a delivery created at `after`
    starts to be due)."""
    tz = ZoneInfo(zone)
    at = _utc(after)
    first = at.astimezone(tz).date()
    weekday = WEEKDAYS.index(sub.digest_day)
    for ahead in range(0, 9):
        day = first + timedelta(days=ahead)
        if sub.digest == "weekly" and day.weekday() != weekday:
            continue
        moment = local_moment(day, sub.digest_at, tz)
        if moment >= at:
            return moment
    raise AssertionError("unreachable: a week always holds a digest day")  # pragma: no cover


def quiet_until(sub: SubscriptionConfig, now: datetime, zone: str) -> datetime | None:
    """When the quiet period `now` falls in ends (UTC), or None outside quiet hours.

    `quiet_hours = "22:00-07:00"` is read in `zone`; a period that wraps midnight runs from the
    evening to the next morning.
    """
    if sub.quiet_hours is None:
        return None
    start, end = sub.quiet_hours
    tz = ZoneInfo(zone)
    at = _utc(now)
    local = at.astimezone(tz)
    wall, today = local.time().replace(tzinfo=None), local.date()
    if start < end:
        inside = start <= wall < end
        end_day = today
    else:
        inside = wall >= start or wall < end
        end_day = today + timedelta(days=1) if wall >= start else today
    if not inside:
        return None
    until = local_moment(end_day, end, tz)
    return until if until > at else None


def quiet_ended(sub: SubscriptionConfig, now: datetime, zone: str) -> datetime | None:
    """When the latest quiet period ended at or before `now` (UTC); None without quiet hours."""
    if sub.quiet_hours is None:
        return None
    tz = ZoneInfo(zone)
    at = _utc(now)
    today = at.astimezone(tz).date()
    for back in range(0, 3):
        moment = local_moment(today - timedelta(days=back), sub.quiet_hours[1], tz)
        if moment <= at:
            return moment
    raise AssertionError("unreachable: a quiet period ends every day")  # pragma: no cover


def is_urgent(sub: SubscriptionConfig, kind: str, data: Mapping[str, Any]) -> bool:
    """Whether an event goes at once whatever the subscription's mode and quiet hours.

    Urgent kinds are `urgent` (globs on the event kind); a `deadline.due_soon` among them is
    urgent only when the deadline is due within `urgent_due_within` days (0: due today).
    """
    if not any(fnmatchcase(kind, glob) for glob in sub.urgent):
        return False
    if kind == "deadline.due_soon":
        days_left = data.get("days_left")
        return isinstance(days_left, int) and days_left <= sub.urgent_due_within
    return True
