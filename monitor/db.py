"""The database engine: SQLite (WAL, busy timeout, BEGIN IMMEDIATE writes) or PostgreSQL by URL.

SQLite WAL trap (design.md): a transaction that reads and then writes fails at once with
"database is locked" when another connection committed in between, whatever the busy timeout.
So every write transaction here starts with BEGIN IMMEDIATE (`write_session`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel

from monitor.errors import StoreError

__all__ = ["insert_row", "make_engine", "read_session", "write_session", "sqlite_path"]


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """Create the engine; for SQLite create the parent folder and set WAL and a busy timeout."""
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the database folder {path.parent}: {exc}") from exc
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
            # We issue BEGIN ourselves (IMMEDIATE for writes); see the module docstring.
        )
        _configure_sqlite(engine, busy_timeout_s)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Disable pysqlite's own transaction handling so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.info.get("begin_mode", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the write lock from its start; commits on success."""
    with engine.connect() as conn:
        conn.info["begin_mode"] = "IMMEDIATE"
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.commit()
        finally:
            conn.info.pop("begin_mode", None)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only session (rolled back at the end)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def insert_row(session: Session, row: SQLModel) -> None:
    """INSERT a new `row` at once, as one plain statement on the session's connection, and
    attach it to the session as a stored row with its primary key set.

    What `session.add(row); session.flush()` does for one row, without a unit-of-work flush
    (the store adds thousands of rows a round, each needing its id before the next): the row's
    columns are written as they are; what else the session holds waits for its next flush.
    """
    table = row.__table__  # type: ignore[attr-defined]
    (key,) = [c.key for c in table.primary_key.columns]
    values = {c.key: getattr(row, c.key) for c in table.columns
              if not (c.key == key and getattr(row, c.key) is None)}
    inserted = session.connection().execute(table.insert(), values).inserted_primary_key
    if inserted is None:
        raise StoreError(f"no id for the new {table.name} row")
    setattr(row, key, inserted[0])
    make_transient_to_detached(row)
    session.add(row)
