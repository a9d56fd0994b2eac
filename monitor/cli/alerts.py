"""`alerts test NAME | pending | retry | dispatch`: the outbox by hand."""

from __future__ import annotations

import argparse

from monitor.cli._common import EXIT_OK, Clock, SubParsers, open_app, print_json
from monitor.errors import ConfigError

__all__ = ["add_parsers", "cmd_dispatch", "cmd_pending", "cmd_retry", "cmd_test"]


def add_parsers(sub: SubParsers) -> None:
    """`alerts test NAME`, `alerts pending [--json]`, `alerts retry`, `alerts dispatch`."""
    p = sub.add_parser("alerts", help="the outbox: test a subscription, list, requeue")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    q = asub.add_parser("test", help="send a test message to a subscription's channels")
    q.add_argument("name")
    q.set_defaults(handler=cmd_test)
    q = asub.add_parser("pending", help="deliveries waiting or failed")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_pending)
    asub.add_parser("retry", help="requeue failed deliveries").set_defaults(handler=cmd_retry)
    asub.add_parser("dispatch", help="send what is due now").set_defaults(handler=cmd_dispatch)


def cmd_test(args: argparse.Namespace, clock: Clock) -> int:
    """Send a test message to one subscription's channels (no database)."""
    from monitor.alerts.channels import AppriseNotifier  # lazy: apprise
    from monitor.alerts.outbox import send_test  # lazy: apprise
    from monitor.config import load_config  # lazy: pydantic off `--help`

    config = load_config(args.config)
    sub = next((s for s in config.subscriptions if s.name == args.name), None)
    if sub is None:
        names = ", ".join(s.name for s in config.subscriptions)
        raise ConfigError(f"no subscription {args.name!r} (have: {names})",
                          path=config.path, key="subscription")
    send_test(sub, AppriseNotifier(), clock())
    print(f"test message sent to {len(sub.channels)} channel(s) of {sub.name}")
    return EXIT_OK


def cmd_pending(args: argparse.Namespace, clock: Clock) -> int:
    """Deliveries waiting or failed, oldest first."""
    from monitor.alerts.queue import pending  # lazy: the database stack

    with open_app(args, clock) as app:
        rows = [p.as_json() for p in pending(app.engine)]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        print(f"{r['id']:6} {r['status']:8} {r['subscription']:14} attempts "
              f"{r['attempts']} next {r['next_try'] or 'now'}  {r['summary']}")
        if r["last_error"]:
            print(f"       last error: {r['last_error']}")
    if not rows:
        print("outbox empty")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace, clock: Clock) -> int:
    """Requeue the failed deliveries."""
    from monitor.alerts.queue import retry_failed  # lazy: the database stack

    with open_app(args, clock) as app:
        print(f"requeued {retry_failed(app.engine)} deliveries")
    return EXIT_OK


def cmd_dispatch(args: argparse.Namespace, clock: Clock) -> int:
    """Send what is due now (for at most the drain budget) and say what is left."""
    from monitor.jobs import DRAIN_BUDGET, dispatch_outbox  # lazy: the database stack

    with open_app(args, clock) as app:
        sent = dispatch_outbox(app, budget=DRAIN_BUDGET)
    print(f"outbox: {sent.sent} sent, {sent.retrying + sent.gave_up} failed, "
          f"{sent.unanswered} unanswered, {sent.left} left")
    return EXIT_OK
