"""The database engine: SQLite (WAL, busy timeout, BEGIN IMMEDIATE writes) or PostgreSQL by URL.

SQLite WAL trap (design.md): a transaction that reads and then writes fails at once with
"database is locked" when another connection committed in between, whatever the busy timeout.
So every write transaction here starts with BEGIN IMMEDIATE (`write_session`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast, overload

from pydantic.fields import FieldInfo
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Insert,
    Table,
    Update,
    bindparam,
    create_engine,
    event,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    Mapped,
    QueryableAttribute,
    configure_mappers,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean
from sqlmodel import Session, SQLModel

from monitor.errors import StoreError

__all__ = ["StartsWith", "created_in", "held_rows", "insert_rows", "make_engine",
           "read_session", "stored_row", "update_columns", "write_session", "sqlite_path"]

#: `Session.info` key: {table name: primary keys of the rows `stored_row` wrote}
_CREATED = "db.created"

#: `Session.info` key: what `insert_rows` and `update_columns` hold until the end of `held_rows`
_HELD = "db.held"

#: `Session.info` key: (the session's transaction, its connection) (`_connection`)
_CONNECTION = "db.connection"

#: parameters of one SQLite statement at most (the limit of SQLite before 3.32)
_SQLITE_MAX_PARAMS = 999

_Row = TypeVar("_Row", bound=SQLModel)


class StartsWith(ColumnElement[bool]):
    """`column` starts with `prefix`, case-sensitive, every character of it taken literally, in
    a form the column's index serves: `GLOB 'prefix*'` on SQLite (whose LIKE ignores case, so
    it can use no ordinary index and reads the whole table), `LIKE 'prefix%'` elsewhere."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition: no "= 1" after it
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("prefix", InternalTraversal.dp_string)]

    def __init__(self, column: ColumnElement[str] | Mapped[str], prefix: str) -> None:
        self.column: ColumnElement[str] = (
            column.expression if isinstance(column, QueryableAttribute)
            else cast(ColumnElement[str], column))
        self.prefix = prefix


@compiles(StartsWith, "sqlite")
def _starts_with_sqlite(element: StartsWith, compiler: SQLCompiler, **kw: Any) -> str:
    # GLOB's wildcards are * ? [ ; each is itself inside brackets
    pattern = "".join(f"[{c}]" if c in "*?[" else c for c in element.prefix) + "*"
    return compiler.process(element.column.op("GLOB", is_comparison=True)(pattern), **kw)


@compiles(StartsWith)
def _starts_with(element: StartsWith, compiler: SQLCompiler, **kw: Any) -> str:
    pattern = "".join(f"\\{c}" if c in "\\%_" else c for c in element.prefix) + "%"
    return compiler.process(element.column.like(pattern, escape="\\"), **kw)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


#: the page cache of each SQLite connection, in KiB (see `_configure_sqlite`)
SQLITE_CACHE_KIB = 8192


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
        # 8 MB of page cache a connection (SQLite's default is 2 MB): a round at national
        # scale (1M entries) touches ~5 MB of index pages; with 2 MB it re-read most of them
        # from the file in every transaction (10,200 reads a round; 4,200 with 8 MB). Pages
        # are cached as they are read, so a small database never uses it all.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
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


@overload
def stored_row(session: Session, model: type[_Row], values: Mapping[str, Any]) -> _Row: ...


@overload
def stored_row(session: Session, model: type[_Row], values: Mapping[str, Any], *,
               unless: str | tuple[str, ...]) -> _Row | None: ...


