"""`status`: sources and outbox health; exit 3 when a source fails or the outbox is stuck."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any

from monitor.cli._common import EXIT_OK, EXIT_STATUS, Clock, SubParsers, open_app, print_json

__all__ = ["STUCK_AFTER", "add_parsers", "cmd_status"]

#: a delivery that could have gone longer ago than this makes the outbox "stuck" (exit 3)
STUCK_AFTER = timedelta(hours=1)
#: tracked dockets listed one per line under a pushed source (the rest: `--json`)
PUSH_LINES = 50


def add_parsers(sub: SubParsers) -> None:
    """`status [--json]`."""
    p = sub.add_parser("status", help="sources and outbox health (exit 3 when unhealthy)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace, clock: Clock) -> int:
    """Each source's last poll, success, failures (and quota), and the outbox."""
    from monitor import queries  # lazy: the database stack

    now = clock()
    with open_app(args, clock) as app:
        status = queries.status(app.engine, app.config, now=now)
    outbox = status["outbox"]
    oldest = outbox.get("oldest_pending")
    # late, not merely pending: a digest's or quiet hours' deliveries wait by design
    waiting = outbox.get("oldest_due", oldest)
    stuck = outbox.get("failed", 0) > 0 or (
        waiting is not None
        and now - datetime.fromisoformat(waiting.replace("Z", "+00:00")) > STUCK_AFTER
    )
    failing = [s for s in status["sources"] if s.get("failing")]
    if args.json:
        print_json(status)
    else:
        for s in status["sources"]:
            flag = "FAILING" if s.get("failing") else "ok"
            print(f"{s['id']:16} {s['kind']:14} {flag:8} last poll {s['last_poll'] or 'never'}"
                  f"  last success {s['last_success'] or 'never'}"
                  f"  failures {s['consecutive_failures']}")
            if s.get("last_error"):
                print(f"    last error: {s['last_error']}")
            if s.get("quota"):
                print(f"    quota: {json.dumps(s['quota'])}")
            if s.get("push"):
                _print_push(s["push"])
        print(f"outbox: {outbox['pending']} pending, {outbox['failed']} failed, "
              f"oldest pending {oldest or '-'}")
    return EXIT_STATUS if failing or stuck else EXIT_OK


def _print_push(push: dict[str, Any]) -> None:
    """Push (webhooks) or poll, per tracked docket, and when the last push came."""
    dockets = push["dockets"]
    pushed = sum(1 for d in dockets if d["mode"] == "push")
    state = "enabled" if push["enabled"] else "off (see `court-monitor doctor courtlistener`)"
    silent = "  SILENT: no webhook while filings were missed" if push["silent"] else ""
    print(f"    push: {state}; {pushed} dockets pushed, {len(dockets) - pushed} polled; "
          f"last push {push['last_push'] or 'never'}{silent}")
    for d in dockets[:PUSH_LINES]:
        print(f"      {d['court']:8} {d['docket_number']:24} {d['mode']:5} "
              f"last push {d['last_push'] or 'never'}")
    if len(dockets) > PUSH_LINES:
        print(f"      ... {len(dockets) - PUSH_LINES} more (all of them: status --json)")
