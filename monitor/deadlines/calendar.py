"""Pure deadline counting under FRCP 6(a), 6(d) (FRAP 26(a) counts the same way) and FOIA.

One entry point, `compute`, turns a trigger (a date, or a date-time for hours), a period and a
unit into a `Computation`: the due date (or date-time), every step of the reasoning in words, and
the alternatives where the law is read two ways (an executive-order closure counted as a holiday,
6(d) naively added to the period, a state holiday that only some would count).

The calendar (`deadline-rules.md`):
- legal holidays are the federal days of 5 U.S.C. 6103(a) on their observed days (`holidays.US`),
  plus, for periods counted forward only, the holidays of the court's state (6(a)(6)(C));
- executive-order closures (the `holidays` GOVERNMENT category minus the public days) are not
  counted, but produce the alternative;
- days the clerk's office was inaccessible are input and always roll forward (6(a)(3)).

Holiday tables are built per year from the year before through the year after (the Friday
observance of a Saturday New Year's Day lies in the previous year) and cached, so only the first
call of a year pays for `holidays`. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import DeadlineError

__all__ = [
    "THREE_DAY_SERVICE",
    "Alternative",
    "Calendar",
    "Computation",
    "Direction",
    "ServiceMethod",
    "Unit",
    "compute",
    "executive_closure",
    "federal_holiday",
    "fmt_day",
    "state_holiday",
]

Unit = Literal["calendar_days", "hours", "working_days"]
Direction = Literal["after", "before"]
ServiceMethod = Literal["personal", "electronic", "mail", "clerk", "other-consented"]

#: Rule 5(b)(2)(C), (D), (F): the service methods that earn 6(d)'s three extra days.
THREE_DAY_SERVICE: frozenset[str] = frozenset({"mail", "clerk", "other-consented"})

_UNITS: tuple[str, ...] = get_args(Unit)
_DIRECTIONS: tuple[str, ...] = get_args(Direction)
_SERVICES: tuple[str, ...] = get_args(ServiceMethod)
_ONE_DAY = timedelta(days=1)


# ------------------------------------------------------------------------------ value objects


@dataclass(frozen=True)
class Alternative:
    """Another reading of the law and the due date it gives; `earlier` is relative to `due`."""

    due: date | datetime
    reading: str
    earlier: bool

    def to_json(self) -> dict[str, object]:
        """The `calc --json` shape: {"due", "reading", "earlier"}."""
        return {"due": self.due.isoformat(), "reading": self.reading, "earlier": self.earlier}


@dataclass(frozen=True)
class Computation:
    """A computed deadline: `due` (a date, or an aware date-time for hours), its steps in words,
    the alternatives (earlier ones first) and the court's time zone, where the day ends."""

    due: date | datetime
    steps: tuple[str, ...]
    alternatives: tuple[Alternative, ...] = ()
    timezone: str = "UTC"

    @property
    def alternative(self) -> Alternative | None:
        """The alternative worth showing first (an earlier one wins: it is the safe one)."""
        return self.alternatives[0] if self.alternatives else None

    def to_json(self) -> dict[str, object]:
        """Exactly the `calc --json` contract: {"due", "alternative", "steps"}."""
        alt = self.alternative
        return {
            "due": self.due.isoformat(),
            "alternative": alt.to_json() if alt else None,
            "steps": list(self.steps),
        }


@dataclass(frozen=True)
class Calendar:
    """Which days are closed: weekends, federal holidays, the state's (forward counts only),
    optionally executive-order closures, and days the clerk's office was inaccessible."""

    state: str | None = None
    closures: frozenset[date] = field(default_factory=frozenset)
    executive_closures_are_holidays: bool = False

    def closed_reason(self, day: date, *, forward: bool) -> str | None:
        """Why `day` is a Saturday, Sunday or legal holiday (6(a)(6)), or None when it is not."""
        if day.weekday() >= 5:
            return f"a {day:%A}"
        name = federal_holiday(day)
        if name:
            return name
        if forward and self.state:
            name = state_holiday(day, self.state)
            if name:
                return f"{name} ({self.state} holiday, 6(a)(6)(C))"
        if self.executive_closures_are_holidays:
            name = executive_closure(day)
            if name:
                return f"{name} (executive-order closure)"
        return None

    def blocked(self, day: date, *, forward: bool) -> str | None:
        """`closed_reason`, or the clerk's office being inaccessible that day (6(a)(3))."""
        reason = self.closed_reason(day, forward=forward)
        if reason is None and day in self.closures:
            return "a day the clerk's office was inaccessible (6(a)(3))"
        return reason


