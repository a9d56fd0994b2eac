"""ICE 287(g) snapshots -> Agreement rows, their history and `agreement.*` events (in Store.apply).

The pure diff lives in `monitor.agreements`; this module is the I/O around it: it loads the
current agreements of both lists, records every fetched list file (`AgreementSnapshotRecord`),
quarantines a broken one, re-keys renamed agreements (their id and history stay), counts
absences, writes the rows and the runs of snapshots each agreement was seen in
(`AgreementVersion`), and emits one event per change. Agreements are stored whatever the
watches say.

The operator hears of a quarantine once: one `source.failing` event (data `quarantine: true`,
the reasons) when a list is first quarantined, one `source.recovered` when a normal snapshot
ends it; the refetches in between are recorded and logged, not announced.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from monitor.agreements import (
    AgreementChange,
    Known,
    SnapshotDiff,
    agreement_key,
    diff_snapshot,
    snapshot_from_payload,
    snapshot_to_payload,
)
from monitor.events import EventListener, emit
from monitor.models import (
    Agreement,
    AgreementHold,
    AgreementList,
    AgreementSnapshotRecord,
    AgreementVersion,
    Event,
)
from monitor.views import iso_z
from sources.agreement_identity import AgreementKey, identity_string
from sources.base import AgreementRow, AgreementSnapshot, Observation

__all__ = ["apply_snapshot", "agreement_row_json", "quarantined_snapshot"]

log = logging.getLogger(__name__)

_WHAT = {
    "agreement.pending": "is pending a 287(g) agreement",
    "agreement.missing": "missing from the latest list (not yet an ending)",
    "agreement.removed": "no longer listed (ending confirmed)",
}


def _as_row(a: Agreement) -> AgreementRow:
    return AgreementRow(
        state=a.state, agency=a.agency, support_type=a.support_type,
        status="pending" if a.status == "pending" else "participating",
        county=a.county, type=a.type,
        signed=a.signed_published if a.signed_published is not None else a.signed,
        moa_url=a.moa_url, addendum_url=a.addendum_url, extra=dict(a.extra or {}),
    )


def agreement_row_json(a: Agreement) -> dict[str, Any]:
    """The `agreements --json` shape (`signed` is the earliest SIGNED date published)."""
    published = a.signed_published or a.signed
    return {
        "state": a.state,
        "agency": a.agency,
        "county": a.county,
        "type": a.type,
        "support_type": a.support_type,
        "signed": a.signed.isoformat() if a.signed else None,
        "signed_published": published.isoformat() if published else None,
        "moa_url": a.moa_url or None,
        "addendum_url": a.addendum_url or None,
        "status": a.status,
        "absences": a.absences,
        "absent_since": iso_z(a.absent_since),
        "first_seen": iso_z(a.first_seen),
        "last_seen": iso_z(a.last_seen),
    }


def apply_snapshot(session: Session, listeners: Sequence[EventListener], obs: Observation, *,
                   source_id: str, now: datetime) -> list[Event]:
    """Apply one list snapshot (or quarantine it); return the new events."""
    if not isinstance(obs, AgreementSnapshot):
        raise TypeError(f"not an observation the store knows: {type(obs).__name__}")
    # `status`: participating | pending | removed | promoted (a pending row now participating
    # under another name; its participating agreement is its own row)
    applied = session.get(AgreementList, obs.list_kind)
    every = list(session.exec(select(Agreement)).all())
    current = [a for a in every if a.status in ("participating", "pending")]
    known = [Known(_as_row(a), a.absences, a.absent_since) for a in current]
    diff = diff_snapshot(known, obs, now=now, baseline=applied is None)
    record = AgreementSnapshotRecord(
        source_id=source_id, list_kind=obs.list_kind, url=obs.url, fetched_at=now,
        status="quarantined" if diff.quarantined else "baseline" if diff.baseline
        else "accepted" if obs.accepted else "applied",
        row_count=len(obs.rows), rejected_count=len(obs.rejected),
        notes=[*diff.reasons, *obs.notes] + (["accepted by the operator"] if obs.accepted
                                             else []),
    )
    session.add(record)
    session.flush()
    if obs.notes:
        log.warning("%s: %s list: %d duplicate rows merged (see `agreements --snapshots`)",
                    source_id, obs.list_kind, len(obs.notes))
    if diff.quarantined:
        return _quarantine(session, listeners, obs, diff, source_id, now)
    events = _end_quarantine(session, listeners, obs, source_id, now)
    by_key = {agreement_key(_as_row(a)): a for a in current}
    _rekey(session, every, by_key, diff)
    stored = _write_rows(session, by_key, diff, now)
    _write_absences(session, by_key, diff, now)
    session.flush()
    _write_versions(session, stored, by_key, diff, record)
    for change in diff.changes:
        event = _emit_change(session, listeners, change, obs, source_id, now)
        if event is not None:
            events.append(event)
    if applied is None:
        applied = AgreementList(list_kind=obs.list_kind, applied_at=now)
    applied.applied_at, applied.url = now, obs.url
    applied.row_count, applied.rejected_count = len(obs.rows), len(obs.rejected)
    session.add(applied)
    return events


# ---------------------------------------------------------------------------- quarantine


def quarantined_snapshot(session: Session, list_kind: str) -> tuple[str, AgreementSnapshot] | None:
    """The list's quarantined snapshot and its source id, marked `accepted` (the operator's
    `agreements --accept-quarantined LIST`: apply it through `Store.apply`), or None."""
    hold = session.get(AgreementHold, list_kind)
    if hold is None:
        return None
    snapshot = replace(snapshot_from_payload(hold.payload), accepted=True)
    return str(hold.payload.get("source_id", "")), snapshot


def _quarantine(session: Session, listeners: Sequence[EventListener], obs: AgreementSnapshot,
                diff: SnapshotDiff, source_id: str, now: datetime) -> list[Event]:
    reasons = "; ".join(diff.reasons)
    hold = session.get(AgreementHold, obs.list_kind)
    payload = {**snapshot_to_payload(obs), "source_id": source_id}
    if hold is not None:
        log.info("%s: %s list still quarantined: %s", source_id, obs.list_kind, reasons)
        hold.payload, hold.held_at = payload, now
        session.add(hold)
        return []
    log.warning("%s: %s list quarantined until a normal snapshot follows: %s", source_id,
                obs.list_kind, reasons)
    session.add(AgreementHold(list_kind=obs.list_kind, payload=payload, held_at=now))
    event = emit(
        session, listeners, kind="source.failing", at=now,
        subject=f"source:{source_id}/{obs.list_kind}",
        summary=f"{source_id} ({obs.list_kind}): snapshot quarantined, nothing applied: "
                f"{reasons}",
        dedupe_key=f"source.failing:{source_id}:{obs.list_kind}:quarantine:{now.isoformat()}",
        data={"source": source_id, "target": obs.list_kind, "url": obs.url,
              "quarantine": True, "reasons": list(diff.reasons), "rows": len(obs.rows)},
        source_id=source_id,
    )
    return [event] if event is not None else []


def _end_quarantine(session: Session, listeners: Sequence[EventListener],
                    obs: AgreementSnapshot, source_id: str, now: datetime) -> list[Event]:
    hold = session.get(AgreementHold, obs.list_kind)
    if hold is None:
        return []
    session.delete(hold)
    log.warning("%s: %s list normal again: quarantine ended", source_id, obs.list_kind)
    event = emit(
        session, listeners, kind="source.recovered", at=now,
        subject=f"source:{source_id}/{obs.list_kind}",
        summary=f"{source_id} ({obs.list_kind}): a normal snapshot again, quarantine ended",
        dedupe_key=f"source.recovered:{source_id}:{obs.list_kind}:quarantine:{now.isoformat()}",
        data={"source": source_id, "target": obs.list_kind, "url": obs.url,
              "quarantine": True},
        source_id=source_id,
    )
    return [event] if event is not None else []


# ---------------------------------------------------------------------------- rows


def _rekey(session: Session, every: list[Agreement], by_key: dict[AgreementKey, Agreement],
           diff: SnapshotDiff) -> None:
    """Renamed and moved agreements take their new identity (same row, same history)."""
    taken = {a.identity: a for a in every}
    for change in (*diff.renamed, *diff.changed):
        if change.old_key is None or change.old_key not in by_key:
            continue
        agreement = by_key.pop(change.old_key)
        identity = identity_string(change.key)
        squatter = taken.get(identity)
        if squatter is not None and squatter is not agreement:
            # an ended agreement held this identity: it keeps its history under a new name
            squatter.identity = f"{identity}~{squatter.id}"
            session.add(squatter)
            session.flush()
        agreement.identity = identity
        taken[identity] = agreement
        by_key[change.key] = agreement
        session.add(agreement)
    session.flush()


def _write_rows(session: Session, by_key: dict[AgreementKey, Agreement], diff: SnapshotDiff,
                now: datetime) -> dict[AgreementKey, Agreement]:
    stored: dict[AgreementKey, Agreement] = {}
    for key, row in diff.rows.items():
        identity = identity_string(key)
        existing = by_key.get(key) or session.exec(
            select(Agreement).where(Agreement.identity == identity)).first()
        if existing is None:
            existing = Agreement(identity=identity, state=row.state, agency=row.agency,
                                 support_type=row.support_type, first_seen=now, last_seen=now)
        existing.identity = identity
        existing.state, existing.agency, existing.support_type = row.state, row.agency, \
            row.support_type
        existing.county, existing.type = row.county, row.type
        earliest = [d for d in (existing.signed, row.signed) if d is not None]
        existing.signed = min(earliest) if earliest else None
        existing.signed_published = row.signed
        existing.moa_url, existing.addendum_url = row.moa_url, row.addendum_url
        existing.status, existing.extra, existing.last_seen = row.status, dict(row.extra), now
        existing.absences, existing.absent_since = 0, None
        session.add(existing)
        stored[key] = existing
        by_key[key] = existing
    return stored


def _write_absences(session: Session, by_key: dict[AgreementKey, Agreement], diff: SnapshotDiff,
                    now: datetime) -> None:
    for absence in diff.absent:
        agreement = by_key.get(absence.key)
        if agreement is not None:
            agreement.absences, agreement.absent_since = absence.absences, absence.since
            session.add(agreement)
    for change in diff.removed:
        agreement = by_key.get(change.key)
        if agreement is not None and agreement.status == diff.list_kind:
            agreement.status = "removed"
            agreement.absences += 1
            session.add(agreement)
    for row in diff.promoted:
        agreement = by_key.get(agreement_key(row))
        if agreement is not None and agreement.status == "pending":
            agreement.status = "promoted"  # its participating row (another name) goes on
            session.add(agreement)
    for key in diff.returned:
        log.info("%s list: %s is back before its ending was confirmed", diff.list_kind,
                 "|".join(key))


def _latest_versions(session: Session, ids: list[int]) -> dict[int, AgreementVersion]:
    if not ids:
        return {}
    newest = (select(func.max(AgreementVersion.id))
              .group_by(col(AgreementVersion.agreement_id)))
    rows = session.exec(select(AgreementVersion).where(col(AgreementVersion.id).in_(newest)))
    return {v.agreement_id: v for v in rows.all()}


def _write_versions(session: Session, stored: dict[AgreementKey, Agreement],
                    by_key: dict[AgreementKey, Agreement], diff: SnapshotDiff,
                    record: AgreementSnapshotRecord) -> None:
    """Extend each agreement's current run of snapshots, or start a new one when it changed."""
    snapshot_id = record.id or 0
    entries: list[tuple[Agreement, str, AgreementRow]] = [
        (a, "seen", diff.rows[key]) for key, a in stored.items()]
    gone = [(a.key, a.row) for a in diff.absent] + [(c.key, c.row) for c in diff.removed]
    for key, row in gone:
        agreement = by_key.get(key)
        if agreement is not None:
            entries.append((agreement, "absent", row))
    latest = _latest_versions(session, [a.id for a, _, _ in entries if a.id is not None])
    for agreement, kind, row in entries:
        last = latest.get(agreement.id or 0)
        shape = (kind, diff.list_kind, row.agency, row.support_type, row.county, row.signed,
                 row.moa_url)
        if last is not None and shape == (last.kind, last.list_kind, last.agency,
                                           last.support_type, last.county, last.signed,
                                           last.moa_url):
            last.last_snapshot_id, last.snapshots = snapshot_id, last.snapshots + 1
            session.add(last)
            continue
        session.add(AgreementVersion(
            agreement_id=agreement.id or 0, kind=kind, list_kind=diff.list_kind,
            agency=row.agency, support_type=row.support_type, county=row.county,
            signed=row.signed, moa_url=row.moa_url, first_snapshot_id=snapshot_id,
            last_snapshot_id=snapshot_id,
        ))


