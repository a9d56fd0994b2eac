"""Which rules a docket entry starts, and from what date.

A clock triggered by service runs from the service date written in the entry ("served on
3/14/2025", "Executed on 3/14/2025", "Date of Service Upon United States Attorney on 3/14/2025");
when the entry gives none it runs from the entry's date and says `trigger_estimated`. Clocks
triggered by the entry itself (a motion served through CM/ECF, a judgment) run from its date.
Pure: text and facts in, triggers out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from monitor.deadlines.extract import DATE_PATTERN, parse_date
from monitor.deadlines.rules import Rule
from sources.courts import COURTS

__all__ = ["Trigger", "match_triggers", "rule_applies", "service_dates"]

_SERVICE_DATE = re.compile(
    r"\b(?:served|executed|date\s+of\s+service(?:\s+upon\s+[^.;]{1,80}?)?"
    r"|service\s+(?:was\s+)?(?:made|effected|accepted|completed))"
    rf"\s+(?:on\s+|(?:upon|as\s+to)\s+[^.;]{{1,80}}?\s+on\s+)?(?P<date>{DATE_PATTERN})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Trigger:
    """A rule an entry starts: its clock runs `period` `rule.unit` from `trigger_date`."""

    rule: Rule
    trigger_date: date
    period: int
    trigger_estimated: bool = False
    matched: str = ""


def service_dates(text: str) -> list[date]:
    """Every service date written in `text`, in order ("served on 3/14/2025" -> 2025-03-14)."""
    found = (parse_date(m.group("date")) for m in _SERVICE_DATE.finditer(text))
    return [day for day in found if day is not None]


def _court_level(court: str) -> str | None:
    known = COURTS.get(court)
    return known.level if known else None


def rule_applies(rule: Rule, *, court: str, nature_of_suit: str,
                 parties: Collection[str] | None = None) -> bool:
    """Whether `rule` can apply to a case in `court` with this nature of suit and parties.

    An unknown court level or unknown parties never veto; a rule restricted to some nature of
    suit needs the case's code (the FOIA answer period must not displace 12(a)(2) on a guess).
    """
    applies = rule.applies
    if applies.courts and court.lower() not in applies.courts:
        return False
    level = _court_level(court.lower())
    if applies.levels and level is not None and level not in applies.levels:
        return False
    if applies.nature_of_suit and nature_of_suit.strip() not in applies.nature_of_suit:
        return False
    return not (applies.parties and parties is not None
                and not set(applies.parties) & set(parties))


def _match(rule: Rule, text: str) -> re.Match[str] | None:
    if any(p.search(text) for p in rule.compiled_exclude):
        return None
    return next((m for m in (p.search(text) for p in rule.compiled) if m), None)


def _period(rule: Rule, match: re.Match[str]) -> int | None:
    if rule.period is not None:
        return rule.period
    days = match.groupdict().get("days")
    return int(days) if days else None


def _trigger_date(rule: Rule, text: str, entry_date: date) -> tuple[date, bool]:
    if rule.trigger_date == "entry":
        return entry_date, False
    served = [day for day in service_dates(text) if day <= entry_date]
    # several service dates (agency, U.S. attorney, Attorney General): the earliest is the safe one
    return (min(served), False) if served else (entry_date, True)


def match_triggers(entry_text: str, *, court: str, nature_of_suit: str, entry_date: date,
                   rules: Iterable[Rule], parties: Collection[str] | None = None
                   ) -> list[Trigger]:
    """The rules `entry_text` starts in this case, each with its trigger date and period.

    `parties` ("us_defendant", "us_party", "foia", ...) when known; None means unknown.
    A matched rule that another matched rule `overrides` is dropped (FOIA's 30 days over 12(a)(2)).
    """
    matched: list[Trigger] = []
    for rule in rules:
        if not rule.patterns or not rule_applies(
                rule, court=court, nature_of_suit=nature_of_suit, parties=parties):
            continue
        match = _match(rule, entry_text)
        period = _period(rule, match) if match else None
        if match is None or period is None:
            continue
        day, estimated = _trigger_date(rule, entry_text, entry_date)
        matched.append(Trigger(rule, day, period, estimated, match.group(0)[:200]))
    displaced = {rid for trigger in matched for rid in trigger.rule.overrides}
    return [trigger for trigger in matched if trigger.rule.id not in displaced]
