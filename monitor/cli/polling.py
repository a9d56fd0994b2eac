"""`poll --once`, `run` (the daemon) and `feeds`: the jobs, by hand or on schedule."""

from __future__ import annotations

import argparse
import sys

from monitor.cli._common import EXIT_OK, Clock, SubParsers, open_app
from monitor.errors import ConfigError

__all__ = ["add_parsers", "cmd_feeds", "cmd_poll", "cmd_run"]


def add_parsers(sub: SubParsers) -> None:
    """`poll --once [--dry-run] [--source ID] [--no-dispatch]`, `run`, `feeds [--rebuild]`."""
    p = sub.add_parser("poll", help="poll the sources")
    p.add_argument("--once", action="store_true", required=True, help="one round, then exit")
    p.add_argument("--dry-run", action="store_true", help="fetch and match; store nothing")
    p.add_argument("--source", action="append", help="only this source id (repeatable)")
    p.add_argument("--no-dispatch", action="store_true", help="leave alerts in the outbox")
    p.set_defaults(handler=cmd_poll)
    p = sub.add_parser("run", help="run the daemon (scheduler, dispatcher, feeds)")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("feeds", help="render the Atom and ICS feeds whose events changed")
    p.add_argument("--rebuild", action="store_true", help="render every feed again")
    p.set_defaults(handler=cmd_feeds)


def cmd_poll(args: argparse.Namespace, clock: Clock) -> int:
    """One round of each (or each named) source, then reminders, the outbox and the feeds."""
    from monitor.jobs import DRAIN_BUDGET, after_poll  # lazy: the database stack

    with open_app(args, clock) as app:
        wanted = args.source or list(app.runner.sources)
        unknown = [s for s in wanted if s not in app.runner.sources]
        if unknown:
            raise ConfigError(f"no enabled source {', '.join(unknown)}", path=app.config.path,
                              key="source")
        for source_id in wanted:
            report = app.runner.poll(source_id, dry_run=args.dry_run)
            print(report.line())
            for error in report.errors:
                print(f"  error: {error}", file=sys.stderr)
            for line in report.would_track:
                print(f"  would track: {line}")
        if not args.dry_run:
            sent = after_poll(app, dispatch=not args.no_dispatch, budget=DRAIN_BUDGET)
            if sent is not None:
                print(f"outbox: {sent.sent} sent, {sent.retrying + sent.gave_up} failed, "
                      f"{sent.unanswered} unanswered, {sent.left} left")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, clock: Clock) -> int:
    """The daemon, until SIGTERM (it reads the real clock itself)."""
    from monitor.config import load_config  # lazy: pydantic off `--help`
    from monitor.daemon import run_daemon  # lazy: the whole stack

    return run_daemon(load_config(args.config))


def cmd_feeds(args: argparse.Namespace, clock: Clock) -> int:
    """`feeds [--rebuild]`: what the daemon's feeds job does, now."""
    from monitor.jobs import render_all_feeds  # lazy: the database stack

    with open_app(args, clock) as app:
        render_all_feeds(app, full=args.rebuild)
        print(f"feeds {'rebuilt' if args.rebuild else 'up to date'} in {app.config.feeds_dir}")
    return EXIT_OK
