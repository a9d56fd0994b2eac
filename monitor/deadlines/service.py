"""Deadlines in the database: derived from docket events, set by hand, reminded, marked met.

- `make_deadline_listener(config)`: a Store listener; every `entry.added` is read for court-set
  dates (they outrank computed ones; both are kept and shown) and for rule triggers (computed
  with the court's calendar, zone and clerk's-office closures).
- `upsert_deadline`: one row per deadline key; a new one is `deadline.set`, a moved one
  `deadline.changed` (SEQUENCE raised so calendars update the same event).
- `run_reminders(now)`: `deadline.due_soon` at the configured lead days (at `remind_at` local
  time), `deadline.overdue` once the day has passed in the deadline's zone, matter escalation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from monitor.config import Config
from monitor.db import write_session
from monitor.models import Case, Deadline, Event
from monitor.store import EventListener, emit

__all__ = [
    "DeadlineSpec",
    "make_deadline_listener",
    "mark_deadline",
    "run_reminders",
    "upsert_deadline",
]

log = logging.getLogger(__name__)

_US_PARTY = re.compile(
    r"(?i)\bunited states\b|\bU\.\s?S\.A?\b|\bUSA\b|\bUSCIS\b|citizenship and immigration|"
    r"homeland security|immigration and customs|\bsecretary\b|\bdirector\b|\battorney general\b|"
    r"\bdepartment of\b"
)


@dataclass(frozen=True)
class DeadlineSpec:
    """What a deadline should be; `key` is its identity across recomputations."""

    key: str
    subject: str
    label: str
    due_date: date
    origin: str  # court-set | computed | manual
    case_id: int | None = None
    matter_id: str | None = None
    rule_id: str = ""
    citation: str = ""
    due_at: datetime | None = None
    timezone: str = "UTC"
    trigger_date: date | None = None
    trigger_text: str = ""
    trigger_estimated: bool = False
    steps: tuple[str, ...] = ()
    alternative: dict[str, Any] | None = None
    computed_due: date | None = None
    private: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _deadline_data(d: Deadline, **extra: Any) -> dict[str, Any]:
    return {
        "deadline_id": d.id,
        "key": d.key,
        "deadline_key": d.key,
        "rule_id": d.rule_id,
        "label": d.label,
        "rule": d.rule_id,
        "citation": d.citation,
        "origin": d.origin,
        "due": d.due_at.isoformat() if d.due_at else d.due_date.isoformat(),
        "due_date": d.due_date.isoformat(),
        "timezone": d.timezone,
        "trigger_date": d.trigger_date.isoformat() if d.trigger_date else None,
        "trigger_estimated": d.trigger_estimated,
        "computed_due": d.computed_due.isoformat() if d.computed_due else None,
        "steps": list(d.steps),
        "alternative": d.alternative,
        "matter": d.matter_id,
        **extra,
    }


def _case_fields(session: Session, case_id: int | None) -> dict[str, Any]:
    if case_id is None:
        return {}
    case = session.get(Case, case_id)
    if case is None:
        return {}
    return {"court": case.court, "docket_number": case.docket_number,
            "case_name": case.case_name, "tags": list(case.tags)}


def upsert_deadline(session: Session, listeners: Sequence[EventListener], spec: DeadlineSpec,
                    *, now: datetime, source_id: str = "") -> Event | None:
    """Create or move a deadline; emit `deadline.set` or `deadline.changed`."""
    row = session.exec(select(Deadline).where(Deadline.key == spec.key)).first()
    before: date | None = None
    if row is None:
        row = Deadline(key=spec.key, subject=spec.subject, due_date=spec.due_date,
                       created_at=now, updated_at=now)
        kind = "deadline.set"
    else:
        if (row.due_date == spec.due_date and row.due_at == spec.due_at
                and row.state in ("open", "overdue")):
            return None
        if row.state in ("met", "vacated") and row.due_date == spec.due_date:
            return None
        before = row.due_date
        kind = "deadline.changed"
        row.sequence += 1
        row.reminders_sent = []
        row.state = "open"
    for name in ("subject", "label", "due_date", "origin", "case_id", "matter_id", "rule_id",
                 "citation", "due_at", "timezone", "trigger_date", "trigger_text",
                 "trigger_estimated", "alternative", "computed_due", "private"):
        setattr(row, name, getattr(spec, name))
    row.steps = list(spec.steps)
    row.updated_at = now
    session.add(row)
    session.flush()
    data = {**_case_fields(session, spec.case_id), **_deadline_data(row), **spec.extra}
    if before is not None:
        data["before"] = before.isoformat()
    verb = "set" if kind == "deadline.set" else f"moved from {before} to"
    return emit(
        session, listeners, kind=kind, at=now, subject=spec.subject,
        summary=f"{spec.label} {verb} {spec.due_date.isoformat()}"
        + (f" ({spec.citation})" if spec.citation else ""),
        dedupe_key=f"{kind}:{spec.key}:{spec.due_date.isoformat()}:{row.sequence}",
        data=data, case_id=spec.case_id, matter_id=spec.matter_id, source_id=source_id,
        private=spec.private,
    )


def mark_deadline(engine: Engine, listeners: Sequence[EventListener], deadline_id: int,
                  state: str, *, now: datetime) -> Deadline | None:
    """`deadline met|vacate`: close a deadline and emit `deadline.met` / `deadline.vacated`."""
    kind = {"met": "deadline.met", "vacated": "deadline.vacated"}[state]
    with write_session(engine) as session:
        row = session.get(Deadline, deadline_id)
        if row is None:
            return None
        row.state, row.updated_at = state, now
        session.add(row)
        emit(session, listeners, kind=kind, at=now, subject=row.subject,
             summary=f"{row.label} ({row.due_date.isoformat()}) {state}",
             dedupe_key=f"{kind}:{row.key}:{row.sequence}",
             data={**_case_fields(session, row.case_id), **_deadline_data(row)},
             case_id=row.case_id, matter_id=row.matter_id, private=row.private)
        return row


# ---------------------------------------------------------------------------- derivation


@lru_cache(maxsize=8)
def _rules(extra_key: str) -> list[Any]:
    import json

    from monitor.deadlines.rules import load_rules

    return load_rules(json.loads(extra_key) if extra_key else None)


def _label_word(label: str) -> str:
    words = re.findall(r"[a-z]+", label.lower())
    return words[0] if words else ""


def make_deadline_listener(config: Config) -> EventListener:
    """A Store listener deriving deadlines from each new docket entry."""
    import json

    extra_key = json.dumps(list(config.deadline_rules), default=str, sort_keys=True)
    closures = {court: tuple(days) for court, days in config.deadlines.closures.items()}

    def listener(session: Session, event: Event) -> None:
        if event.kind != "entry.added" or event.case_id is None:
            return
        case = session.get(Case, event.case_id)
        if case is None:
            return
        chain: Sequence[EventListener] = session.info.get("listeners", ())
        known = {
            _label_word(d.label): (d.due_date, d.citation)
            for d in session.exec(select(Deadline).where(
                Deadline.case_id == case.id, Deadline.origin == "computed",
                Deadline.state.in_(["open", "overdue"]))).all()  # type: ignore[attr-defined]
        }
        for spec in derive_from_entry(case, event, _rules(extra_key),
                                      closures.get(case.court, ()), known):
            upsert_deadline(session, chain, spec, now=event.at, source_id=event.source_id)

    return listener


def _entry_text(data: dict[str, Any]) -> str:
    short, long = data.get("short_description") or "", data.get("description") or ""
    if short and short in long:
        return long
    return " ".join(part for part in (short, long) if part)


def derive_from_entry(case: Case, event: Event, rules: Sequence[Any],
                      closures: Sequence[date],
                      known: dict[str, tuple[date, str]] | None = None) -> list[DeadlineSpec]:
    """Court-set dates and rule-computed deadlines an entry starts (pure but for the rules).

    `known` maps a label word ("answer", "opposition") to an open computed deadline of the case
    (due, citation), so a court-set date names the computed one it outranks.
    """
    from monitor.deadlines.calendar import compute
    from monitor.deadlines.extract import extract_court_dates
    from monitor.deadlines.triggers import match_triggers
    from sources.courts import COURTS

    data = event.data or {}
    text = _entry_text(data)
    entry_day = date.fromisoformat(data["date_filed"]) if data.get("date_filed") else \
        event.at.date()
    court = COURTS.get(case.court)
    zone = court.timezone if court else "America/New_York"
    subject = f"{case.court}:{case.docket_number}"
    today = event.at.astimezone(ZoneInfo(zone)).date()
    specs: list[DeadlineSpec] = []
    computed: dict[str, tuple[date, str]] = dict(known or {})
    parties = ["us_defendant", "us_party"] if _US_PARTY.search(case.case_name) else None
    for trig in match_triggers(text, court=case.court, nature_of_suit=case.nature_of_suit,
                               entry_date=entry_day, rules=rules, parties=parties):
        rule = trig.rule
        result = compute(trig.trigger_date, trig.period, rule.unit, rule.direction,
                         service="n/a" if rule.unit != "calendar_days" else "electronic",
                         state=court.state if court and court.state else None,
                         closures=closures, timezone=zone)
        due = result.due if isinstance(result.due, date) and not isinstance(
            result.due, datetime) else result.due.date()
        if due < today:
            continue  # history: that clock ran out before we saw it
        alt = result.alternative
        spec = DeadlineSpec(
            key=f"case:{case.id}:rule:{rule.id}", subject=subject, label=rule.label,
            due_date=due, due_at=result.due if isinstance(result.due, datetime) else None,
            origin="computed", case_id=case.id, rule_id=rule.id, citation=rule.citation,
            timezone=zone, trigger_date=trig.trigger_date, trigger_text=text[:500],
            trigger_estimated=trig.trigger_estimated,
            steps=(f"Trigger: {rule.trigger} on {trig.trigger_date.isoformat()}"
                   + (" (entry date; the text gives no service date)"
                      if trig.trigger_estimated else ""), *result.steps),
            alternative=alt.to_json() if alt else None,
        )
        computed[_label_word(rule.label)] = (spec.due_date, spec.citation)
        specs.append(spec)
    for found in extract_court_dates(text):
        if found.due < today:
            continue
        word = _label_word(found.label)
        twin = computed.get(word)
        party = f":{found.party.lower()}" if found.party else ""
        steps = [f"Set by the court in the docket text: \"{found.text}\""]
        if twin is not None and twin[0] != found.due:
            steps.append(f"The rule ({twin[1]}) would give {twin[0].isoformat()}; "
                         "the court's date governs.")
        specs.append(DeadlineSpec(
            key=f"case:{case.id}:court:{found.label.lower()}{party}", subject=subject,
            label=f"{found.label.capitalize()} due" + (f" ({found.party})" if found.party else ""),
            due_date=found.due, origin="court-set", case_id=case.id, timezone=zone,
            trigger_date=entry_day, trigger_text=text[:500], steps=tuple(steps),
            computed_due=twin[0] if twin else None,
            citation=twin[1] if twin else "",
        ))
    return specs


# ---------------------------------------------------------------------------- reminders


def _local_now(now: datetime, zone: str) -> datetime:
    return now.astimezone(ZoneInfo(zone))


def run_reminders(engine: Engine, config: Config, *, now: datetime,
                  listeners: Sequence[EventListener]) -> list[Event]:
    """Emit due-soon and overdue events that are due at `now`; escalate overdue matters."""
    events: list[Event] = []
    lead_days = sorted(set(config.deadlines.reminder_days), reverse=True)
    with write_session(engine) as session:
        open_rows = session.exec(
            select(Deadline).where(Deadline.state.in_(["open", "overdue"]))  # type: ignore[attr-defined]
        ).all()
        for row in open_rows:
            events += _remind_one(session, listeners, row, now, lead_days,
                                  config.deadlines.remind_at)
    from monitor.matters import escalate_matters

    events += escalate_matters(engine, config, now=now, listeners=listeners)
    return events


def _remind_one(session: Session, listeners: Sequence[EventListener], row: Deadline,
                now: datetime, lead_days: Sequence[int], remind_at: time) -> list[Event]:
    local = _local_now(now, row.timezone or "UTC")
    today = local.date()
    days_left = (row.due_date - today).days
    base = {**_case_fields(session, row.case_id), **_deadline_data(row)}
    out: list[Event] = []
    if days_left < 0:
        if row.state != "overdue":
            row.state = "overdue"
            session.add(row)
            event = emit(session, listeners, kind="deadline.overdue", at=now, subject=row.subject,
                         summary=f"OVERDUE: {row.label} was due {row.due_date.isoformat()}",
                         dedupe_key=f"deadline.overdue:{row.key}:{row.due_date.isoformat()}",
                         data={**base, "days_overdue": -days_left}, case_id=row.case_id,
                         matter_id=row.matter_id, private=row.private)
            if event is not None:
                out.append(event)
        return out
    due_leads = [n for n in lead_days if days_left <= n and n not in row.reminders_sent]
    if not due_leads or local.time() < remind_at and days_left == min(due_leads):
        return out
    lead = min(due_leads)  # late start: only the nearest reminder, not a burst of old ones
    row.reminders_sent = sorted({*row.reminders_sent, *due_leads})
    session.add(row)
    when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
    event = emit(session, listeners, kind="deadline.due_soon", at=now, subject=row.subject,
                 summary=f"{row.label} due {when}: {row.due_date.isoformat()}",
                 dedupe_key=f"deadline.due_soon:{row.key}:{row.due_date.isoformat()}:{lead}",
                 data={**base, "days_left": days_left, "lead_days": lead},
                 case_id=row.case_id, matter_id=row.matter_id, private=row.private)
    if event is not None:
        out.append(event)
    return out
