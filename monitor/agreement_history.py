"""An agreement's life across snapshots (`agreements --history`), and the snapshots themselves.

Read-only queries over `Agreement`, `AgreementVersion`, `AgreementSnapshotRecord` and `Event`,
returning the `--json` shapes:

- `agreement_history(session, agency, state)`: one object per agreement whose name (current or
  any it had) contains `agency` once both are normalized (`sources.agreement_identity`):
  `{state, agency, support_type, county, signed, status, first_seen, last_seen, names, models,
  signed_dates, versions: [{kind: seen|absent, list, agency, support_type, county, signed,
  moa_url, snapshots, first: {url, fetched_at}, last: {url, fetched_at}}], events: [{id, kind,
  at, summary}]}`;
- `snapshot_records(session, list_kind)`: every list file fetched, oldest first:
  `{id, list, url, fetched_at, status: baseline|applied|quarantined, rows, rejected, notes}`.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from monitor.models import Agreement, AgreementSnapshotRecord, AgreementVersion, Event
from monitor.views import iso_z
from sources.agreement_identity import agency_key, agreement_key, identity_string, state_code

__all__ = ["agreement_history", "snapshot_records"]


def _record_json(r: AgreementSnapshotRecord) -> dict[str, Any]:
    return {"id": r.id, "list": r.list_kind, "url": r.url, "fetched_at": iso_z(r.fetched_at),
            "status": r.status, "rows": r.row_count, "rejected": r.rejected_count,
            "notes": list(r.notes or [])}


def snapshot_records(session: Session, list_kind: str | None = None) -> list[dict[str, Any]]:
    """Every fetched list file, oldest first (optionally of one list)."""
    query = select(AgreementSnapshotRecord).order_by(col(AgreementSnapshotRecord.id))
    if list_kind:
        query = query.where(AgreementSnapshotRecord.list_kind == list_kind)
    return [_record_json(r) for r in session.exec(query).all()]


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v not in (None, "")))


def agreement_history(session: Session, agency: str,
                      state: str | None = None) -> list[dict[str, Any]]:
    """The life of every agreement whose name, now or before, contains `agency`."""
    wanted = agency_key(agency)
    code = state_code(state) if state else ""
    versions: dict[int, list[AgreementVersion]] = {}
    for v in session.exec(select(AgreementVersion).order_by(col(AgreementVersion.id))).all():
        versions.setdefault(v.agreement_id, []).append(v)
    records = {r.id: r for r in session.exec(select(AgreementSnapshotRecord)).all()}
    out = []
    agreements = session.exec(select(Agreement).order_by(col(Agreement.state),
                                                         col(Agreement.agency))).all()
    for a in agreements:
        if code and state_code(a.state) != code:
            continue
        mine = versions.get(a.id or 0, [])
        names = _unique([v.agency for v in mine] + [a.agency])
        if not any(wanted in agency_key(name, a.state) for name in names):
            continue
        out.append(_history_json(session, a, mine, names, records))
    return out


def _history_json(session: Session, a: Agreement, mine: list[AgreementVersion],
                  names: list[str], records: dict[int | None, AgreementSnapshotRecord]
                  ) -> dict[str, Any]:
    subjects = {f"agreement:{a.identity}"} | {
        "agreement:" + identity_string(agreement_key(a.state, v.agency, v.support_type))
        for v in mine}
    events = session.exec(select(Event).where(col(Event.subject).in_(sorted(subjects)))
                          .order_by(col(Event.id))).all()

    def where(snapshot_id: int) -> dict[str, Any]:
        r = records.get(snapshot_id)
        return {"url": r.url if r else "", "fetched_at": iso_z(r.fetched_at) if r else None}

    return {
        "state": a.state, "agency": a.agency, "support_type": a.support_type,
        "county": a.county, "signed": a.signed.isoformat() if a.signed else None,
        "status": a.status, "first_seen": iso_z(a.first_seen), "last_seen": iso_z(a.last_seen),
        "names": names,
        "models": _unique([v.support_type for v in mine] + [a.support_type]),
        "signed_dates": _unique([v.signed.isoformat() if v.signed else None for v in mine]),
        "versions": [
            {"kind": v.kind, "list": v.list_kind, "agency": v.agency,
             "support_type": v.support_type, "county": v.county,
             "signed": v.signed.isoformat() if v.signed else None, "moa_url": v.moa_url or None,
             "snapshots": v.snapshots, "first": where(v.first_snapshot_id),
             "last": where(v.last_snapshot_id)}
            for v in mine
        ],
        "events": [{"id": e.id, "kind": e.kind, "at": iso_z(e.at), "summary": e.summary}
                   for e in events],
    }
