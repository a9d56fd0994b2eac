"""The JSON shapes users and their scripts read (`--json`, `/health`, alert data), with the one
UTC formatter: times as UTC ISO 8601 with `Z`, dates as `YYYY-MM-DD` (contracts.md).

Pure: rows in, dicts out. The CLI and the HTTP endpoint print these; queries fetch the rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from monitor.models import Case, Deadline, Entry, Event, Matter

__all__ = [
    "case_row",
    "deadline_note",
    "deadline_row",
    "entry_row",
    "event_row",
    "iso_z",
    "matter_row",
]


def iso_z(value: datetime | date | None, *,
          timespec: Literal["auto", "seconds"] = "auto") -> str | None:
    """UTC ISO 8601 with `Z` for a time (a naive one is read as UTC, as the tables store it),
    `YYYY-MM-DD` for a date, None for None. `timespec="seconds"` drops the microseconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
    return value.isoformat()


def case_row(case: Case, entry_count: int) -> dict[str, Any]:
    """The `cases --json` shape of one case."""
    return {
        "court": case.court,
        "docket_number": case.docket_number,
        "docket_number_raw": case.docket_number_raw,
        "case_name": case.case_name,
        "tags": list(case.tags),
        "matched_by": list(case.matched_by),
        "first_seen": iso_z(case.first_seen),
        "entry_count": entry_count,
        "tracked": case.tracked,
        "cl_docket_id": case.cl_docket_id,
        "cause": case.cause,
        "nature_of_suit": case.nature_of_suit,
        "date_filed": iso_z(case.date_filed),
        "date_terminated": iso_z(case.date_terminated),
    }


def entry_row(entry: Entry) -> dict[str, Any]:
    """The shape of one docket entry in `case --json`."""
    return {
        "entry_number": entry.entry_number,
        "date_filed": iso_z(entry.date_filed),
        "description": entry.description or entry.short_description,
        "short_description": entry.short_description,
        "document_url": entry.document_url,
        "sources": list(entry.sources),
    }


def event_row(event: Event) -> dict[str, Any]:
    """The `events --json` shape of one event."""
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso_z(event.at),
        "subject": event.subject,
        "summary": event.summary,
        "data": event.data,
    }


def deadline_row(d: Deadline) -> dict[str, Any]:
    """The `--json` shape of a deadline."""
    return {
        "id": d.id,
        "subject": d.subject,
        "label": d.label,
        "rule": d.rule_id,
        "citation": d.citation,
        "origin": d.origin,
        "state": d.state,
        "due": iso_z(d.due_at) if d.due_at else iso_z(d.due_date),
        "timezone": d.timezone,
        "trigger_date": iso_z(d.trigger_date),
        "trigger_text": d.trigger_text,
        "trigger_estimated": d.trigger_estimated,
        "computed_due": iso_z(d.computed_due),
        "steps": list(d.steps),
        "alternative": d.alternative,
        "obligation": d.obligation,
        "party": d.party,
        "met_by": d.met_by,
        "extension_requested": d.extension_requested,
        "waiting_for": (d.pending or {}).get("anchor") if d.state == "waiting" else None,
    }


def deadline_note(row: dict[str, Any]) -> str:
    """A deadline's life in a few words for listings: met by, extension requested, waiting."""
    def entry(ref: dict[str, Any]) -> str:
        number = ref.get("entry_number")
        return f"#{number}" if number is not None else str(ref.get("date_filed") or "")

    notes: list[str] = []
    if row.get("met_by"):
        notes.append(f"met by {entry(row['met_by'])} {row['met_by'].get('date_filed') or ''}"
                     .rstrip())
    asked = row.get("extension_requested")
    if asked:
        notes.append(f"extension requested ({entry(asked)})" + (
            f", granted by {entry(asked['granted'])}" if asked.get("granted") else ""))
    if row.get("waiting_for"):
        notes.append(f"waiting for {row['waiting_for']}")
    if row.get("state") == "suspended":
        notes.append("suspended by a stay")
    return "; ".join(notes)


def matter_row(matter: Matter, clock_row: Deadline | None) -> dict[str, Any]:
    """The `matters --json` shape of one matter, with its clock (a deadline row)."""
    return {
        "id": matter.id, "kind": matter.kind, "agency": matter.agency,
        "reference": matter.reference,
        "filed": iso_z(matter.filed), "received": iso_z(matter.received),
        "status": matter.status or None, "status_history": list(matter.status_history),
        "tags": list(matter.tags), "private": matter.private, "case": matter.case_ref or None,
        "closed": matter.closed, "escalation_step": matter.escalation_step,
        "pauses": list(matter.pauses),
        "clock": deadline_row(clock_row) if clock_row is not None else None,
        "overdue": bool(clock_row is not None and clock_row.state == "overdue"),
        # a matter kept by a source (MuckRock): where it lives, and both due dates side by side
        "origin": matter.origin or None, "title": matter.title or None,
        "jurisdiction": matter.jurisdiction or None, "state": matter.state or None,
        "url": matter.url or None, "status_code": matter.status_code or None,
        "done": iso_z(matter.done),
        "statutory_due": iso_z(clock_row.due_date) if clock_row is not None else None,
        "portal_due": iso_z(matter.portal_due),
    }
