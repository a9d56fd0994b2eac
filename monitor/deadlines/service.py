"""Deadlines in the database: derived from docket events, set by hand, reminded, ended.

- `make_deadline_listener(config)`: a Store listener; every `entry.added` moves the case's
  deadlines through their life (`monitor.deadlines.life`: one row per obligation, court-set dates
  over computed ones, ordered periods, met / vacated / suspended / resumed, extension flags);
  `case.closed` vacates what is still open.
- `upsert_deadline` (`monitor.deadlines.rows`): one row per deadline key; a new one is
  `deadline.set`, a moved one `deadline.changed` (SEQUENCE raised so calendars update the event).
- `run_reminders(now)`: `deadline.due_soon` at the configured lead days (at `remind_at` local
  time); after the due day, `deadline.overdue` only when a read of the docket after that day
  (`evidence.last_checked`) shows nothing met it, else one `deadline.unverified`. Cut-offs and
  rights (scheduling-order cut-offs, amendment as of course) lapse silently (state `lapsed`),
  and so does a reply in support of a motion (the movant's right).

States: open, overdue, unverified, met, vacated, suspended, waiting (a period whose anchor event
has not come), lapsed. Keys: `case:<id>:<obligation>[@<party>]`, `matter:<id>:clock`,
`manual:...`.

Event data (every `deadline.*`; stable, extend only): deadline_id, key, deadline_key, rule_id,
rule, label, citation, origin (court-set | computed | manual), due, due_date, timezone,
trigger_date, trigger_estimated, computed_due, steps, alternative, matter, obligation
("respond-complaint", "oppose:19", "order:status-report", ...), party, state, met_by,
extension_requested ({entry_number, date_filed, text[, granted: {...}]} or null), and the case's
court, docket_number, case_name, tags. Besides:
- `deadline.changed`: before (the old due date);
- `deadline.due_soon`: days_left, lead_days;
- `deadline.met`: met_by {entry_number, date_filed, text};
- `deadline.vacated`: vacated_by (the entry) or case_closed (the date);
- `deadline.suspended`: suspended_by; `deadline.resumed`: resumed_by, before;
- `deadline.overdue`: days_overdue, looked_for, last_entry, last_checked (UTC, Z);
- `deadline.unverified`: the same plus reason.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, cast, overload
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from monitor.config import Config
from monitor.db import write_session
from monitor.deadlines.calendar import Computation, Unit, compute
from monitor.deadlines.docket_text import entry_refs, motion_refs
from monitor.deadlines.evidence import last_checked, last_entry
from monitor.deadlines.life import OPEN, apply_entry, close_case
from monitor.deadlines.rows import (
    DeadlineSpec,
    _case_fields,
    _deadline_data,
    deadline_event_data,
    upsert_deadline,
)
from monitor.deadlines.rules import load_rules
from monitor.deadlines.triggers import match_triggers, service_dates
from monitor.events import EventListener, emit, listeners_of
from monitor.models import Case, Deadline, Entry, Event
from monitor.views import iso_z
from sources.courts import COURTS

__all__ = [
    "DeadlineSpec",
    "deadline_event_data",
    "derive_from_entry",
    "end_deadline",
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


def mark_deadline(engine: Engine, listeners: Sequence[EventListener], deadline_id: int,
                  state: str, *, now: datetime) -> Deadline | None:
    """`deadline met|vacate`: close a deadline and emit `deadline.met` / `deadline.vacated`."""
    with write_session(engine) as session:
        row = session.get(Deadline, deadline_id)
        if row is None:
            return None
        end_deadline(session, listeners, row, state, now=now)
        return row


def end_deadline(session: Session, listeners: Sequence[EventListener], row: Deadline,
                 state: str, *, now: datetime, **data: Any) -> Event | None:
    """Close `row` as met or vacated inside `session`: `deadline.met` / `deadline.vacated`
    (with `data` added to the event's)."""
    kind = {"met": "deadline.met", "vacated": "deadline.vacated"}[state]
    row.state, row.updated_at = state, now
    session.add(row)
    return emit(session, listeners, kind=kind, at=now, subject=row.subject,
                summary=f"{row.label} ({row.due_date.isoformat()}) {state}",
                dedupe_key=f"{kind}:{row.key}:{row.sequence}",
                data={**_case_fields(session, row.case_id), **_deadline_data(row), **data},
                case_id=row.case_id, matter_id=row.matter_id, private=row.private)


# ---------------------------------------------------------------------------- derivation


@lru_cache(maxsize=8)
def _rules(extra_key: str) -> list[Any]:
    return load_rules(json.loads(extra_key) if extra_key else None)


def make_deadline_listener(config: Config,
                           party_aliases: Sequence[tuple[str, str]] = ()) -> EventListener:
    """A Store listener: each `entry.added` moves the case's deadlines through their life
    (`monitor.deadlines.life`); `case.closed` vacates what is still open. `party_aliases`
    ((other name, party) pairs, e.g. a d/b/a) are known only when a docket lists its parties."""
    aliases = tuple(party_aliases)
    extra_key = json.dumps(list(config.deadline_rules), default=str, sort_keys=True)
    closures = {court: tuple(days) for court, days in config.deadlines.closures.items()}

    def listener(session: Session, event: Event) -> None:
        if event.kind not in ("entry.added", "case.closed") or event.case_id is None:
            return
        case = session.get(Case, event.case_id)
        if case is None:
            return
        chain = listeners_of(session)
        if event.kind == "case.closed":
            close_case(session, chain, case, event)
            return
        court = COURTS.get(case.court)
        zone = court.timezone if court else "America/New_York"
        state = court.state if court and court.state else None
        today = event.at.astimezone(ZoneInfo(zone)).date()
        court_closures = closures.get(case.court, ())
        text = _entry_text(event.data or {})
        # Read only when a rule counts from an undated service (most entries start none).
        siblings = _SiblingDates(session, case, event)
        computed = derive_from_entry(case, event, _rules(extra_key), court_closures,
                                     sibling_service=siblings)

        def count(trigger: date, days: int, unit: str) -> Computation:
            return compute(trigger, days, cast(Unit, unit), "after", service="n/a",
                           state=state, closures=court_closures, timezone=zone)

        apply_entry(session, chain, case, event, text, computed, zone, today, count, aliases)

    return listener


def _entry_text(data: dict[str, Any]) -> str:
    short, long = data.get("short_description") or "", data.get("description") or ""
    if short and short in long:
        return long
    return " ".join(part for part in (short, long) if part)


def _sibling_service_dates(session: Session, case: Case, event: Event) -> list[date]:
    """Service dates written in the other entries of the same case and day: an undated return
    of service takes its date from them."""
    day = (event.data or {}).get("date_filed")
    if not day:
        return []
    rows = session.exec(select(Entry).where(Entry.case_id == case.id,
                                            Entry.date_filed == date.fromisoformat(day))).all()
    found: list[date] = []
    for row in rows:
        found += service_dates(" ".join((row.short_description, row.description)))
    return found


class _SiblingDates(Sequence[date]):
    """`_sibling_service_dates` of an entry, read from the database on first use."""

    def __init__(self, session: Session, case: Case, event: Event) -> None:
        self._args = (session, case, event)
        self._dates: list[date] | None = None

    def _read(self) -> list[date]:
        if self._dates is None:
            self._dates = _sibling_service_dates(*self._args)
        return self._dates

    @overload
    def __getitem__(self, index: int) -> date: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[date]: ...

    def __getitem__(self, index: int | slice) -> date | Sequence[date]:
        return self._read()[index]

    def __len__(self) -> int:
        return len(self._read())


def derive_from_entry(case: Case, event: Event, rules: Sequence[Any],
                      closures: Sequence[date],
                      known: dict[str, tuple[date, str]] | None = None,
                      sibling_service: Sequence[date] = ()) -> list[DeadlineSpec]:
    """The rule-computed deadlines an entry starts (pure but for the rules), each naming its
    obligation in `extra` ("obligation", "ref"). Court-set dates and ordered periods are read
    by `monitor.deadlines.life`. `sibling_service`: service dates of same-day entries, used
    when this entry gives none."""
    data = event.data or {}
    text = _entry_text(data)
    entry_day = date.fromisoformat(data["date_filed"]) if data.get("date_filed") else \
        event.at.date()
    court = COURTS.get(case.court)
    zone = court.timezone if court else "America/New_York"
    subject = f"{case.court}:{case.docket_number}"
    today = event.at.astimezone(ZoneInfo(zone)).date()
    number = data.get("entry_number")
    specs: list[DeadlineSpec] = []
    parties = ["us_defendant", "us_party"] if _US_PARTY.search(case.case_name) else None
    for trig in match_triggers(text, court=case.court, nature_of_suit=case.nature_of_suit,
                               entry_date=entry_day, rules=rules, parties=parties):
        rule = trig.rule
        trigger_date, estimated = trig.trigger_date, trig.trigger_estimated
        if estimated and rule.trigger_date == "service":
            sibling = [d for d in sibling_service if d <= entry_day]
            if sibling:
                trigger_date, estimated = min(sibling), False
        result = compute(trigger_date, trig.period, rule.unit, rule.direction,
                         service="n/a" if rule.unit != "calendar_days" else "electronic",
                         state=court.state if court and court.state else None,
                         closures=closures, timezone=zone)
        due = result.due if isinstance(result.due, date) and not isinstance(
            result.due, datetime) else result.due.date()
        if due < today:
            continue  # history: that clock ran out before we saw it
        alt = result.alternative
        obligation = rule.obligation or f"rule:{rule.id}"
        ref: int | None = None
        if obligation == "oppose":
            ref = number
        elif obligation == "reply":
            motions = motion_refs(text)
            refs = entry_refs(text)
            ref = motions[0][0] if motions else (refs[0] if refs else None)
        spec = DeadlineSpec(
            key=f"case:{case.id}:rule:{rule.id}", subject=subject, label=rule.label,
            due_date=due, due_at=result.due if isinstance(result.due, datetime) else None,
            origin="computed", case_id=case.id, rule_id=rule.id, citation=rule.citation,
            timezone=zone, trigger_date=trigger_date, trigger_text=text[:500],
            trigger_estimated=estimated,
            steps=(f"Trigger: {rule.trigger} on {trigger_date.isoformat()}"
                   + (" (entry date; the text gives no service date)"
                      if estimated else ""), *result.steps),
            alternative=alt.to_json() if alt else None,
            extra={"obligation": obligation, "ref": ref},
        )
        specs.append(spec)
    return specs


# ---------------------------------------------------------------------------- reminders


def _local_now(now: datetime, zone: str) -> datetime:
    return now.astimezone(ZoneInfo(zone))


def run_reminders(engine: Engine, config: Config, *, now: datetime,
                  listeners: Sequence[EventListener]) -> list[Event]:
    """Emit the due-soon and overdue events that are due at `now` (matters' escalation ladder
    is `matters.escalate_matters`: the reminder job runs both, `jobs.run_clocks`)."""
    events: list[Event] = []
    lead_days = sorted(set(config.deadlines.reminder_days), reverse=True)
    with write_session(engine) as session:
        open_rows = session.exec(
            select(Deadline).where(Deadline.state.in_(list(OPEN)))  # type: ignore[attr-defined]
        ).all()
        for row in open_rows:
            events += _remind_one(session, listeners, row, now, lead_days,
                                  config.deadlines.remind_at)
    return events


def _extension_note(row: Deadline) -> str:
    asked = row.extension_requested
    if not asked:
        return ""
    which = asked.get("entry_number") or asked.get("date_filed")
    if asked.get("granted"):
        return f" (extension granted by the court, motion {which}; new date not in the docket)"
    return f" (extension requested, motion {which})"


def _looked_for(row: Deadline) -> str:
    """The filing that would meet the deadline, in words."""
    label = row.label.split(" (")[0]
    return label[:1].lower() + label[1:] if label else "a filing"


def _overdue_or_unverified(session: Session, listeners: Sequence[EventListener], row: Deadline,
                           now: datetime, today: date, base: dict[str, Any]) -> Event | None:
    """`deadline.overdue` when a read of the docket after the due date shows nothing filed;
    `deadline.unverified` (once) when no source has read it since, or when the court granted an
    extension without a date the docket text gives."""
    days = (today - row.due_date).days
    if _lapses(row):
        row.state = "lapsed"  # a right or a cut-off, not a filing anyone owes: no overdue
        session.add(row)
        return None
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    if case is None:  # a matter's statutory clock: no docket to read
        checked: datetime | None = now
        seen = None
    else:
        checked = last_checked(session, case)
        seen = last_entry(session, case.id or 0)
    zone = ZoneInfo(row.timezone or "UTC")
    fresh = checked is not None and _aware(checked).astimezone(zone).date() > row.due_date
    asked = row.extension_requested or {}
    granted = bool(asked)
    evidence = {"looked_for": _looked_for(row), "last_entry": seen,
                "last_checked": iso_z(checked), "days_overdue": days}
    if not fresh or granted:
        if row.state == "unverified":
            return None
        row.state = "unverified"
        session.add(row)
        why = ("the docket has not been read since the due date" if not granted else
               "the court granted an extension; the new date is not in the docket text"
               if asked.get("granted") else "an extension was requested; the court has not ruled")
        return emit(session, listeners, kind="deadline.unverified", at=now, subject=row.subject,
                    summary=f"UNVERIFIED: {row.label} was due {row.due_date.isoformat()}; {why}",
                    dedupe_key=f"deadline.unverified:{row.key}:{row.due_date.isoformat()}:"
                               f"{row.sequence}",
                    data={**base, **evidence, "state": "unverified", "reason": why},
                    case_id=row.case_id, matter_id=row.matter_id, private=row.private)
    row.state = "overdue"
    session.add(row)
    return emit(session, listeners, kind="deadline.overdue", at=now, subject=row.subject,
                summary=f"OVERDUE: {row.label} was due {row.due_date.isoformat()}"
                + _extension_note(row),
                dedupe_key=f"deadline.overdue:{row.key}:{row.due_date.isoformat()}",
                data={**base, **evidence, "state": "overdue"}, case_id=row.case_id,
                matter_id=row.matter_id, private=row.private)


#: cut-offs of a scheduling order and rights (amendment as of course): they lapse, never overdue
_CUTOFF = re.compile(r"^order:.*(?:joinder|amend|renew|expert|discovery|dispositive|pro-hac|"
                     r"consent|declination|mediation|settlement|moving-papers|objection|"
                     r"summary-judgment|cross-motions)")


def _lapses(row: Deadline) -> bool:
    if row.obligation.startswith("reply"):
        return True  # a reply in support is the movant's right, not a filing anyone owes
    return (row.obligation == "amend" and row.origin == "computed") or bool(
        _CUTOFF.match(f"order:{row.label.lower()}")) or bool(
        _CUTOFF.match(row.obligation))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _remind_one(session: Session, listeners: Sequence[EventListener], row: Deadline,
                now: datetime, lead_days: Sequence[int], remind_at: time) -> list[Event]:
    local = _local_now(now, row.timezone or "UTC")
    today = local.date()
    days_left = (row.due_date - today).days
    base = {**_case_fields(session, row.case_id), **_deadline_data(row)}
    out: list[Event] = []
    if days_left < 0:
        if row.state != "overdue":
            event = _overdue_or_unverified(session, listeners, row, now, today, base)
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
                 summary=f"{row.label} due {when}: {row.due_date.isoformat()}"
                 + _extension_note(row),
                 dedupe_key=f"deadline.due_soon:{row.key}:{row.due_date.isoformat()}:{lead}",
                 data={**base, "days_left": days_left, "lead_days": lead},
                 case_id=row.case_id, matter_id=row.matter_id, private=row.private)
    if event is not None:
        out.append(event)
    return out
