"""Backups and retention."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete
from sqlmodel import col, select

from monitor.db import sqlite_path, write_session
from monitor.errors import StoreError
from monitor.models import Delivery, Event

__all__ = ["backup", "prune"]


def backup(engine: Engine, dest: Path) -> None:
    """Copy a live SQLite database safely with `VACUUM INTO` (copying a WAL file is unsafe)."""
    if sqlite_path(str(engine.url)) is None:
        raise StoreError("backup works on SQLite; for PostgreSQL use pg_dump")
    if dest.exists():
        raise StoreError(f"{dest} exists; choose a new file")
    if not dest.parent.is_dir():
        raise StoreError(f"cannot write the backup: the folder {dest.parent} does not exist")
    raw = engine.raw_connection()  # VACUUM cannot run inside the transaction SQLAlchemy opens
    try:
        raw.cursor().execute("VACUUM INTO ?", (str(dest),))
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the backup to {dest}: {exc}") from None
    finally:
        raw.close()


def prune(engine: Engine, *, before: datetime) -> int:
    """Delete events older than `before` whose deliveries are all settled (sent or failed)."""
    with write_session(engine) as session:
        waiting = select(Delivery.event_id).where(Delivery.status == "pending")
        old_ids = session.exec(
            select(Event.id).where(Event.at < before, col(Event.id).not_in(waiting))
        ).all()
        if not old_ids:
            return 0
        session.execute(delete(Delivery).where(col(Delivery.event_id).in_(old_ids)))
        session.execute(delete(Event).where(col(Event.id).in_(old_ids)))
        return len(old_ids)
