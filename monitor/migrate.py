"""Schema migrations with Alembic (batch mode on SQLite): `court-monitor db upgrade`."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

from monitor.errors import StoreError

__all__ = ["current_revision", "head_revision", "upgrade"]

_MIGRATION_LOCK = 287_0001  # any constant: the advisory lock key of schema upgrades


def _config(connection: object | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("monitor") / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` (idempotent)."""
    from alembic import command

    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Daemons starting together on one PostgreSQL migrate one after the other.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            command.upgrade(_config(connection), revision)
    except Exception as exc:  # alembic and drivers raise many kinds
        raise StoreError(f"database migration failed: {type(exc).__name__}: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not initialized)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this release ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()
