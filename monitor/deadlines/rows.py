"""A deadline row and its events: what a deadline should be (`DeadlineSpec`), creating or moving
it (`upsert_deadline`: `deadline.set` / `deadline.changed`, SEQUENCE raised) and the data every
`deadline.*` event carries (`deadline_event_data`, fields listed in `monitor.deadlines.service`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from monitor.events import EventListener, emit
from monitor.models import Case, Deadline, Event

__all__ = ["DeadlineSpec", "deadline_event_data", "upsert_deadline"]


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
    obligation: str = ""
    party: str = ""


def _deadline_data(d: Deadline, **extra: Any) -> dict[str, Any]:
    return {
        "obligation": d.obligation,
        "party": d.party,
        "state": d.state,
        "met_by": d.met_by,
        "extension_requested": d.extension_requested,
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


def deadline_event_data(session: Session, row: Deadline) -> dict[str, Any]:
    """The data every `deadline.*` event carries (module docstring)."""
    return {**_case_fields(session, row.case_id), **_deadline_data(row)}


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
    if row is None or row.state == "waiting":
        row = row or Deadline(key=spec.key, subject=spec.subject, due_date=spec.due_date,
                              created_at=now, updated_at=now)
        kind = "deadline.set"
        row.state = "open"
    else:
        if (row.due_date == spec.due_date and row.due_at == spec.due_at
                and row.state in ("open", "overdue", "unverified", "suspended")):
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
    if spec.obligation:
        row.obligation = spec.obligation
    if spec.party:
        row.party = spec.party
    row.updated_at = now
    session.add(row)
    session.flush()
    data = {**_case_fields(session, spec.case_id), **_deadline_data(row), **spec.extra}
    data.pop("ref", None)
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


