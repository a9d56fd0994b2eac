"""Invariants of the counting engine on any date 2020-2035 (hypothesis).

The engine's own calendar decides which days are closed; the properties check what the counting
does with them (open result, minimal roll, exact counts, 6(d) after the roll). The federal holiday
set itself is checked against an independent construction of 5 U.S.C. 6103(a) below, so that
`holidays` is never its own oracle.
"""

from __future__ import annotations

import calendar as stdcal
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.deadlines.calendar import Calendar, compute, federal_holiday

DAY = timedelta(days=1)
PROPS = settings(deadline=None, max_examples=300)

triggers = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
periods = st.integers(min_value=0, max_value=400)
states = st.sampled_from([None, "DC", "TX", "FL", "GA", "VA", "NC", "SC", "NY"])
closure_offsets = st.lists(st.integers(min_value=-3, max_value=6), max_size=4)


# ------------------------------------------------------------------ an independent oracle


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of the month (n = -1: the last)."""
    days = [d for d in range(1, stdcal.monthrange(year, month)[1] + 1)
            if date(year, month, d).weekday() == weekday]
    return date(year, month, days[n if n < 0 else n - 1])


def _observed(day: date) -> date:
    """5 U.S.C. 6103(b) / EO 11582: Saturday -> Friday before, Sunday -> Monday after."""
    return day - DAY if day.weekday() == 5 else day + DAY if day.weekday() == 6 else day


def federal_observed_days(year: int) -> set[date]:
    """The weekdays federal offices observe a 6103(a) holiday in `year`, built from the statute."""
    days: set[date] = set()
    for y in (year, year + 1):  # New Year's Day of next year may be observed on Dec 31
        fixed = [date(y, 1, 1), date(y, 7, 4), date(y, 11, 11), date(y, 12, 25)]
        if y >= 2021:
            fixed.append(date(y, 6, 19))
        days |= {_observed(d) for d in fixed}
        days |= {
            _nth_weekday(y, 1, 0, 3), _nth_weekday(y, 2, 0, 3), _nth_weekday(y, 5, 0, -1),
            _nth_weekday(y, 9, 0, 1), _nth_weekday(y, 10, 0, 2), _nth_weekday(y, 11, 3, 4),
        }
    return {d for d in days if d.year == year}


def test_federal_calendar_matches_the_statute_2020_2035() -> None:
    for year in range(2020, 2036):
        engine = {date(year, 1, 1) + k * DAY for k in range(366)
                  if (date(year, 1, 1) + k * DAY).year == year}
        engine = {d for d in engine if d.weekday() < 5 and federal_holiday(d)}
        assert engine == federal_observed_days(year), year


# ------------------------------------------------------------------------------ properties


@PROPS
@given(triggers, periods, states, closure_offsets)
def test_forward_days_land_on_the_first_open_day(
        trigger: date, period: int, state: str | None, offsets: list[int]) -> None:
    unrolled = trigger + period * DAY
    closures = frozenset(unrolled + k * DAY for k in offsets)
    result = compute(trigger, period, state=state, closures=closures)
    cal = Calendar(state=state, closures=closures)
    assert isinstance(result.due, date)
    assert result.due >= unrolled
    assert cal.blocked(result.due, forward=True) is None
    day = unrolled
    while day < result.due:  # minimal roll: everything skipped was closed
        assert cal.blocked(day, forward=True) is not None
        day += DAY


@PROPS
@given(triggers, periods, states)
def test_backward_days_land_on_the_last_open_day(
        trigger: date, period: int, state: str | None) -> None:
    unrolled = trigger - period * DAY
    result = compute(trigger, period, direction="before", service="n/a", state=state)
    federal = Calendar()  # state holidays never count backward
    assert isinstance(result.due, date)
    assert result.due <= unrolled
    assert federal.closed_reason(result.due, forward=False) is None
    day = unrolled
    while day > result.due:
        assert federal.closed_reason(day, forward=False) is not None
        day -= DAY


@PROPS
@given(triggers, periods, closure_offsets)
def test_backward_count_onto_a_closed_office_moves_forward(
        trigger: date, period: int, offsets: list[int]) -> None:
    plain = compute(trigger, period, direction="before", service="n/a").due
    assert isinstance(plain, date)
    closures = frozenset(plain + k * DAY for k in offsets)
    result = compute(trigger, period, direction="before", service="n/a", closures=closures)
    assert isinstance(result.due, date)
    cal = Calendar(closures=closures)
    assert cal.blocked(result.due, forward=False) is None and result.due not in closures
    if plain in closures:
        assert result.due > plain
        day = plain
        while day < result.due:
            assert cal.blocked(day, forward=True) is not None
            day += DAY
    else:
        assert result.due == plain


@PROPS
@given(triggers, st.integers(min_value=0, max_value=60))
def test_working_days_count_exactly_n_open_days(trigger: date, period: int) -> None:
    result = compute(trigger, period, "working_days", service="n/a")
    assert isinstance(result.due, date)
    open_days = 0
    day = trigger + DAY
    while day <= result.due:
        if day.weekday() < 5 and federal_holiday(day) is None:
            open_days += 1
        day += DAY
    assert open_days == period
    if period:
        assert result.due.weekday() < 5 and federal_holiday(result.due) is None


@PROPS
@given(triggers, st.integers(min_value=1, max_value=120), states,
       st.sampled_from(["mail", "clerk", "other-consented"]))
def test_three_days_are_added_after_the_roll(
        trigger: date, period: int, state: str | None, service: str) -> None:
    def roll(day: date) -> date:
        rolled = compute(day, 0, state=state).due
        assert isinstance(rolled, date)
        return rolled

    result = compute(trigger, period, service=service, state=state)  # type: ignore[arg-type]
    assert result.due == roll(roll(trigger + period * DAY) + 3 * DAY)
    naive = roll(trigger + (period + 3) * DAY)
    if naive != result.due:  # the other reading is shown, never silently used
        assert any(alt.due == naive for alt in result.alternatives)


@PROPS
@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
       st.integers(min_value=0, max_value=24 * 30),
       st.sampled_from(["UTC", "America/New_York", "America/Chicago", "America/Denver"]))
def test_hours_count_every_hour_then_roll_to_the_same_time(
        start: datetime, hours: int, zone: str) -> None:
    result = compute(start, hours, "hours", timezone=zone)
    assert isinstance(result.due, datetime)
    local = start.replace(tzinfo=result.due.tzinfo)
    end = (local.astimezone(UTC) + timedelta(hours=hours)).astimezone(result.due.tzinfo)
    assert Calendar().blocked(result.due.date(), forward=True) is None
    if Calendar().blocked(end.date(), forward=True) is None:
        assert result.due == end  # every hour counts, nothing rounded
    else:
        assert result.due.date() > end.date()
        assert (result.due.hour, result.due.minute) == (end.hour, end.minute) or (
            result.due.utcoffset() != end.utcoffset())  # a DST gap moves a wall time
        day = end.date()
        while day < result.due.date():
            assert Calendar().blocked(day, forward=True) is not None
            day += DAY


@PROPS
@given(triggers, periods)
def test_alternatives_differ_and_say_which_side(trigger: date, period: int) -> None:
    result = compute(trigger, period, state="DC")
    for alt in result.alternatives:
        assert alt.due != result.due
        assert alt.earlier == (alt.due < result.due)
