"""A source's `SourceState` rows as plain values: read in one statement, written back in two.

A round reads every target's row when it plans, and its bookkeeping reads them again and
touches each (its last poll, its last success): as ORM objects that costs an object built per
row and a unit-of-work flush of hundreds of rows, as plain values one SELECT, one UPDATE
executed for the rows that changed and one INSERT for the new ones. `StateRow` has the model's
columns; what it is compared with to find the changed rows is `snapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from monitor.models import SourceState

__all__ = ["StateRow", "read_states", "snapshot", "write_states"]


@dataclass(slots=True)
class StateRow:
    """One (source id, target) row of `SourceState` (`target` "" is the source as a whole);
    `id` None: not stored yet."""

    source_id: str
    target: str
    kind: str = ""
    etag: str = ""
    last_modified: str = ""
    content_hash: str = ""
    last_poll: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    last_error: str = ""
    failing: bool = False
    retry_not_before: datetime | None = None
    cursor: str = ""
    id: int | None = None


#: the columns a row's values are written to (all but its primary key)
_COLUMNS = tuple(f.name for f in fields(StateRow) if f.name != "id")


def _table() -> Table:
    table: Table = SourceState.__table__  # type: ignore[attr-defined]
    return table


def read_states(connection: Connection, source_id: str) -> dict[str, StateRow]:
    """The source's rows by target, as stored now (one statement)."""
    table = _table()
    result = connection.execute(select(*(table.c[name] for name in (*_COLUMNS, "id")))
                                .where(table.c.source_id == source_id))
    return {row.target: row for row in (StateRow(**values) for values in result.mappings())}


def snapshot(row: StateRow) -> tuple[Any, ...]:
    """A row's values, to tell later whether the round changed it."""
    return tuple(getattr(row, name) for name in _COLUMNS)


def write_states(connection: Connection, rows: Iterable[StateRow],
                 before: Mapping[int, tuple[Any, ...]]) -> None:
    """Store the rows not stored yet and those whose values differ from `before` (their
    `snapshot` when read, by id): one INSERT and one UPDATE, each for many rows."""
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        values = snapshot(row)
        if row.id is None:
            new.append(dict(zip(_COLUMNS, values, strict=True)))
        elif values != before.get(row.id):
            changed.append({"_id": row.id, **dict(zip(_COLUMNS, values, strict=True))})
    table = _table()
    if new:
        connection.execute(insert(table), new)
    if changed:
        connection.execute(update(table).where(table.c.id == bindparam("_id")), changed)
