"""The command line: `court-monitor [--config FILE] COMMAND`.

Exit codes (contracts.md): 0 ok; 1 runtime error; 2 usage or configuration error; 3 `status`
found a failing source or a stuck outbox. `calc`, `init`, `check-config` and `--help` never open
the database and import no heavy library. This module and the scheduler are the only places that
read the clock.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from monitor.errors import ConfigError, MonitorError, UsageError
from monitor.logs import one_line, quiet_libraries

__all__ = ["build_parser", "main", "run_command", "system_clock"]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_STATUS = 0, 1, 2, 3


def system_clock() -> datetime:
    """The real clock (UTC, aware)."""
    return datetime.now(UTC)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = _Parser(
        prog="court-monitor",
        description="Watch court dockets and agency sources for 287(g) and mandamus matters.",
    )
    parser.add_argument("--config", metavar="FILE", help="config file (default: see README)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("init", help="write a config file to start from")
    p.add_argument("path", nargs="?", help="where (default: the user's config dir)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    sub.add_parser("check-config", help="validate the config and say what it does")

    p = sub.add_parser("poll", help="poll the sources")
    p.add_argument("--once", action="store_true", required=True, help="one round, then exit")
    p.add_argument("--dry-run", action="store_true", help="fetch and match; store nothing")
    p.add_argument("--source", action="append", help="only this source id (repeatable)")
    p.add_argument("--no-dispatch", action="store_true", help="leave alerts in the outbox")

    sub.add_parser("run", help="run the daemon (scheduler, dispatcher, feeds)")

    p = sub.add_parser("cases", help="list tracked cases")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="include untracked cases")
    p.add_argument("--limit", type=int, metavar="N", help="at most N cases (a page)")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N cases")
    p = sub.add_parser("case", help="one case and its timeline")
    p.add_argument("court")
    p.add_argument("docket")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("track", help="track a case outright")
    p.add_argument("court")
    p.add_argument("docket")
    p.add_argument("--tag", action="append", default=[])
    p = sub.add_parser("untrack", help="stop tracking a case (history is kept)")
    p.add_argument("court")
    p.add_argument("docket")
    p = sub.add_parser("events", help="the event log")
    p.add_argument("--since", help="ISO date/time, or 24h, 7d")
    p.add_argument("--after", type=int, metavar="ID", help="events after this id")
    p.add_argument("--kind", action="append", help="only these kinds (globs)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="at most N events (next page: --after the last id)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("status", help="sources and outbox health (exit 3 when unhealthy)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    dbsub.add_parser("upgrade", help="migrate the schema to this release")
    p = sub.add_parser("backup", help="copy the SQLite database safely (VACUUM INTO)")
    p.add_argument("dest")
    p = sub.add_parser("prune", help="delete old events that nothing waits on")
    p.add_argument("--older-than", default="365d", help="age, e.g. 365d (default)")

    _add_optional_parsers(sub)
    return parser


def _add_optional_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from monitor import commands_ext

    commands_ext.add_parsers(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and `python -m monitor`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_libraries(logging.DEBUG if args.verbose else logging.INFO)
    return run_command(args, clock=system_clock)



def run_command(args: argparse.Namespace, *, clock: Callable[[], datetime]) -> int:
    """Run parsed arguments at the clock's time; errors become messages and exit codes."""
    from monitor import commands

    try:
        return commands.dispatch(args, clock=clock)
    except ConfigError as exc:
        print(f"court-monitor: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"court-monitor: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MonitorError as exc:
        print(f"court-monitor: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a raw traceback
        print(f"court-monitor: error: {one_line(exc)}"
              f"{'' if getattr(args, 'verbose', False) else ' (run with -v for the traceback)'}",
              file=sys.stderr)
        if getattr(args, "verbose", False):
            traceback.print_exc(file=sys.stderr)
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
