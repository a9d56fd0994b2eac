"""What is waiting in the outbox: `alerts pending`, `alerts retry` and `status --json`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import col, select

from monitor.alerts.render import as_utc
from monitor.db import read_session, write_session
from monitor.models import Delivery, Event
from monitor.views import iso_z

__all__ = ["PendingDelivery", "outbox_summary", "pending", "retry_failed"]


@dataclass(frozen=True)
class PendingDelivery:
    """One row of `alerts pending` (channel is the hash, never the URL)."""

    id: int
    event_id: int
    kind: str
    summary: str
    subscription: str
    channel: str
    mode: str
    status: str
    attempts: int
    next_try: datetime | None
    last_error: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The `--json` form (UTC times with `Z`)."""
        return {
            "id": self.id, "event_id": self.event_id, "kind": self.kind,
            "summary": self.summary, "subscription": self.subscription,
            "channel": self.channel, "mode": self.mode, "status": self.status,
            "attempts": self.attempts, "next_try": iso_z(self.next_try, timespec="seconds"),
            "last_error": self.last_error, "created_at": iso_z(self.created_at, timespec="seconds"),
        }


def retry_failed(engine: Engine) -> int:
    """Requeue every failed delivery (`alerts retry`); returns how many."""
    with write_session(engine) as session:
        rows = session.exec(select(Delivery).where(Delivery.status == "failed")).all()
        for row in rows:
            row.status, row.attempts, row.next_try = "pending", 0, None
            session.add(row)
        return len(rows)


def pending(engine: Engine) -> list[PendingDelivery]:
    """Deliveries not sent yet (pending and failed), oldest first (`alerts pending`)."""
    with read_session(engine) as session:
        rows = session.exec(
            select(Delivery, Event).join(Event, col(Event.id) == col(Delivery.event_id))
            .where(col(Delivery.status).in_(["pending", "failed"]))
            .order_by(col(Delivery.id))
        ).all()
        return [
            PendingDelivery(
                id=d.id or 0, event_id=d.event_id, kind=e.kind, summary=e.summary,
                subscription=d.subscription, channel=d.channel, mode=d.mode, status=d.status,
                attempts=d.attempts, next_try=d.next_try, last_error=d.last_error,
                created_at=d.created_at,
            )
            for d, e in rows
        ]


def outbox_summary(engine: Engine, now: datetime) -> dict[str, Any]:
    """`{"pending", "failed", "oldest_pending", "due"}` for `status --json`.

    `due` (an extension) counts pending deliveries whose next try has come at `now`.
    """
    at = as_utc(now)
    with read_session(engine) as session:
        counts = {status: int(n) for status, n in session.exec(
            select(Delivery.status, func.count())
            .where(col(Delivery.status).in_(["pending", "failed"]))
            .group_by(Delivery.status)
        ).all()}
        oldest = session.exec(
            select(func.min(Delivery.created_at)).where(Delivery.status == "pending")
        ).first()
        due = session.exec(select(func.count()).select_from(Delivery).where(
            Delivery.status == "pending",
            (col(Delivery.next_try).is_(None)) | (col(Delivery.next_try) <= at),
        )).one()
    return {"pending": counts.get("pending", 0), "failed": counts.get("failed", 0),
            "oldest_pending": iso_z(oldest, timespec="seconds"), "due": int(due)}
