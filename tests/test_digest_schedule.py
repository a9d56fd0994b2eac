"""When a subscription's messages may go (pure): digest moments daily and weekly in the
subscription's own zone across DST changes, quiet hours, urgent kinds; and the config keys."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.alerts.schedule import (
    digest_cutoff,
    is_urgent,
    local_moment,
    quiet_ended,
    quiet_until,
)
from monitor.config import SubscriptionConfig, load_config
from monitor.errors import ConfigError

CHICAGO = "America/Chicago"


def _sub(**kwargs: object) -> SubscriptionConfig:
    return SubscriptionConfig.model_validate({"name": "s", "urls": ["console://"], **kwargs})


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------- digests


def test_daily_digest_follows_the_local_clock_across_spring_forward() -> None:
    """2026-03-08: Chicago goes from CST (UTC-6) to CDT (UTC-5) at 02:00."""
    sub = _sub(mode="digest", digest_at="07:00")
    # Saturday 07:00 CST is 13:00 UTC; Sunday 07:00 CDT is 12:00 UTC.
    assert digest_cutoff(sub, _utc(2026, 3, 7, 13, 0), CHICAGO) == _utc(2026, 3, 7, 13, 0)
    assert digest_cutoff(sub, _utc(2026, 3, 8, 11, 59), CHICAGO) == _utc(2026, 3, 7, 13, 0)
    assert digest_cutoff(sub, _utc(2026, 3, 8, 12, 0), CHICAGO) == _utc(2026, 3, 8, 12, 0)
    assert digest_cutoff(sub, _utc(2026, 3, 9, 11, 59), CHICAGO) == _utc(2026, 3, 8, 12, 0)


def test_daily_digest_follows_the_local_clock_across_fall_back() -> None:
    """2026-11-01: Chicago goes from CDT back to CST at 02:00."""
    sub = _sub(mode="digest", digest_at="07:00", timezone=CHICAGO)
    assert digest_cutoff(sub, _utc(2026, 10, 31, 12, 0), CHICAGO) == _utc(2026, 10, 31, 12, 0)
    assert digest_cutoff(sub, _utc(2026, 11, 1, 12, 30), CHICAGO) == _utc(2026, 10, 31, 12, 0)
    assert digest_cutoff(sub, _utc(2026, 11, 1, 13, 0), CHICAGO) == _utc(2026, 11, 1, 13, 0)


def test_one_digest_moment_per_day_whatever_the_dst_change() -> None:
    """Walking minute by minute over both 2026 changes, the cutoff moves once per local day,
    always to 07:00 on the wall clock (a skipped or doubled digest would show here)."""
    sub = _sub(mode="digest", digest_at="07:00")
    for start in (_utc(2026, 3, 6, 0, 0), _utc(2026, 10, 30, 0, 0)):
        moments = {digest_cutoff(sub, start + timedelta(minutes=m), CHICAGO)
                   for m in range(0, 4 * 24 * 60, 7)}
        local = sorted(m.astimezone(ZoneInfo(CHICAGO)) for m in moments)
        assert all(m.time() == time(7, 0) for m in local)
        days = [m.date() for m in local]
        assert len(days) == len(set(days)) == 5  # the day before the walk, and four more


def test_digest_at_in_the_gap_and_in_the_repeated_hour() -> None:
    zone = ZoneInfo(CHICAGO)
    # 02:30 does not exist on 2026-03-08: read with CST it is 08:30 UTC (03:30 CDT).
    assert local_moment(datetime(2026, 3, 8).date(), time(2, 30), zone) == _utc(2026, 3, 8, 8, 30)
    # 01:30 happens twice on 2026-11-01: the first (CDT) is 06:30 UTC.
    assert local_moment(datetime(2026, 11, 1).date(), time(1, 30), zone) == _utc(2026, 11, 1, 6, 30)
    sub = _sub(mode="digest", digest_at="02:30")
    assert digest_cutoff(sub, _utc(2026, 3, 8, 8, 29), CHICAGO) == _utc(2026, 3, 7, 8, 30)
    assert digest_cutoff(sub, _utc(2026, 3, 8, 8, 30), CHICAGO) == _utc(2026, 3, 8, 8, 30)


def test_weekly_digest_goes_on_its_day_only() -> None:
    sub = _sub(mode="digest", digest="weekly", digest_day="Monday", digest_at="07:00")
    assert sub.digest_day == "monday"
    monday = _utc(2026, 3, 9, 12, 0)  # Monday 07:00 CDT
    assert digest_cutoff(sub, monday, CHICAGO) == monday
    # The whole week after, the cutoff stays on that Monday; the one before is a week earlier
    # (07:00 CST then: 13:00 UTC).
    for hours in range(0, 7 * 24, 5):
        assert digest_cutoff(sub, monday + timedelta(hours=hours), CHICAGO) == monday
    assert digest_cutoff(sub, monday - timedelta(minutes=1), CHICAGO) == _utc(2026, 3, 2, 13, 0)
    friday = _sub(mode="digest", digest="weekly", digest_day="friday", digest_at="16:30")
    assert digest_cutoff(friday, monday, CHICAGO) == _utc(2026, 3, 6, 22, 30)


# ---------------------------------------------------------------------------- quiet hours


def test_quiet_hours_wrapping_midnight_in_the_subscription_zone() -> None:
    sub = _sub(quiet_hours="22:00-07:00", timezone=CHICAGO)
    assert sub.quiet_hours == (time(22, 0), time(7, 0))
    # 21:59 CST (03:59 UTC) is not quiet; 22:00 is, until 07:00 CST the next day (13:00 UTC).
    assert quiet_until(sub, _utc(2026, 3, 3, 3, 59), CHICAGO) is None
    assert quiet_until(sub, _utc(2026, 3, 3, 4, 0), CHICAGO) == _utc(2026, 3, 3, 13, 0)
    assert quiet_until(sub, _utc(2026, 3, 3, 12, 59), CHICAGO) == _utc(2026, 3, 3, 13, 0)
    assert quiet_until(sub, _utc(2026, 3, 3, 13, 0), CHICAGO) is None
    # The night of the spring-forward change ends at 07:00 CDT (12:00 UTC).
    assert quiet_until(sub, _utc(2026, 3, 8, 5, 0), CHICAGO) == _utc(2026, 3, 8, 12, 0)
    assert quiet_until(sub, _utc(2026, 3, 8, 12, 0), CHICAGO) is None


def test_quiet_hours_within_one_day() -> None:
    sub = _sub(quiet_hours="12:00-13:30")
    assert quiet_until(sub, _utc(2026, 3, 3, 11, 59), "UTC") is None
    assert quiet_until(sub, _utc(2026, 3, 3, 12, 0), "UTC") == _utc(2026, 3, 3, 13, 30)
    assert quiet_until(sub, _utc(2026, 3, 3, 13, 30), "UTC") is None
    assert quiet_until(_sub(), _utc(2026, 3, 3, 12, 0), "UTC") is None


# ---------------------------------------------------------------------------- urgent kinds


def test_urgent_kinds_by_default_and_configured() -> None:
    sub = _sub()
    assert is_urgent(sub, "deadline.overdue", {})
    assert is_urgent(sub, "deadline.unverified", {})
    assert is_urgent(sub, "deadline.due_soon", {"days_left": 0})
    assert not is_urgent(sub, "deadline.due_soon", {"days_left": 1})
    assert not is_urgent(sub, "entry.added", {})
    wider = _sub(urgent=["deadline.due_soon", "matter.*"], urgent_due_within=3)
    assert is_urgent(wider, "deadline.due_soon", {"days_left": 3})
    assert is_urgent(wider, "matter.escalated", {})
    assert not is_urgent(wider, "deadline.overdue", {})
    assert not is_urgent(_sub(urgent=[]), "deadline.overdue", {})


# ---------------------------------------------------------------------------- config


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[[subscription]]\nname = "s"\nurls = ["console://"]\n{body}\n')
    return path


def test_config_keys_load(tmp_path: Path) -> None:
    path = _write(tmp_path, 'mode = "digest"\ndigest = "weekly"\ndigest_day = "friday"\n'
                            'digest_at = 16:30:00\ntimezone = "America/Chicago"\n'
                            'quiet_hours = "22:00-07:00"\nurgent = ["deadline.overdue"]\n')
    (sub,) = load_config(str(path), {}).subscriptions
    assert (sub.digest, sub.digest_day, sub.digest_at) == ("weekly", "friday", time(16, 30))
    assert sub.timezone == CHICAGO and sub.quiet_hours == (time(22, 0), time(7, 0))
    assert sub.urgent == ["deadline.overdue"]
    (plain,) = load_config(str(_write(tmp_path, 'timezone = ""')), {}).subscriptions
    assert plain.timezone == "" and plain.digest == "daily" and plain.quiet_hours is None


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ('timezone = "America/Chicgo"', "subscription[0].timezone", "unknown time zone"),
        ('timezone = "CST+6"', "subscription[0].timezone", "unknown time zone"),
        ('quiet_hours = "22-7"', "subscription[0].quiet_hours", "22:00-07:00"),
        ('quiet_hours = "25:00-07:00"', "subscription[0].quiet_hours", "time of day"),
        ('quiet_hours = "07:00-07:00"', "subscription[0].quiet_hours", "empty"),
        ('digest = "hourly"', "subscription[0].digest", "daily"),
        ('digest_day = "someday"', "subscription[0].digest_day", "monday"),
        ("urgent_due_within = -1", "subscription[0].urgent_due_within", "0"),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path: Path, body: str, key: str,
                                              expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(str(path), {})
    message = str(info.value)
    assert str(path) in message and f"{key}:" in message and expected in message


def test_quiet_ended_is_the_latest_end_at_or_before_now() -> None:
    sub = _sub(quiet_hours="22:00-07:00")
    assert quiet_ended(sub, _utc(2026, 3, 3, 6, 59), "UTC") == _utc(2026, 3, 2, 7, 0)
    assert quiet_ended(sub, _utc(2026, 3, 3, 7, 0), "UTC") == _utc(2026, 3, 3, 7, 0)
    assert quiet_ended(_sub(), _utc(2026, 3, 3, 7, 0), "UTC") is None
