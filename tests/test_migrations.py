"""The migrations build exactly the schema the models describe, and upgrade is idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import monitor.models  # noqa: F401
from monitor.db import make_engine
from monitor.migrate import current_revision, head_revision, upgrade


def test_upgrade_builds_the_model_schema_and_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ (add a migration): {diff}"
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        # every connection keeps 8 MB of pages (a national-scale round's index pages)
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert mode == "wal"
    assert cache == -8192
    assert synchronous == 1  # NORMAL: WAL commits without an fsync, checkpoints with one