def stored_row(session: Session, model: type[_Row], values: Mapping[str, Any], *,
               unless: str | tuple[str, ...] | None = None) -> _Row | None:
    """INSERT a new row of `model` from `values` (the model's defaults for the fields left
    out) as one plain statement, and return it attached to `session` as a stored row, its
    primary key set: what `session.add(model(**values)); session.flush()` does for one row,
    without a unit-of-work flush (the store adds hundreds of rows a round, each needing its id
    before the next; what else the session holds waits for its next flush) and without building
    the object through the model's constructor (a fifth of a millisecond a row).

    `unless` names a unique column (or the columns of a unique constraint): a stored row with
    the same value(s) there means no insert and None, decided by the database's unique index in
    the same statement (one round trip, no read first) where it can (SQLite, PostgreSQL).
    """
    table = _table(model)
    key = _primary_key(table)
    row = _complete(model, values)
    params = {name: value for name, value in row.items()
              if not (name == key and value is None)}
    connection = _connection(session)
    dialect = connection.dialect.name
    if dialect == "sqlite":
        cursor = _sqlite_insert(connection, table, [params], unless)
        if unless is not None and cursor.rowcount == 0:
            return None
        inserted: Any = (cursor.lastrowid,)
    elif unless is None:
        inserted = connection.execute(_insert(table), params).inserted_primary_key
    else:
        if dialect != "postgresql":
            found = connection.execute(_exists(table, _columns(unless)), {
                f"value_{name}": row[name] for name in _columns(unless)}).first()
            if found is not None:
                return None
            result = connection.execute(_insert(table), params)
        else:
            result = connection.execute(_insert_unless(dialect, table, _columns(unless)), params)
            # The id comes back by RETURNING: no row returned is the insert turned away.
            if result.rowcount == 0 or result.inserted_primary_key in (None, (None,)):
                return None
        inserted = result.inserted_primary_key
    if inserted is None or inserted[0] is None:
        raise StoreError(f"no id for the new {table.name} row")
    row[key] = inserted[0]
    _note_created(session, table, inserted[0])
    return _attached(session, model, row, set(values))


def created_in(session: Session, model: type[SQLModel]) -> Set[Any]:
    """The primary keys of the `model` rows written in `session` by `stored_row`: rows no
    other connection can have seen, nor pointed at, yet."""
    created: Set[Any] = session.info.get(_CREATED, {}).get(_table(model).name, frozenset())
    return created


def _note_created(session: Session, table: Table, key: Any) -> None:
    session.info.setdefault(_CREATED, {}).setdefault(table.name, set()).add(key)


