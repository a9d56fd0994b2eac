"""The counting engine against the worked examples and known calendar facts."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.deadlines.calendar import (
    Calendar,
    compute,
    executive_closure,
    federal_holiday,
    state_holiday,
)
from monitor.errors import DeadlineError
from tests.conftest import CORPUS

EXAMPLES_PATH = (CORPUS.parent if CORPUS else Path(__file__).resolve().parents[2] / "shared"
                 ) / "deadline-examples.json"


def load_examples() -> list[dict[str, Any]]:
    if not EXAMPLES_PATH.is_file():
        return []
    examples: list[dict[str, Any]] = json.loads(EXAMPLES_PATH.read_text())
    return examples


def example_args(ex: dict[str, Any]) -> dict[str, Any]:
    """The compute() arguments a worked example describes."""
    trigger: date | datetime = (datetime.fromisoformat(ex["trigger_date"]) if ex["unit"] == "hours"
                                else date.fromisoformat(ex["trigger_date"]))
    return {
        "trigger": trigger,
        "period": ex["period"],
        "unit": ex["unit"],
        "direction": ex["direction"],
        "service": ex["service_method"],
        "state": "DC" if "DC" in ex["holiday_calendar"] else None,
        "closures": [date.fromisoformat(d) for d in ex.get("inaccessible_dates", [])],
    }


EXAMPLES = load_examples()


@pytest.mark.skipif(not EXAMPLES, reason="shared/deadline-examples.json absent")
@pytest.mark.parametrize("ex", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_worked_example(ex: dict[str, Any]) -> None:
    result = compute(**example_args(ex))
    assert result.due.isoformat().startswith(ex["expected_due"])
    if "alt_expected_due" in ex:
        assert result.alternative is not None
        assert result.alternative.due.isoformat().startswith(ex["alt_expected_due"])
        assert result.alternative.earlier == (ex["alt_expected_due"] < ex["expected_due"])
    else:
        assert result.alternative is None
    assert result.steps and all(isinstance(step, str) and step for step in result.steps)


def test_steps_read_like_the_explanation() -> None:
    result = compute(date(2026, 3, 26), 60)
    assert result.steps == (
        "Thu 2026-03-26 + 60 days = Mon 2026-05-25",
        "Mon 2026-05-25 is Memorial Day -> Tue 2026-05-26 (6(a)(1)(C))",
    )


# ------------------------------------------------------------------------------ holidays


@pytest.mark.parametrize(("day", "is_holiday"), [
    (date(2020, 6, 19), False),  # Juneteenth became a federal holiday in 2021
    (date(2021, 6, 18), True),   # first observance: Saturday 6/19 observed Friday
    (date(2022, 6, 20), True),   # Sunday 6/19 observed Monday
    (date(2021, 12, 31), True),  # New Year's Day 2022 (Saturday) observed Friday 2021-12-31
    (date(2026, 7, 3), True),    # Independence Day observed
    (date(2025, 11, 28), False),  # day after Thanksgiving: not a 6103(a) holiday
    (date(2024, 12, 24), False),  # executive-order closure, not a 6103(a) holiday
])
def test_known_federal_days(day: date, is_holiday: bool) -> None:
    assert (federal_holiday(day) is not None) == is_holiday


def test_juneteenth_counts_only_from_2021() -> None:
    assert compute(date(2020, 6, 5), 14).due == date(2020, 6, 19)
    assert compute(date(2021, 6, 4), 14).due == date(2021, 6, 21)  # Fri obs., Sat, Sun
    assert compute(date(2023, 6, 5), 14).due == date(2023, 6, 20)


def test_new_years_day_2022_observed_on_friday_before() -> None:
    result = compute(date(2021, 12, 17), 14)
    assert result.due == date(2022, 1, 3)
    assert "New Year's Day (observed)" in result.steps[1]


def test_dc_emancipation_day_only_forward_and_only_for_dc() -> None:
    assert state_holiday(date(2026, 4, 16), "DC") is not None
    assert compute(date(2026, 4, 2), 14, state="DC").due == date(2026, 4, 17)
    assert compute(date(2026, 4, 2), 14).due == date(2026, 4, 16)        # federal only
    assert compute(date(2026, 4, 2), 14, state="TX").due == date(2026, 4, 16)
    assert compute(date(2026, 4, 23), 7, "calendar_days", "before", "n/a",
                   state="DC").due == date(2026, 4, 16)                   # backward: federal
    assert compute(date(2026, 4, 15), 1, "working_days", state="DC").due == date(2026, 4, 16)


def test_state_holiday_result_offers_the_federal_only_date_as_earlier_alternative() -> None:
    result = compute(date(2026, 4, 2), 14, state="DC")
    assert result.alternative is not None
    assert result.alternative.due == date(2026, 4, 16) and result.alternative.earlier


@pytest.mark.parametrize(("trigger", "due", "alternative"), [
    (date(2024, 12, 10), date(2024, 12, 24), date(2024, 12, 26)),
    (date(2024, 12, 26), date(2025, 1, 9), date(2025, 1, 10)),    # Carter day of mourning
    (date(2025, 12, 10), date(2025, 12, 24), date(2025, 12, 29)),  # 24, 25, 26, weekend
])
def test_executive_order_closures_are_the_later_alternative(
        trigger: date, due: date, alternative: date) -> None:
    assert executive_closure(due) is not None
    result = compute(trigger, 14)
    assert result.due == due
    assert result.alternative is not None
    assert result.alternative.due == alternative and not result.alternative.earlier
    assert "executive order" in result.steps[-1]


def test_executive_closure_of_2025_12_26_is_known() -> None:
    assert executive_closure(date(2025, 12, 26)) is not None
    assert federal_holiday(date(2025, 12, 26)) is None


# ------------------------------------------------------------------------------ counting


def test_backward_count_lands_on_closed_office_rolls_forward() -> None:
    # Mon 9/14 - 7 = Mon 9/7 Labor Day -> back to Fri 9/4; office closed Fri -> forward past
    # the weekend and Labor Day to Tue 9/8 (6(a)(3) always moves forward)
    result = compute(date(2026, 9, 14), 7, direction="before", service="n/a",
                     closures=[date(2026, 9, 4)])
    assert result.due == date(2026, 9, 8)
    assert "6(a)(3)" in result.steps[-1]


def test_forward_count_over_closure_and_holiday() -> None:
    result = compute(date(2026, 5, 11), 14, closures=[date(2026, 5, 25), date(2026, 5, 26)])
    # Mon 5/25 Memorial Day and closed; Tue 5/26 closed -> Wed 5/27
    assert result.due == date(2026, 5, 27)


@pytest.mark.parametrize("service", ["electronic", "personal"])
def test_no_three_days_for_electronic_or_personal_service(service: str) -> None:
    assert compute(date(2026, 6, 12), 21, service=service).due == date(2026, 7, 6)  # type: ignore[arg-type]


@pytest.mark.parametrize("service", ["mail", "clerk", "other-consented"])
def test_three_days_after_the_roll(service: str) -> None:
    result = compute(date(2026, 6, 12), 21, service=service)  # type: ignore[arg-type]
    assert result.due == date(2026, 7, 9)
    assert any(step.startswith("6(d)") for step in result.steps)


def test_three_days_rolled_again_when_they_land_on_a_weekend() -> None:
    # Wed 2026-03-04 + 14 = Wed 3/18 (open); + 3 = Sat 3/21 -> Mon 3/23
    assert compute(date(2026, 3, 4), 14, service="mail").due == date(2026, 3, 23)


def test_hours_in_the_court_zone_across_daylight_saving() -> None:
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 7, 12, 0, tzinfo=zone)  # Sat noon EST
    result = compute(start, 24, "hours", timezone="America/New_York")
    assert isinstance(result.due, datetime)
    # 24 elapsed hours = Sun 13:00 EDT; Sunday -> same time Monday
    assert result.due == datetime(2026, 3, 9, 13, 0, tzinfo=zone)
    assert result.due.utcoffset() == timedelta(hours=-4)


def test_hours_naive_input_is_read_in_the_given_zone() -> None:
    result = compute(datetime(2026, 5, 15, 10, 23), 72, "hours", timezone="America/Chicago")
    assert result.due == datetime(2026, 5, 18, 10, 23, tzinfo=ZoneInfo("America/Chicago"))


def test_hours_ending_on_a_holiday_run_to_the_same_time_next_open_day() -> None:
    result = compute(datetime(2026, 5, 22, 9, 30), 72, "hours")  # Fri + 72h = Mon Memorial Day
    assert result.due == datetime(2026, 5, 26, 9, 30, tzinfo=ZoneInfo("UTC"))


def test_working_days_skip_federal_holidays_only() -> None:
    # Fri 2025-11-28 (day after Thanksgiving) counts
    assert compute(date(2025, 11, 26), 1, "working_days").due == date(2025, 11, 28)
    assert compute(date(2025, 11, 26), 2, "working_days").due == date(2025, 12, 1)


def test_zero_days_rolls_the_trigger_itself() -> None:
    assert compute(date(2026, 5, 25), 0).due == date(2026, 5, 26)


@pytest.mark.parametrize("kwargs", [
    {"trigger": date(2026, 5, 15), "period": 72, "unit": "hours"},
    {"trigger": date(2026, 5, 15), "period": -1},
    {"trigger": date(2026, 5, 15), "period": 7, "direction": "before", "service": "mail"},
    {"trigger": date(2026, 5, 15), "period": 20, "unit": "working_days", "service": "mail"},
    {"trigger": date(2026, 5, 15), "period": 7, "state": "ZZ"},
    {"trigger": date(2026, 5, 15), "period": 7, "timezone": "Mars/Olympus"},
    {"trigger": date(2026, 5, 15), "period": 7, "unit": "fortnights"},
    {"trigger": date(2026, 5, 15), "period": 7, "service": "pigeon"},
])
def test_bad_input_raises_deadline_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(DeadlineError):
        compute(**kwargs)


def test_calendar_closed_reason_names_the_day() -> None:
    cal = Calendar(state="DC", closures=frozenset({date(2026, 1, 27)}))
    assert cal.closed_reason(date(2026, 1, 19), forward=True) == "Martin Luther King Jr. Day"
    assert cal.closed_reason(date(2026, 4, 16), forward=False) is None
    assert cal.blocked(date(2026, 1, 27), forward=True) is not None
    assert cal.closed_reason(date(2026, 1, 27), forward=True) is None


def test_compute_is_fast_after_the_first_call() -> None:
    compute(date(2027, 1, 4), 30, state="TX")
    start = time.perf_counter()
    for offset in range(500):
        compute(date(2027, 1, 4) + timedelta(days=offset % 300), 30 + offset % 60, state="TX")
    assert time.perf_counter() - start < 1.0
