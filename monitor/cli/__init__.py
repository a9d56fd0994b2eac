"""The command line: `court-monitor [--config FILE] COMMAND`.

`build_parser` asks each command group (one module each) to register its commands; every
command names its handler with `set_defaults(handler=...)`, and `run_command` runs it, turning
errors into one line and an exit code (`_common`). `calc`, `init`, `check-config` and `--help`
never open the database and import no heavy library: the group modules import only argparse
and light helpers at the top, and what a handler needs of the database stack it imports when
it runs (each such import is marked ``# lazy:``). This package and the scheduler are the only
places that read the clock.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.cli import (
    agency,
    alerts,
    calc,
    cases,
    db,
    deadlines,
    doctor,
    intake,
    lists,
    polling,
    replay,
    serve,
    setup,
    status,
)
from monitor.cli._common import EXIT_INTERRUPTED, EXIT_RUNTIME, EXIT_USAGE, Clock
from monitor.errors import ConfigError, MonitorError, UsageError
from monitor.logs import one_line, quiet_libraries

__all__ = ["build_parser", "main", "run_command", "system_clock"]

#: the command groups, in the order `--help` lists their commands
GROUPS = (setup, polling, cases, status, db, calc, deadlines, alerts, agency, lists, replay,
          intake, serve, doctor)


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
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


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


def run_command(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run the handler the parsed arguments name at the clock's time; errors become one line
    and an exit code."""
    try:
        code: int = args.handler(args, clock)
        return code
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
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line, never a raw traceback
        verbose = getattr(args, "verbose", False)
        print(f"court-monitor: error: {one_line(exc)}"
              f"{'' if verbose else ' (run with -v for the traceback)'}", file=sys.stderr)
        if verbose:
            traceback.print_exc(file=sys.stderr)
        return EXIT_RUNTIME
