"""The rule table and the triggers docket entries start."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from monitor.deadlines.calendar import compute
from monitor.deadlines.rules import Rule, builtin_rules, load_rules
from monitor.deadlines.triggers import match_triggers, rule_applies, service_dates
from monitor.errors import ConfigError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "deadlines"
TRIGGER_CASES: list[dict[str, Any]] = json.loads((FIXTURES / "triggers.json").read_text())

#: every row of the table in deadline-rules.md: citation -> (period, unit)
DOC_TABLE = {
    "FRCP 12(a)(1)(A)(i)": (21, "calendar_days"),
    "FRCP 12(a)(2)": (60, "calendar_days"),
    "FRCP 12(a)(3)": (60, "calendar_days"),
    "FRCP 12(a)(4)(A)": (14, "calendar_days"),
    "5 U.S.C. 552(a)(4)(C)": (30, "calendar_days"),
    "FRCP 4(m)": (90, "calendar_days"),
    "FRCP 15(a)(1)(B)": (21, "calendar_days"),
    "D.D.C. LCvR 7(b)": (14, "calendar_days"),
    "D.D.C. LCvR 7(d)": (7, "calendar_days"),
    "FRAP 4(a)(1)(B)": (60, "calendar_days"),
    "FRAP 21(b)": (None, "calendar_days"),
    "5 U.S.C. 552(a)(6)(A)(i)": (20, "working_days"),
    "5 U.S.C. 552(a)(6)(B)(i)": (10, "working_days"),
    "5 U.S.C. 552(a)(6)(A)(ii)": (20, "working_days"),
    "8 U.S.C. 1447(b)": (120, "calendar_days"),
}


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "edny-local-6-1", "citation": "E.D.N.Y. Local Civ. R. 6.1(b)",
        "trigger": "service of a motion", "period": 14, "unit": "calendar_days",
        "label": "Opposition due", "trigger_date": "entry",
        "applies": {"courts": ["nyed"]}, "patterns": ["^\\s*MOTION\\b"],
    }
    base.update(overrides)
    return base


def test_builtin_table_is_the_documented_one() -> None:
    rules = builtin_rules()
    assert {r.citation: (r.period, r.unit) for r in rules} == DOC_TABLE
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert all(r.label and r.trigger for r in rules)
    assert next(r for r in rules if r.id == "ina-1447b").semantics == "end_of_agency_period"
    known = set(ids)
    assert all(set(r.overrides) <= known for r in rules)


def test_operator_rows_add_and_replace() -> None:
    rules = load_rules([row(), row(id="dcd-lcvr7b", period=21)])
    by_id = {r.id: r for r in rules}
    assert by_id["edny-local-6-1"].applies.courts == ("nyed",)
    assert by_id["dcd-lcvr7b"].period == 21
    assert len(rules) == len(builtin_rules()) + 1


@pytest.mark.parametrize(("bad", "key"), [
    ({"unit": "fortnights"}, "deadline_rule[0].unit"),
    ({"period": -2}, "deadline_rule[0].period"),
    ({"period": "fourteen"}, "deadline_rule[0].period"),
    ({"patterns": ["(unclosed"]}, "deadline_rule[0].patterns[0]"),
    ({"colour": "red"}, "deadline_rule[0].colour"),
    ({"applies": {"judges": ["x"]}}, "deadline_rule[0].applies.judges"),
    ({"direction": "sideways"}, "deadline_rule[0].direction"),
    ({"id": ""}, "deadline_rule[0].id"),
    ({"overrides": ["no-such-rule"]}, "deadline_rule[0].overrides"),
    ({"trigger_date": "whenever"}, "deadline_rule[0].trigger_date"),
])
def test_invalid_operator_rows_name_the_key(bad: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_rules([row(**bad)])
    assert exc.value.key == key
    assert key in str(exc.value)


def test_missing_period_needs_a_days_group() -> None:
    raw = row()
    del raw["period"]
    with pytest.raises(ConfigError, match="period"):
        load_rules([raw])
    raw["patterns"] = [r"within (?P<days>\d+) days"]
    assert load_rules([raw])[-1].period is None


def test_duplicate_operator_ids_are_an_error() -> None:
    with pytest.raises(ConfigError, match="duplicate"):
        load_rules([row(), row()])


# ------------------------------------------------------------------------------ triggers


@pytest.mark.parametrize("case", TRIGGER_CASES, ids=[c["name"] for c in TRIGGER_CASES])
def test_trigger_fixture(case: dict[str, Any]) -> None:
    found = match_triggers(case["text"], court=case["court"],
                           nature_of_suit=case["nature_of_suit"],
                           entry_date=date.fromisoformat(case["entry_date"]),
                           rules=load_rules())
    got = sorted(({"rule": t.rule.id, "trigger_date": t.trigger_date.isoformat(),
                   "estimated": t.trigger_estimated, "period": t.period} for t in found),
                 key=lambda d: str(d["rule"]))
    assert got == sorted(case["expected"], key=lambda d: str(d["rule"]))


def test_service_date_phrasings() -> None:
    assert service_dates("USCIS served on 3/14/2025") == [date(2025, 3, 14)]
    assert service_dates("Executed on 3/14/2025") == [date(2025, 3, 14)]
    assert service_dates("Sheriff served 3/14/2025") == [date(2025, 3, 14)]
    assert service_dates("Date of Service Upon United States Attorney on 3/14/2025") == [
        date(2025, 3, 14)]
    assert service_dates("Filed on 3/14/2025. Entered: 03/15/2025") == []


def test_earliest_service_date_starts_the_clock() -> None:
    text = ("SUMMONS Returned Executed as to United States Attorney served on 3/20/2025; "
            "Attorney General served on 3/14/2025.")
    [trigger] = match_triggers(text, court="dcd", nature_of_suit="890",
                               entry_date=date(2025, 3, 21), rules=load_rules())
    assert trigger.trigger_date == date(2025, 3, 14)


def test_known_parties_veto_and_unknown_parties_do_not() -> None:
    rule = next(r for r in builtin_rules() if r.id == "frap-4a1B")
    assert rule_applies(rule, court="dcd", nature_of_suit="", parties=None)
    assert rule_applies(rule, court="dcd", nature_of_suit="", parties={"us_party"})
    assert not rule_applies(rule, court="dcd", nature_of_suit="", parties={"private"})
    assert not rule_applies(rule, court="cadc", nature_of_suit="", parties=None)  # appellate


def test_foia_override_needs_the_nature_of_suit() -> None:
    text = "SUMMONS Returned Executed as to U.S. Attorney. Executed on 3/3/2025."
    ids = {t.rule.id for t in match_triggers(text, court="dcd", nature_of_suit="",
                                             entry_date=date(2025, 3, 4), rules=load_rules())}
    assert ids == {"frcp-12a2"}


def test_operator_rule_triggers_in_its_court() -> None:
    rules = load_rules([row()])
    found = match_triggers("MOTION to Compel by Jane Doe", court="nyed", nature_of_suit="",
                           entry_date=date(2025, 6, 2), rules=rules)
    assert [t.rule.id for t in found] == ["edny-local-6-1"]


def test_trigger_feeds_the_calendar() -> None:
    [trigger] = match_triggers(TRIGGER_CASES[0]["text"], court="dcd", nature_of_suit="890",
                               entry_date=date(2025, 3, 17), rules=load_rules())
    rule: Rule = trigger.rule
    result = compute(trigger.trigger_date, trigger.period, rule.unit, rule.direction,
                     state="DC", timezone="America/New_York")
    # Fri 2025-03-14 + 60 = Tue 2025-05-13 (open), as the clerk computed in the same entry
    assert result.due == date(2025, 5, 13)