# ------------------------------------------------------------------------------ holiday tables


@lru_cache(maxsize=512)
def _year_table(year: int, state: str | None, category: str) -> dict[date, str]:
    """The holidays that fall in `year`, built from year-1 .. year+1 (observed days cross years)."""
    import holidays  # lazy: `calc --help` and imports of this module stay fast

    years = range(year - 1, year + 2)
    if category == "government":
        table = holidays.country_holidays("US", years=years, categories=("government",))
    else:
        table = holidays.country_holidays("US", years=years, subdiv=state)
    return {day: str(name) for day, name in table.items() if day.year == year}


def federal_holiday(day: date) -> str | None:
    """The 5 U.S.C. 6103(a) holiday observed on `day` (name as `holidays` gives it), or None."""
    return _year_table(day.year, None, "public").get(day)


def state_holiday(day: date, state: str) -> str | None:
    """A holiday of `state` (two letters, "DC" too) on `day` that is not a federal one, or None."""
    if federal_holiday(day):
        return None
    return _year_table(day.year, state.upper(), "public").get(day)


def executive_closure(day: date) -> str | None:
    """An executive-order closure of federal offices on `day` that is not a 6103(a) holiday."""
    if federal_holiday(day):
        return None
    return _year_table(day.year, None, "government").get(day)


# ------------------------------------------------------------------------------ formatting


def fmt_day(day: date) -> str:
    """`Thu 2026-03-26`."""
    return f"{day:%a} {day.isoformat()}"


def _fmt_moment(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M} {moment.tzname()}"


def _fmt(value: date | datetime) -> str:
    return _fmt_moment(value) if isinstance(value, datetime) else fmt_day(value)


def _roll_step(notes: list[str], result: date | datetime, rule: str) -> str:
    return "; ".join(notes) + f" -> {_fmt(result)} ({rule})"


# ------------------------------------------------------------------------------ rolling


def _roll(day: date, cal: Calendar, *, step: int, forward: bool) -> tuple[date, list[str]]:
    """Move by `step` days until a day is open; `forward` says whether the count is forward
    (state holidays and clerk closures in play), the notes name each day passed over."""
    notes: list[str] = []
    while True:
        reason = cal.blocked(day, forward=True) if forward else cal.closed_reason(
            day, forward=False)
        if reason is None:
            return day, notes
        notes.append(f"{fmt_day(day)} is {reason}")
        day += step * _ONE_DAY


def _roll_after(day: date, cal: Calendar, rule: str) -> tuple[date, list[str]]:
    """6(a)(1)(C)/(3): on to the next open, accessible day."""
    rolled, notes = _roll(day, cal, step=1, forward=True)
    if any("clerk's office" in note for note in notes):
        rule = "6(a)(3)(A): first accessible day"
    return rolled, [_roll_step(notes, rolled, rule)] if notes else []


def _roll_before(day: date, cal: Calendar) -> tuple[date, list[str]]:
    """6(a)(5): back to the previous open day; then 6(a)(3), forward if the office was closed."""
    rolled, notes = _roll(day, cal, step=-1, forward=False)
    steps = [_roll_step(notes, rolled, "6(a)(5): counted backward")] if notes else []
    if rolled in cal.closures:
        back_cal = replace(cal, state=None)
        accessible, notes = _roll(rolled, back_cal, step=1, forward=True)
        steps.append(_roll_step(notes, accessible, "6(a)(3): always forward"))
        rolled = accessible
    return rolled, steps


# ------------------------------------------------------------------------------ counting


def _count_days(trigger: date, period: int, direction: Direction, cal: Calendar
                ) -> tuple[date, list[str]]:
    """6(a)(1) and 6(a)(5): calendar days, trigger day excluded, last day included, then roll."""
    sign = 1 if direction == "after" else -1
    end = trigger + sign * period * _ONE_DAY
    op = "+" if sign > 0 else "-"
    steps = [f"{fmt_day(trigger)} {op} {period} days = {fmt_day(end)}"]
    if direction == "after":
        due, more = _roll_after(end, cal, "6(a)(1)(C)")
    else:
        due, more = _roll_before(end, cal)
    return due, steps + more


