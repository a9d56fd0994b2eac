"""`db upgrade`, `backup FILE`, `prune --older-than AGE`: the database's upkeep."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.cli._common import EXIT_OK, Clock, SubParsers, open_app
from monitor.errors import ConfigError
from sources.durations import parse_duration

__all__ = ["add_parsers", "cmd_backup", "cmd_db", "cmd_prune"]


def add_parsers(sub: SubParsers) -> None:
    """`db upgrade`, `backup DEST`, `prune [--older-than 365d]`."""
    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True, parser_class=type(p))
    dbsub.add_parser("upgrade", help="migrate the schema to this release")
    p.set_defaults(handler=cmd_db)
    p = sub.add_parser("backup", help="copy the SQLite database safely (VACUUM INTO)")
    p.add_argument("dest")
    p.set_defaults(handler=cmd_backup)
    p = sub.add_parser("prune", help="delete old events that nothing waits on")
    p.add_argument("--older-than", default="365d", help="age, e.g. 365d (default)")
    p.set_defaults(handler=cmd_prune)


def cmd_db(args: argparse.Namespace, clock: Clock) -> int:
    """`db upgrade`: migrate the schema and say the revision."""
    from monitor.config import load_config  # lazy: pydantic off `--help`
    from monitor.db import make_engine  # lazy: the database stack
    from monitor.migrate import current_revision, upgrade  # lazy: alembic

    engine = make_engine(load_config(args.config).database_url)
    try:
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, clock: Clock) -> int:
    """A consistent copy of a live SQLite database (`VACUUM INTO`)."""
    from monitor import maintenance  # lazy: the database stack

    with open_app(args, clock) as app:
        maintenance.backup(app.engine, Path(args.dest))
    print(f"backup written to {args.dest}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, clock: Clock) -> int:
    """Delete events older than the age whose deliveries are all settled."""
    from monitor import maintenance  # lazy: the database stack

    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise ConfigError(str(exc), key="--older-than") from None
    with open_app(args, clock) as app:
        removed = maintenance.prune(app.engine, before=clock() - age)
    print(f"pruned {removed} events")
    return EXIT_OK
