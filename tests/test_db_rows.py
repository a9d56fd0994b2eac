"""Rows written without the ORM's unit of work (`monitor.db`): the same stored values as the
ORM writes, the dedupe of a unique column in the INSERT itself, SQLAlchemy's errors."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from monitor.db import (
    StartsWith,
    created_in,
    held_rows,
    insert_rows,
    make_engine,
    read_session,
    stored_row,
    update_columns,
    write_session,
)
from monitor.migrate import upgrade
from monitor.models import Case, Delivery, Event

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "rows.db"
    upgrade(make_engine(f"sqlite:///{path}"))
    return path


def _event(key: str) -> dict[str, object]:
    return dict(kind="entry.added", at=AT, subject="dcd:1:25-cv-00001", summary="ORDER",
                data={"entry_number": 3, "tags": ["287g"], "text": "é"}, dedupe_key=key,
                case_id=7, source_id="pacer", private=True)


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return [row[1:] for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY id')]


def test_stored_rows_equal_what_the_orm_writes(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    case_values = dict(court="dcd", docket_number="1:25-cv-00001", docket_key="25-cv-00001",
                       case_name="Doe v. USCIS", date_filed=date(2025, 1, 2), first_seen=AT,
                       tags=["287g"], matched_by=[{"watch": "w", "field": "f", "pattern": "p"}])
    with write_session(engine) as session:
        session.add(Event(**_event("a")))  # type: ignore[arg-type]
        session.flush()
        made = stored_row(session, Event, _event("b"))
        session.add(Case(**case_values))  # type: ignore[arg-type]
        session.flush()
        case = stored_row(session, Case, {**case_values, "docket_key": "25-cv-00002"})
        assert made.id is not None and case.id is not None
        assert made.data["tags"] == ["287g"] and case.entry_count == 0 and case.tracked
        assert made in session and case in session  # attached as stored rows
        assert not session.dirty and not session.new
        assert created_in(session, Case) == {2} and created_in(session, Event) == {2}
    events, cases = _rows(db, "event"), _rows(db, "case")
    assert events[0][:5] == events[1][:5] and events[0][6:] == events[1][6:]
    assert cases[0][:2] == cases[1][:2] and cases[0][3:] == cases[1][3:]


def test_a_unique_value_already_stored_writes_nothing(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with write_session(engine) as session:
        assert stored_row(session, Event, _event("k"), unless="dedupe_key") is not None
        assert stored_row(session, Event, {**_event("k"), "summary": "again"},
                          unless="dedupe_key") is None
    with write_session(engine) as session:
        assert stored_row(session, Event, _event("k"), unless="dedupe_key") is None
        assert [e.summary for e in session.exec(select(Event))] == ["ORDER"]


def test_errors_are_sqlalchemys(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with pytest.raises(IntegrityError), write_session(engine) as session:
        stored_row(session, Event, _event("k"))
        stored_row(session, Event, _event("k"))  # the unique dedupe key, without `unless`
    with pytest.raises(IntegrityError), write_session(engine) as session:
        insert_rows(session, Delivery, [dict(event_id=1, subscription="s", channel="c")])
    assert _rows(db, "event") == [] and _rows(db, "delivery") == []  # rolled back


def test_deliveries_and_column_updates(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with write_session(engine) as session:
        event = stored_row(session, Event, _event("k"))
        insert_rows(session, Delivery, [
            dict(event_id=event.id, subscription="s", channel=f"c{n}", created_at=AT)
            for n in range(3)])
        case = stored_row(session, Case, dict(court="dcd", docket_number="1", docket_key="1",
                                              first_seen=AT))
        update_columns(session, case, entry_count=4, last_activity=AT)
        assert case.entry_count == 4 and not session.dirty
    deliveries = _rows(db, "delivery")
    assert [d[2] for d in deliveries] == ["c0", "c1", "c2"]
    assert {(d[3], d[4], d[5]) for d in deliveries} == {("immediate", "pending", 0)}
    with write_session(engine) as session:
        stored = session.get(Case, case.id)
        assert stored is not None and stored.entry_count == 4
        assert stored.last_activity is not None
        assert stored.last_activity.replace(tzinfo=UTC) == AT


def test_held_rows_are_written_at_the_end_in_order(db: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("monitor.db._SQLITE_MAX_PARAMS", 20)  # statements of 2 deliveries
    engine = make_engine(f"sqlite:///{db}")
    with write_session(engine) as session:
        events = [stored_row(session, Event, _event(f"k{n}")) for n in range(3)]
        with held_rows(session):
            for event in events:
                insert_rows(session, Delivery, [
                    dict(event_id=event.id, subscription="s", channel=f"c{event.id}.{n}",
                         created_at=AT, mode=("urgent" if n else "digest")) for n in range(2)])
                with held_rows(session):  # nested: written by the outer block
                    insert_rows(session, Delivery, [dict(event_id=event.id, subscription="t",
                                                         channel="x", created_at=AT)])
            written = session.connection().exec_driver_sql("SELECT count(*) FROM delivery")
            assert written.scalar() == 0  # held: nothing written yet
        written = session.connection().exec_driver_sql("SELECT count(*) FROM delivery")
        assert written.scalar() == 9
    held = _rows(db, "delivery")
    assert [(d[0], d[1], d[2], d[3]) for d in held] == [
        (e.id, sub, channel, mode) for e in events for sub, channel, mode in (
            ("s", f"c{e.id}.0", "digest"), ("s", f"c{e.id}.1", "urgent"),
            ("t", "x", "immediate"))]
    with pytest.raises(RuntimeError), write_session(engine) as session, held_rows(session):
        insert_rows(session, Delivery, [dict(event_id=events[0].id, subscription="u",
                                             channel="c")])
        raise RuntimeError("the block fails: nothing held is written")
    assert _rows(db, "delivery") == held


def test_held_column_updates_are_written_at_the_end(db: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("monitor.db._SQLITE_MAX_PARAMS", 10)  # statements of 2 rows
    engine = make_engine(f"sqlite:///{db}")
    with write_session(engine) as session:
        cases = [stored_row(session, Case, dict(court="dcd", docket_number=str(n),
                                                docket_key=str(n), first_seen=AT))
                 for n in range(5)]
        with held_rows(session):
            for n, case in enumerate(cases):
                update_columns(session, case, entry_count=n + 1,
                               **({"last_activity": AT} if n % 2 else {}))
            update_columns(session, cases[0], entry_count=7)  # the later value
            update_columns(session, cases[2], last_activity=AT)  # another column
            assert [c.entry_count for c in cases] == [7, 2, 3, 4, 5] and not session.dirty
            written = session.connection().exec_driver_sql(
                'SELECT count(*) FROM "case" WHERE entry_count > 0')
            assert written.scalar() == 0  # held: nothing written yet
    with read_session(engine) as session:
        stored = session.exec(select(Case).order_by(col(Case.id))).all()
        assert [c.entry_count for c in stored] == [7, 2, 3, 4, 5]
        assert [c.last_activity is not None for c in stored] == [False, True, True, True, False]
        assert stored[1].last_activity is not None
        assert stored[1].last_activity.replace(tzinfo=UTC) == AT


KINDS = ["item.added", "agreement.added", "item.removed", "ITEM.added", "items.added",
         "item", "itemX.added", "entry.added"]


def _events_of_kinds(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with write_session(engine) as session:
        for n, kind in enumerate(KINDS):
            stored_row(session, Event, {**_event(f"k{n}"), "kind": kind})


def test_starts_with_is_a_case_sensitive_prefix_that_uses_the_kind_index(db: Path) -> None:
    _events_of_kinds(db)
    engine = make_engine(f"sqlite:///{db}")
    query = select(Event.kind).where(StartsWith(col(Event.kind), "item."),
                                     col(Event.private).is_(True)).order_by(col(Event.id))
    with read_session(engine) as session:
        assert list(session.exec(query).all()) == ["item.added", "item.removed"]
        assert list(session.exec(select(Event.kind).where(
            ~StartsWith(col(Event.kind), "item."), StartsWith(col(Event.kind), "a"))).all()) \
            == ["agreement.added"]
        sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(db) as conn:
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
    # a LIKE (case-insensitive in SQLite) would be "SCAN event": every row read
    assert "USING INDEX ix_event_kind" in plan, plan


@pytest.mark.parametrize("prefix, matched", [
    ("a_b", ["a_b.x"]), ("a%", ["a%.x"]), ("a*", ["a*.x"]), ("a?", ["a?.x"]), ("a[", ["a[.x"]),
    ("a\\", ["a\\.x"]), ("", ["a_b.x", "aXb.x", "a%.x", "a*.x", "a?.x", "a[.x", "a\\.x"])])
def test_starts_with_takes_every_character_of_the_prefix_literally(
        db: Path, prefix: str, matched: list[str]) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with write_session(engine) as session:
        for n, kind in enumerate(["a_b.x", "aXb.x", "a%.x", "a*.x", "a?.x", "a[.x", "a\\.x"]):
            stored_row(session, Event, {**_event(f"w{n}"), "kind": kind})
    with read_session(engine) as session:
        assert list(session.exec(select(Event.kind).where(
            StartsWith(col(Event.kind), prefix)).order_by(col(Event.id))).all()) == matched