def _count_hours(trigger: datetime, period: int, direction: Direction, cal: Calendar
                 ) -> tuple[datetime, list[str]]:
    """6(a)(2): every hour counts; ending on a closed day runs to the same time on the next
    open day (the previous one when counting backward)."""
    zone = trigger.tzinfo
    sign = 1 if direction == "after" else -1
    end = (trigger.astimezone(UTC) + sign * timedelta(hours=period)).astimezone(zone)
    op = "+" if sign > 0 else "-"
    steps = [f"{_fmt_moment(trigger)} {op} {period} hours = {_fmt_moment(end)}"]
    if direction == "after":
        day, more = _roll_after(end.date(), cal, "6(a)(2)(C): same time, next open day")
    else:
        day, more = _roll_before(end.date(), cal)
    if day != end.date():
        end = _at_same_time(day, end)
    return end, steps + more


def _at_same_time(day: date, moment: datetime) -> datetime:
    """`moment`'s wall-clock time on `day`, normalized through UTC (DST gaps move forward)."""
    local = datetime.combine(day, time(moment.hour, moment.minute, moment.second), moment.tzinfo)
    return local.astimezone(UTC).astimezone(moment.tzinfo)


def _count_working_days(trigger: date, period: int, direction: Direction, cal: Calendar
                        ) -> tuple[date, list[str]]:
    """5 U.S.C. 552(a)(6): count only days that are not Saturday, Sunday or a legal public
    holiday; the day of receipt is not counted. State holidays and clerk closures play no part."""
    step = 1 if direction == "after" else -1
    day, counted, skipped = trigger, 0, []
    while counted < period:
        day += step * _ONE_DAY
        reason = cal.closed_reason(day, forward=False)
        if reason is None:
            counted += 1
        elif day.weekday() < 5:
            skipped.append(f"{fmt_day(day)} ({reason})")
    word = "after" if step > 0 else "before"
    steps = [f"{period} working days {word} {fmt_day(trigger)} (receipt day not counted, "
             f"Saturdays, Sundays and legal public holidays skipped) = {fmt_day(day)}"]
    if skipped:
        steps.append("holidays skipped: " + ", ".join(skipped))
    return day, steps


def _add_service_days(due: date | datetime, cal: Calendar, service: str
                      ) -> tuple[date | datetime, list[str]]:
    """6(d): three days added after the 6(a) period (and its roll) ends, then roll again."""
    plus = due + 3 * _ONE_DAY
    steps = [f"6(d) service by {service}: {_fmt(due)} + 3 days = {_fmt(plus)}"]
    day = plus.date() if isinstance(plus, datetime) else plus
    rolled, more = _roll_after(day, cal, "6(a)(1)(C) after 6(d)")
    if rolled == day:
        return plus, steps
    result = _at_same_time(rolled, plus) if isinstance(plus, datetime) else rolled
    return result, steps + more


# ------------------------------------------------------------------------------ entry point


@dataclass(frozen=True)
class _Request:
    trigger: date | datetime
    period: int
    unit: Unit
    direction: Direction
    service: str


def _count(req: _Request, cal: Calendar) -> tuple[date | datetime, list[str]]:
    due: date | datetime
    if req.unit == "hours":
        assert isinstance(req.trigger, datetime)
        due, steps = _count_hours(req.trigger, req.period, req.direction, cal)
    elif req.unit == "working_days":
        assert not isinstance(req.trigger, datetime)
        due, steps = _count_working_days(req.trigger, req.period, req.direction, cal)
    else:
        assert not isinstance(req.trigger, datetime)
        due, steps = _count_days(req.trigger, req.period, req.direction, cal)
    if req.service in THREE_DAY_SERVICE:
        due, more = _add_service_days(due, cal, req.service)
        steps += more
    return due, steps