# ---------------------------------------------------------------------------- events


def _summary(kind: str, change: AgreementChange) -> str:
    row = change.row
    head = f"{row.agency} ({row.state}, {row.support_type})"
    if kind == "agreement.renamed":
        before = change.previous.agency if change.previous else ""
        return f"{before} ({row.state}, {row.support_type}) renamed {row.agency} [{change.how}]"
    if kind == "agreement.added":
        return f"{head} {'listed' if change.baseline else 'signed a 287(g) agreement'}"
    if kind == "agreement.changed":
        if change.how == "moved" and change.previous is not None:
            return (f"{change.previous.agency} ({row.state}, {row.support_type}): agreement "
                    f"moved to {row.agency}")
        parts = [f.field + (" (correction)" if f.correction else "") for f in change.fields]
        return f"{head} changed: {', '.join(parts)}"
    return f"{head} {_WHAT[kind]}"


def _emit_change(session: Session, listeners: Sequence[EventListener], change: AgreementChange,
                 obs: AgreementSnapshot, source_id: str, now: datetime) -> Event | None:
    row = change.row
    identity = identity_string(change.key)
    kind = change.event_kind
    fields = [
        {"field": f.field, "before": f.before, "after": f.after,
         **({"correction": True} if f.correction else {})}
        for f in change.fields
    ]
    data: dict[str, Any] = {
        "state": row.state, "agency": row.agency, "county": row.county, "type": row.type,
        "support_type": row.support_type,
        "signed": row.signed.isoformat() if row.signed else None,
        "moa_url": row.moa_url or None, "list": obs.list_kind, "baseline": change.baseline,
        "from_pending": change.from_pending, "changes": fields,
    }
    if kind == "agreement.renamed":
        data.update(old=change.previous.agency if change.previous else "", new=row.agency,
                    how=change.how)
    if kind == "agreement.changed" and change.how:
        data.update(how=change.how, moved=change.how == "moved")
    if kind == "agreement.removed":
        data["absences"] = change.absences
    digest = hashlib.sha256(repr((kind, identity, fields, data.get("old"))).encode()
                            ).hexdigest()[:12]
    return emit(
        session, listeners, kind=kind, at=now, subject=f"agreement:{identity}",
        summary=_summary(kind, change),
        dedupe_key=f"{kind}:{identity}:{digest}:{now.isoformat()}", data=data,
        source_id=source_id,
    )
