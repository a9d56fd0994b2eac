"""The event log's bottom: append an event once (its dedupe key) and run the listeners on it.

Everything that records a change (the store's appliers, deadlines, matters, agreements, the poll
round's source health) emits through `emit`; the listeners (derived deadlines, then routing to
the outbox) run inside the same transaction, so an event and what follows from it commit
together or not at all. This module imports only the models: nothing it calls can call back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from monitor.db import stored_row
from monitor.models import Event

__all__ = ["EventListener", "emit", "emitted", "listeners_of"]

#: Called inside the transaction for every new event (routing to the outbox, deadlines...).
EventListener = Callable[[Session, Event], None]


def emit(
    session: Session,
    listeners: Sequence[EventListener],
    *,
    kind: str,
    at: datetime,
    subject: str,
    summary: str,
    dedupe_key: str,
    data: dict[str, Any] | None = None,
    case_id: int | None = None,
    matter_id: str | None = None,
    source_id: str = "",
    private: bool = False,
) -> Event | None:
    """Append one event unless its dedupe key exists; run the listeners on it."""
    # One plain INSERT that the unique index on the dedupe key turns away when the event
    # exists (no read first, no autoflush: every event is written as it is made, so none can
    # wait unflushed with this key).
    event = stored_row(session, Event, dict(
        kind=kind, at=at, subject=subject, summary=summary, data=data or {},
        dedupe_key=dedupe_key, case_id=case_id, matter_id=matter_id, source_id=source_id,
        private=private,
    ), unless="dedupe_key")
    if event is None:
        return None
    # Listeners that emit events of their own (derived deadlines) route them through the same
    # chain: they find it with `listeners_of`.
    session.info["listeners"] = listeners
    session.info.setdefault("emitted", []).append(event)
    for listener in listeners:
        listener(session, event)
    return event


def listeners_of(session: Session) -> Sequence[EventListener]:
    """The listener chain of the event being handled in `session` (empty before any event)."""
    chain: Sequence[EventListener] = session.info.get("listeners", ())
    return chain


def emitted(session: Session) -> list[Event]:
    """Every event emitted in `session` so far, listeners' included, oldest first."""
    return list(session.info.get("emitted", []))