def _alternatives(req: _Request, cal: Calendar, due: date | datetime) -> tuple[Alternative, ...]:
    """Other readings of the law, kept only when they give another date; earlier ones first."""
    readings: list[tuple[str, _Request, Calendar]] = [
        ("executive-order closure counted as a 6(a)(6)(B) holiday", req,
         replace(cal, executive_closures_are_holidays=True)),
    ]
    if req.service in THREE_DAY_SERVICE:
        extra = 72 if req.unit == "hours" else 3
        naive = replace(req, period=req.period + extra, service="electronic")
        unit = "hours" if req.unit == "hours" else "calendar days"
        readings.append((f"naive trigger + {naive.period} {unit} (6(d) added to the period; "
                         "conservative but not the rule)", naive, cal))
    if cal.state and req.direction == "after" and req.unit != "working_days":
        readings.append((f"{cal.state} state holidays not counted (federal calendar only)",
                         req, replace(cal, state=None)))
    found: list[Alternative] = []
    for reading, other_req, other_cal in readings:
        other_due, _ = _count(other_req, other_cal)
        if other_due != due:
            found.append(Alternative(other_due, reading, earlier=other_due < due))
    return tuple(sorted(found, key=lambda alt: not alt.earlier))


def _executive_note(due: date | datetime) -> list[str]:
    """Say so when the due day is an executive-order closure the main count did not honour."""
    day = due.date() if isinstance(due, datetime) else due
    name = executive_closure(day)
    if name is None or day.weekday() >= 5:
        return []
    return [f"{fmt_day(day)}: federal offices closed by executive order ({name}); not a "
            "5 U.S.C. 6103(a) holiday, so not counted here (see the alternative)"]


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DeadlineError(f"unknown time zone {timezone!r}") from exc


def _state(state: str | None) -> str | None:
    if not state:
        return None
    import holidays

    code = state.strip().upper()
    if code not in holidays.list_supported_countries()["US"]:
        raise DeadlineError(f"unknown state {state!r} for holidays")
    return code


def _normalize_trigger(trigger: date | datetime, unit: str, zone: ZoneInfo) -> date | datetime:
    if unit == "hours":
        if not isinstance(trigger, datetime):
            raise DeadlineError("a count in hours needs a date-time trigger, not a date")
        return trigger.replace(tzinfo=zone) if trigger.tzinfo is None else trigger.astimezone(zone)
    if isinstance(trigger, datetime):
        return (trigger.astimezone(zone) if trigger.tzinfo else trigger).date()
    return trigger


def _validate(period: int, unit: str, direction: str, service: str) -> None:
    if isinstance(period, bool) or not isinstance(period, int) or period < 0:
        raise DeadlineError(f"period must be a whole number >= 0, got {period!r}")
    if unit not in _UNITS:
        raise DeadlineError(f"unit must be one of {', '.join(_UNITS)}, got {unit!r}")
    if direction not in _DIRECTIONS:
        raise DeadlineError(f"direction must be 'after' or 'before', got {direction!r}")
    if service not in _SERVICES and service != "n/a":
        raise DeadlineError(f"service must be one of {', '.join(_SERVICES)}, got {service!r}")
    if service in THREE_DAY_SERVICE and (direction == "before" or unit == "working_days"):
        raise DeadlineError("6(d) adds days only to periods counted after service, "
                            "not to backward or working-day counts")


def compute(
    trigger: date | datetime,
    period: int,
    unit: Unit = "calendar_days",
    direction: Direction = "after",
    service: ServiceMethod | Literal["n/a"] = "electronic",
    state: str | None = None,
    closures: Iterable[date] = (),
    timezone: str = "UTC",
) -> Computation:
    """Compute a deadline under FRCP 6(a)/6(d) or FOIA working days.

    `trigger` is the event (a date; an aware or court-local naive date-time for hours); `state`
    adds that state's holidays to forward counts; `closures` are days the clerk's office was
    inaccessible; `timezone` is the court's. Raises DeadlineError on input the rules cannot count.
    """
    _validate(period, unit, direction, service)
    zone = _zone(timezone)
    req = _Request(_normalize_trigger(trigger, unit, zone), period, unit, direction, service)
    cal = Calendar(state=_state(state), closures=frozenset(closures))
    try:
        due, steps = _count(req, cal)
        alternatives = _alternatives(req, cal, due)
        steps += _executive_note(due)
    except OverflowError as exc:
        raise DeadlineError(f"period of {period} {unit} runs off the calendar") from exc
    return Computation(due, tuple(steps), alternatives, timezone)
