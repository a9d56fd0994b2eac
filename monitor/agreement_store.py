"""ICE 287(g) snapshots -> Agreement rows and `agreement.*` events (inside Store.apply).

The pure diff and the hold rule live in `monitor.agreements`; this module is the I/O around them:
it loads the current rows of both lists, keeps a suspicious snapshot in `AgreementHold` until the
next fetch confirms it, writes the rows and emits one event per change. Agreements are stored
whatever the watches say.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from monitor.agreements import (
    AgreementChange,
    agreement_identity,
    confirm_or_hold,
    snapshot_from_payload,
    snapshot_to_payload,
)
from monitor.models import Agreement, AgreementHold, AgreementList, Event
from monitor.store import EventListener, emit
from sources.base import AgreementRow, AgreementSnapshot, Observation

__all__ = ["apply_snapshot", "agreement_row_json"]

log = logging.getLogger(__name__)

_EVENT_KIND = {
    "added": "agreement.added",
    "changed": "agreement.changed",
    "removed": "agreement.removed",
    "pending": "agreement.pending",
}


def _as_row(a: Agreement) -> AgreementRow:
    return AgreementRow(
        state=a.state, agency=a.agency, support_type=a.support_type,
        status="pending" if a.status == "pending" else "participating",
        county=a.county, type=a.type, signed=a.signed, moa_url=a.moa_url,
        addendum_url=a.addendum_url, extra=dict(a.extra or {}),
    )


def agreement_row_json(a: Agreement) -> dict[str, Any]:
    """The `agreements --json` shape."""
    return {
        "state": a.state,
        "agency": a.agency,
        "county": a.county,
        "type": a.type,
        "support_type": a.support_type,
        "signed": a.signed.isoformat() if a.signed else None,
        "moa_url": a.moa_url or None,
        "addendum_url": a.addendum_url or None,
        "status": a.status,
        "first_seen": a.first_seen.isoformat().replace("+00:00", "Z"),
        "last_seen": a.last_seen.isoformat().replace("+00:00", "Z"),
    }


def apply_snapshot(session: Session, listeners: Sequence[EventListener], obs: Observation, *,
                   source_id: str, now: datetime) -> list[Event]:
    """Apply one list snapshot (or hold it); return the new events."""
    if not isinstance(obs, AgreementSnapshot):
        raise TypeError(f"not an observation the store knows: {type(obs).__name__}")
    applied = session.get(AgreementList, obs.list_kind)
    current = session.exec(
        select(Agreement).where(col(Agreement.status).in_(["participating", "pending"]))
    ).all()
    previous = [_as_row(a) for a in current] if applied is not None else None
    hold_row = session.get(AgreementHold, obs.list_kind)
    held = snapshot_from_payload(hold_row.payload) if hold_row is not None else None
    decision = confirm_or_hold(previous, held, obs)
    if decision.action == "hold":
        log.warning("%s: %s list held until confirmed: %s", source_id, obs.list_kind,
                    "; ".join(decision.reasons))
        payload = snapshot_to_payload(decision.held or obs)
        if hold_row is None:
            session.add(AgreementHold(list_kind=obs.list_kind, payload=payload, held_at=now))
        else:
            hold_row.payload, hold_row.held_at = payload, now
            session.add(hold_row)
        return []
    if hold_row is not None:
        session.delete(hold_row)
    diff = decision.diff
    assert diff is not None
    by_identity = {a.identity: a for a in session.exec(select(Agreement)).all()}
    for row in diff.rows:
        _upsert(session, by_identity, row, now)
    events: list[Event] = []
    for change in (*diff.added, *diff.pending, *diff.changed, *diff.removed):
        if change.kind == "removed":
            existing = by_identity.get(agreement_identity(change.row))
            if existing is not None and existing.status == obs.list_kind:
                existing.status, existing.last_seen = "removed", now
                session.add(existing)
        event = _emit_change(session, listeners, change, obs, source_id, now)
        if event is not None:
            events.append(event)
    if applied is None:
        applied = AgreementList(list_kind=obs.list_kind, applied_at=now)
    applied.applied_at, applied.url = now, obs.url
    applied.row_count, applied.rejected_count = len(obs.rows), len(obs.rejected)
    session.add(applied)
    return events


def _upsert(session: Session, by_identity: dict[str, Agreement], row: AgreementRow,
            now: datetime) -> None:
    identity = agreement_identity(row)
    existing = by_identity.get(identity)
    if existing is None:
        existing = Agreement(identity=identity, state=row.state, agency=row.agency,
                             support_type=row.support_type, first_seen=now, last_seen=now)
        by_identity[identity] = existing
    existing.state, existing.agency, existing.support_type = row.state, row.agency, \
        row.support_type
    existing.county, existing.type, existing.signed = row.county, row.type, row.signed
    existing.moa_url, existing.addendum_url = row.moa_url, row.addendum_url
    existing.status, existing.extra, existing.last_seen = row.status, dict(row.extra), now
    session.add(existing)


def _emit_change(session: Session, listeners: Sequence[EventListener], change: AgreementChange,
                 obs: AgreementSnapshot, source_id: str, now: datetime) -> Event | None:
    row = change.row
    identity = agreement_identity(row)
    kind = _EVENT_KIND[change.kind]
    fields = [
        {"field": f.field, "before": f.before, "after": f.after} for f in change.fields
    ]
    data: dict[str, Any] = {
        "state": row.state, "agency": row.agency, "county": row.county, "type": row.type,
        "support_type": row.support_type,
        "signed": row.signed.isoformat() if row.signed else None,
        "moa_url": row.moa_url or None, "list": obs.list_kind, "baseline": change.baseline,
        "from_pending": change.from_pending, "changes": fields,
    }
    what = {
        "agreement.added": "signed a 287(g) agreement" if not change.baseline else "listed",
        "agreement.pending": "is pending a 287(g) agreement",
        "agreement.changed": "changed: " + ", ".join(f["field"] for f in fields),
        "agreement.removed": "no longer listed",
    }[kind]
    digest = hashlib.sha256(repr((kind, identity, fields)).encode()).hexdigest()[:12]
    return emit(
        session, listeners, kind=kind, at=now, subject=f"agreement:{identity}",
        summary=f"{row.agency} ({row.state}, {row.support_type}) {what}",
        dedupe_key=f"{kind}:{identity}:{digest}:{now.isoformat()}", data=data,
        source_id=source_id,
    )
