"""What every command shares: exit codes (defined here, once), the clock type, `open_app()`,
`print_json` and `parse_since`.

Exit codes (contracts.md): 0 ok; 1 runtime error; 2 usage or configuration error; 3 `status`
found a failing source or a stuck outbox; 130 interrupted. Importing this module stays cheap:
the application (sqlmodel, httpx, apprise) is built inside `open_app` only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from monitor.errors import ConfigError, UsageError
from sources.durations import parse_duration

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.config import Config

__all__ = [
    "EXIT_DATAERR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RUNTIME",
    "EXIT_STATUS",
    "EXIT_TEMPFAIL",
    "EXIT_USAGE",
    "Clock",
    "Handler",
    "SubParsers",
    "load",
    "open_app",
    "parse_since",
    "print_json",
]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_STATUS = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
#: `intake email`, as mail servers read a delivery command's status (sysexits.h): the message
#: is no court notice (EX_DATAERR, bounced); the database is busy, try later (EX_TEMPFAIL)
EXIT_DATAERR, EXIT_TEMPFAIL = 65, 75

#: the clock a command runs at (the real one in `main`, a fixed one in tests)
Clock = Callable[[], datetime]
#: what `set_defaults(handler=...)` names: parsed arguments and a clock in, an exit code out
Handler = Callable[[argparse.Namespace, Clock], int]
#: the object `add_subparsers()` returns, on which each command group registers its commands
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def print_json(value: Any) -> None:
    """One JSON document on stdout (UTF-8 as is, indented), as every `--json` prints."""
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def load(args: argparse.Namespace) -> Config:
    """The configuration `--config` (or the usual search) names; its warnings on stderr."""
    from monitor.config import load_config  # lazy: pydantic stays off `calc` and `--help`

    config = load_config(args.config)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return config


@contextmanager
def open_app(args: argparse.Namespace, clock: Clock) -> Iterator[App]:
    """The application of the configured database (migrated), closed on the way out."""
    from monitor.app import App  # lazy: the database stack only for commands that use it

    app = App(config=load(args), clock=clock)
    try:
        yield app
    finally:
        app.close()


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO date or date-time, or a duration back from now (`24h`, `7d`)."""
    try:
        back = parse_duration(text)
    except ValueError as exc:
        if "too long" in str(exc):
            raise UsageError(f"--since {text}: {exc}") from None
        back = None
    if back is not None:
        try:
            return now - back
        except OverflowError:
            raise UsageError(f"--since {text} reaches back before the year 1") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"expected an ISO date or a duration like 24h, got {text!r}",
                          key="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
