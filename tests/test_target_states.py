"""A source's state rows as plain values (`monitor.target_states`): what a round's bookkeeping
reads and writes back. New rows are inserted, changed ones updated, the rest left alone, and
the ORM reads back exactly what was written."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlmodel import SQLModel, select

from monitor.db import make_engine, read_session, write_session
from monitor.models import SourceState
from monitor.target_states import StateRow, read_states, snapshot, write_states

NOW = datetime(2026, 3, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def test_new_rows_are_inserted_changed_ones_updated_and_the_rest_untouched(
        engine: Engine) -> None:
    with write_session(engine) as session:
        connection = session.connection()
        assert read_states(connection, "s") == {}
        write_states(connection, [
            StateRow(source_id="s", target="", kind="pacer_rss", last_poll=NOW),
            StateRow(source_id="s", target="dcd", kind="pacer_rss", content_hash="a",
                     last_success=NOW, cursor="c1"),
            StateRow(source_id="s", target="txsd", kind="pacer_rss", failing=True,
                     consecutive_failures=3, last_error="HTTP 500"),
        ], {})
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    with write_session(engine) as session:
        connection = session.connection()
        rows = read_states(connection, "s")
        before = {r.id: snapshot(r) for r in rows.values() if r.id is not None}
        assert set(rows) == {"", "dcd", "txsd"}
        rows["txsd"].failing, rows["txsd"].consecutive_failures = False, 0
        write_states(connection, rows.values(), before)
    assert sum(sql.startswith("UPDATE") for sql in statements) == 1
    assert not any(sql.startswith("INSERT") for sql in statements)
    with read_session(engine) as session:
        stored = {r.target: r for r in session.exec(select(SourceState))}
    assert stored["dcd"].content_hash == "a" and stored["dcd"].cursor == "c1"
    assert stored["dcd"].last_success == NOW
    assert not stored["txsd"].failing and stored["txsd"].consecutive_failures == 0
    assert stored["txsd"].last_error == "HTTP 500"
    assert stored[""].kind == "pacer_rss" and stored[""].last_poll == NOW


def test_a_state_row_has_every_column_of_the_model_with_its_default() -> None:
    # a column added to SourceState and not to StateRow would never be read nor written, and a
    # default changed on one side only would make the round's new rows differ from the model's
    columns = {c.name for c in SourceState.__table__.columns}  # type: ignore[attr-defined]
    assert {f.name for f in fields(StateRow)} == columns
    defaults = {f.name: f.default for f in fields(StateRow) if f.name not in ("source_id",
                                                                              "target")}
    assert defaults == {name: SourceState.model_fields[name].default for name in defaults}
