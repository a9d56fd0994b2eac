"""`intake email`: one court notice from a mail server's pipe (Postfix alias, procmail), and
`intake aside`: the messages kept aside.

`court-monitor intake email < message.eml` judges the message (a court's sending domain,
proven by DKIM or the named server's Authentication-Results: the trust keys of the `imap`
source named by `--source`, else of the first `imap` source configured, else the defaults),
parses it and stores it like a poll would. Exit codes a mail server understands (sysexits.h):
0 taken (a notice stored, a message seen before, or one kept aside as unproven); 65 not a court
notice (the server bounces it; it is kept aside too); 75 try later: the database is busy (or
anything else went wrong: a notice is never dropped on our account; the server keeps it queued
and delivers it again).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from monitor.cli._common import (
    EXIT_DATAERR,
    EXIT_OK,
    EXIT_TEMPFAIL,
    Clock,
    SubParsers,
    load,
    open_app,
    print_json,
)
from monitor.errors import ConfigError, MonitorError

if TYPE_CHECKING:
    from monitor.config import Config, SourceConfig

__all__ = ["add_parsers", "cmd_intake_aside", "cmd_intake_email"]

#: a source id for notices piped in when no `imap` source is configured
PIPE_SOURCE_ID = "email"
#: bytes read from the pipe at most (a notice is a few kilobytes)
MAX_MESSAGE_BYTES = 10_000_000


def add_parsers(sub: SubParsers) -> None:
    """`intake email [--source ID] [--wait SECONDS]`, `intake aside [--json]`."""
    p = sub.add_parser("intake", help="take in court notices by email")
    inner = p.add_subparsers(dest="intake_command", required=True)
    q = inner.add_parser("email", help="one message on standard input (a mail server's pipe)")
    q.add_argument("--source", help="the imap source whose trust settings apply")
    q.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                   help="how long to wait for a busy database before exit 75 (default 30)")
    q.set_defaults(handler=cmd_intake_email)
    q = inner.add_parser("aside", help="the messages kept aside (not proven court notices)")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_intake_aside)


def cmd_intake_email(args: argparse.Namespace, clock: Clock) -> int:
    """Judge, parse and store one message from standard input."""
    from sqlalchemy.exc import SQLAlchemyError  # lazy: the database stack

    from monitor.app import App  # lazy: the database stack
    from sources.imap import Imap, trust_policy  # lazy: imapclient, dkimpy
    from sources.mail_intake import take_message  # lazy: the parser
    from sources.mail_trust import TrustPolicy, judge  # lazy: dkimpy

    raw = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
    try:
        config = load(args)
        source = _imap_source(config, args.source)
        options = source.options if source is not None else None
        policy = trust_policy(options) if isinstance(options, Imap.Options) else TrustPolicy()
        source_id = source.id if source is not None else PIPE_SOURCE_ID
        track_cases = options.track_cases if isinstance(options, Imap.Options) else True
        intake = take_message(raw, judge(raw, policy), track_cases=track_cases)
        app = App(config=config, clock=clock, busy_timeout_s=max(args.wait, 0.0))
        try:
            result = app.store.apply(intake.observations, source_id=source_id, now=clock())
        finally:
            app.close()
    except (MonitorError, SQLAlchemyError, OSError) as exc:
        busy = "locked" in str(exc) or "busy" in str(exc)
        why = "the database is busy" if busy else f"{type(exc).__name__}: {exc}"
        print(f"court-monitor: intake: try later: {why}", file=sys.stderr)
        return EXIT_TEMPFAIL
    mail = intake.mail
    if intake.outcome == "not_a_notice":
        print(f"court-monitor: intake: not a court notice: {intake.reason}", file=sys.stderr)
        return EXIT_DATAERR
    if intake.outcome == "untrusted":
        print(f"intake: kept aside (not proven to come from a court): {intake.reason}")
        return EXIT_OK
    entries = result.count("entry.added")
    print(f"intake: taken {', '.join(mail.cases)}: {entries} new entries, "
          f"{len(result.events)} events ({mail.reason})")
    return EXIT_OK


def _imap_source(config: Config, wanted: str | None) -> SourceConfig | None:
    """The `imap` source whose trust settings apply (enabled or not)."""
    sources = [s for s in config.sources if s.kind == "imap"]
    if wanted is None:
        return sources[0] if sources else None
    for source in sources:
        if source.id == wanted:
            return source
    raise ConfigError(f"no imap source {wanted!r}", path=config.path, key="--source")


def cmd_intake_aside(args: argparse.Namespace, clock: Clock) -> int:
    """The messages kept aside, newest first: when, from whom, what, and why."""
    from monitor.db import read_session  # lazy: the database stack
    from monitor.mail_store import set_aside_messages  # lazy: the database stack

    with open_app(args, clock) as app, read_session(app.engine) as session:
        rows = set_aside_messages(session, limit=args.limit)
        listing: list[dict[str, Any]] = [
            {"received_at": row.received_at.isoformat().replace("+00:00", "Z"),
             "source": row.source_id, "sender": row.sender, "subject": row.subject,
             "message_id": row.message_id, "reason": row.reason}
            for row in rows
        ]
    if args.json:
        print_json(listing)
    else:
        for item in listing:
            print(f"{item['received_at']}  {item['sender'] or '-'}  {item['subject'][:60]}")
            print(f"    {item['reason']}")
    return EXIT_OK
