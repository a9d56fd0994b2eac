"""When a case's docket was last read, and the last entry seen: the evidence behind "overdue".

A docket counts as read when CourtListener synced it (`Case.cl_last_synced`, or its
`docket:<id>` target fetched successfully, even unchanged) or when the PACER RSS feed of its
court was read successfully (the `pacer_rss` target keyed by court id: the feed lists every new
filing of the court, so a read that shows nothing for the case is evidence nothing was filed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from monitor.models import Case, Entry, SourceState

__all__ = ["last_checked", "last_entry"]


def last_checked(session: Session, case: Case) -> datetime | None:
    """The latest successful read of the case's docket by any source, or None."""
    targets = [case.court]
    if case.cl_docket_id is not None:
        targets.append(f"docket:{case.cl_docket_id}")
    reads = [row.last_success for row in session.exec(
        select(SourceState).where(col(SourceState.target).in_(targets))).all()
        if row.last_success is not None and (
            row.target != case.court or row.kind == "pacer_rss")]
    if case.cl_last_synced is not None:
        reads.append(case.cl_last_synced)
    return max(reads) if reads else None


def last_entry(session: Session, case_id: int) -> dict[str, Any] | None:
    """The newest entry stored for the case: {entry_number, date_filed, text}."""
    row = session.exec(select(Entry).where(Entry.case_id == case_id).order_by(
        col(Entry.date_filed).desc(), col(Entry.id).desc())).first()
    if row is None:
        return None
    text = " ".join((row.description or row.short_description).split())
    return {"entry_number": row.entry_number,
            "date_filed": row.date_filed.isoformat() if row.date_filed else None,
            "text": text[:240]}