def insert_rows(session: Session, model: type[SQLModel],
                rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT new rows of `model` (the model's defaults for the fields left out) in one
    statement, without objects: for rows nothing in the transaction reads back (the outbox's
    deliveries). Inside `held_rows` they are written when its block ends."""
    if not rows:
        return
    held: _Held | None = session.info.get(_HELD)
    if held is not None:
        held.rows.setdefault(model, []).extend(rows)
        return
    _insert_now(session, model, rows)


@dataclass
class _Held:
    """What `held_rows` holds: new rows by model, in order; column updates by (table, primary
    key), the later value of a column replacing the earlier."""

    rows: dict[type[SQLModel], list[Mapping[str, Any]]]
    updates: dict[tuple[Table, Any], dict[str, Any]]


@contextmanager
def held_rows(session: Session) -> Iterator[None]:
    """Hold the rows `insert_rows` is given and the columns `update_columns` sets inside the
    block, and write them when it ends without error: each table's new rows in one statement,
    in the order given, and its updates in one statement for the rows setting the same
    columns. For a transaction that writes rows for many events and reads none of them back by
    SQL (the store's apply: its deliveries, its cases' entry counts), one statement where there
    was one an event. Nested blocks write at the end of the outermost."""
    if _HELD in session.info:
        yield
        return
    held = _Held({}, {})
    session.info[_HELD] = held
    try:
        yield
        del session.info[_HELD]
        for model, rows in held.rows.items():
            _insert_now(session, model, rows)
        by_columns: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
        for (table, key), values in held.updates.items():
            names = tuple(sorted(values))
            by_columns.setdefault((table, names), []).append(
                {"row_key": key, **{f"new_{name}": values[name] for name in names}})
        for (table, names), params in by_columns.items():
            _update_now(session, table, names, params)
    finally:
        session.info.pop(_HELD, None)


def _insert_now(session: Session, model: type[SQLModel],
                rows: Sequence[Mapping[str, Any]]) -> None:
    table = _table(model)
    key = _primary_key(table)
    params = [{name: value for name, value in _complete(model, row).items()
               if not (name == key and value is None)} for row in rows]
    connection = _connection(session)
    if connection.dialect.name == "sqlite" and len({tuple(p) for p in params}) == 1:
        _sqlite_insert_many(connection, table, params)
        return
    connection.execute(_insert(table), params if len(params) > 1 else params[0])


def update_columns(session: Session, row: SQLModel, **values: Any) -> None:
    """UPDATE some columns of a stored `row` at once, as one plain statement, and set them on
    the object as stored (not left for the session's next flush to write). Inside `held_rows`
    the statement waits for the end of its block."""
    table = _table(type(row))
    key = getattr(row, _primary_key(table))
    held: _Held | None = session.info.get(_HELD)
    if held is not None:
        held.updates.setdefault((table, key), {}).update(values)
    else:
        names = tuple(sorted(values))
        _update_now(session, table, names,
                    [{"row_key": key, **{f"new_{name}": values[name] for name in names}}])
    for name, value in values.items():
        set_committed_value(row, name, value)


def _update_now(session: Session, table: Table, names: tuple[str, ...],
                params: Sequence[Mapping[str, Any]]) -> None:
    """UPDATE the columns `names` of rows (`row_key`, `new_<name>` each), each row once."""
    statement = _update(table, names)
    connection = _connection(session)
    if connection.dialect.name != "sqlite":
        connection.execute(statement, params if len(params) > 1 else params[0])
        return
    plan = _sqlite_statement(connection.dialect, statement, None)
    if len(params) == 1:
        _sqlite_run(connection, plan, params)
        return
    _sqlite_update_many(connection, table, names, plan, params)


def _sqlite_update_many(connection: Connection, table: Table, names: tuple[str, ...],
                        plan: _Statement, params: Sequence[Mapping[str, Any]]) -> None:
    """The updates of `plan` for many rows as one statement on SQLite (a `CASE` on the primary
    key for each column), within SQLite's oldest limit of parameters a statement."""
    convert = dict(plan.pairs)
    quote = connection.dialect.identifier_preparer.quote
    key = quote(_primary_key(table))
    per = max(1, _SQLITE_MAX_PARAMS // (2 * len(names) + 1))

    def value(row: Mapping[str, Any], name: str) -> Any:
        conversion = convert[name]
        return row[name] if conversion is None else conversion(row[name])

    for start in range(0, len(params), per):
        chunk = params[start:start + per]
        when = " ".join(["WHEN ? THEN ?"] * len(chunk))
        sets = ", ".join(f"{quote(name)} = CASE {key} {when} END" for name in names)
        sql = (f"UPDATE {quote(table.name)} SET {sets} "
               f"WHERE {key} IN ({', '.join(['?'] * len(chunk))})")
        values: list[Any] = []
        for name in names:
            for row in chunk:
                values += [value(row, "row_key"), value(row, f"new_{name}")]
        values += [value(row, "row_key") for row in chunk]
        _sqlite_execute(connection, sql, [tuple(values)])


def _connection(session: Session) -> Connection:
    """`session.connection()`, kept for the session's transaction (a tenth of the cost of a
    row's INSERT went to finding it again for each row)."""
    transaction = session.get_transaction()
    kept: tuple[Any, Connection] | None = session.info.get(_CONNECTION)
    if transaction is not None and kept is not None and kept[0] is transaction:
        return kept[1]
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


@dataclass(frozen=True)
class _Statement:
    """A statement compiled once for SQLite: its text, its parameters' names in order and the
    type conversions SQLAlchemy applies to each (JSON, dates, booleans)."""

    sql: str
    #: (parameter name, its conversion or None), in the statement's order
    pairs: tuple[tuple[str, Callable[[Any], Any] | None], ...]


@lru_cache(maxsize=256)
def _sqlite_statement(dialect: Dialect, statement: Insert | Update,
                      names: tuple[str, ...] | None) -> _Statement:
    compiled = statement.compile(dialect=dialect,
                                 column_keys=list(names) if names is not None else None)
    return _Statement(str(compiled), tuple(
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in compiled.positiontup or ()))


def _sqlite_run(connection: Connection, plan: _Statement,
                rows: Sequence[Mapping[str, Any]]) -> Any:
    """Run `plan` for `rows` through the driver's cursor, with the conversions SQLAlchemy
    would apply: a third of the cost of `Connection.execute` for one row (its statement
    cache, events and result objects are what the store paid per row). Errors come out as
    SQLAlchemy's, as from `execute`."""
    return _sqlite_execute(connection, plan.sql, _sqlite_values(plan, rows))


def _sqlite_values(plan: _Statement, rows: Sequence[Mapping[str, Any]]
                   ) -> list[tuple[Any, ...]]:
    """The driver's parameters of `rows` for `plan`: in its order, converted."""
    return [tuple([row[name] if convert is None else convert(row[name])
                   for name, convert in plan.pairs]) for row in rows]


def _sqlite_execute(connection: Connection, sql: str, values: Sequence[tuple[Any, ...]]) -> Any:
    """Run `sql` once for each of `values` through the driver's cursor; errors as
    SQLAlchemy's."""
    driver = connection.connection.driver_connection
    if driver is None:
        raise StoreError("the database connection is closed")
    try:
        if len(values) == 1:
            return driver.execute(sql, values[0])
        return driver.executemany(sql, values)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, values, exc, sqlite3.Error,
                                  dialect=connection.dialect) from exc


def _sqlite_insert_many(connection: Connection, table: Table,
                        rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (the same columns each) on SQLite as multi-row statements (`VALUES
    (...), (...)`, within SQLite's oldest limit of parameters a statement): one statement
    runs where `executemany` ran one for each row."""
    plan = _sqlite_statement(connection.dialect, _insert(table), tuple(rows[0]))
    per = max(1, _SQLITE_MAX_PARAMS // max(len(plan.pairs), 1))
    head, _, one = plan.sql.partition(" VALUES ")
    values = _sqlite_values(plan, rows)
    for start in range(0, len(values), per):
        chunk = values[start:start + per]
        sql = f"{head} VALUES {', '.join([one] * len(chunk))}"
        _sqlite_execute(connection, sql, [tuple(v for row in chunk for v in row)])


def _sqlite_insert(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                   unless: str | tuple[str, ...] | None) -> Any:
    """INSERT `rows` (the same columns each) on SQLite (`_sqlite_run`)."""
    statement = _insert(table) if unless is None else \
        _insert_unless("sqlite", table, _columns(unless))
    plan = _sqlite_statement(connection.dialect, statement, tuple(rows[0]))
    return _sqlite_run(connection, plan, rows)


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


@cache
def _primary_key(table: Table) -> str:
    (key,) = [c.key for c in table.primary_key.columns]
    return key


@cache
def _insert(table: Table) -> Insert:
    return table.insert()


def _columns(unless: str | tuple[str, ...]) -> tuple[str, ...]:
    return (unless,) if isinstance(unless, str) else unless


@cache
def _insert_unless(dialect: str, table: Table, columns: tuple[str, ...]) -> Insert:
    build = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return build(table).on_conflict_do_nothing(index_elements=list(columns))


@cache
def _exists(table: Table, columns: tuple[str, ...]) -> Any:
    first = table.c[columns[0]]
    return select(first).where(*[table.c[name] == bindparam(f"value_{name}")
                                 for name in columns]).limit(1)


@cache
def _update(table: Table, names: tuple[str, ...]) -> Update:
    key = _primary_key(table)
    return table.update().where(table.c[key] == bindparam("row_key")).values(
        {name: bindparam(f"new_{name}") for name in names})


@cache
def _configured(model: type[SQLModel]) -> None:
    """The mappers set up (what a first query does), before an object is built without one."""
    configure_mappers()


#: default values a row can share (no copy made): what pydantic hands out as they are
_SHARED_DEFAULTS = (type(None), bool, int, float, str, bytes, datetime, date)


@cache
def _defaults(model: type[SQLModel]) -> tuple[tuple[str, Any, FieldInfo | None], ...]:
    """Each field of `model`: (name, its default, None) when a row can share the default
    (None for a required field), else (name, None, the field) to ask it for a fresh one."""
    found: list[tuple[str, Any, FieldInfo | None]] = []
    for name, field in model.model_fields.items():
        if field.is_required():
            found.append((name, None, None))
        elif field.default_factory is None and isinstance(field.default, _SHARED_DEFAULTS):
            found.append((name, field.default, None))
        else:
            found.append((name, None, field))
    return tuple(found)


def _complete(model: type[SQLModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every column's value: `values`, else the model field's default (a fresh one from a
    default factory), as the model's constructor would set it."""
    row: dict[str, Any] = {}
    for name, default, field in _defaults(model):
        if name in values:
            row[name] = values[name]
        elif field is None:
            row[name] = default
        else:
            row[name] = field.get_default(call_default_factory=True)
    return row


def _attached(session: Session, model: type[_Row], row: dict[str, Any],
              given: set[str]) -> _Row:
    """The object of a row just written, as a query would load it, attached to `session`."""
    _configured(model)
    obj: _Row = sa_inspect(model).class_manager.new_instance()
    obj.__dict__.update(row)
    # what the constructor records as set (pydantic's `model_fields_set`)
    object.__setattr__(obj, "__pydantic_fields_set__", given)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
