"""`items [LIST] [--removed] [--json]`: the rows of the lists watched row by row (`list_page`)."""

from __future__ import annotations

import argparse

from monitor.cli._common import EXIT_OK, Clock, SubParsers, open_app, print_json

__all__ = ["add_parsers", "cmd_items"]


def add_parsers(sub: SubParsers) -> None:
    """`items`."""
    p = sub.add_parser("items", help="rows of the lists watched row by row (list_page)")
    p.add_argument("list", nargs="?", metavar="LIST", help="only this list (its source id)")
    p.add_argument("--removed", action="store_true", help="include rows no longer listed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_items)


def cmd_items(args: argparse.Namespace, clock: Clock) -> int:
    """Each stored row (oldest first): one JSON array with `--json`, else one line per row.

    `--json`: `[{list, key, link, fields, first_seen, last_seen, absences, absent_since,
    removed_at}]`.
    """
    from monitor.db import read_session  # lazy: the database stack
    from monitor.list_store import list_items  # lazy: the database stack

    with open_app(args, clock) as app, read_session(app.engine) as session:
        rows = list_items(session, args.list, removed=args.removed)
    if args.json:
        print_json(rows)
        return EXIT_OK
    for row in rows:
        fields = row["fields"]
        text = fields.get("title") or next((v for v in fields.values() if v), "")
        gone = f"  (removed {row['removed_at']})" if row["removed_at"] else ""
        absent = f"  (absent {row['absences']}x)" if row["absences"] and not gone else ""
        print(f"{row['list']}  {row['key']}  {text}{gone}{absent}")
    return EXIT_OK
