"""`serve`: the read-only site alone (pages, the JSON API, feeds, health, the webhook), without
the scheduler. `court-monitor run` serves the same site when `[server] enabled = true`."""

from __future__ import annotations

import argparse
import dataclasses

from monitor.cli._common import EXIT_OK, Clock, SubParsers, open_app

__all__ = ["add_parsers", "cmd_serve"]


def add_parsers(sub: SubParsers) -> None:
    """`serve [--bind ADDR] [--port N]`."""
    p = sub.add_parser("serve", help="serve the site (pages, API, feeds) without polling")
    p.add_argument("--bind", metavar="ADDR", help="address to listen on (default [server] bind)")
    p.add_argument("--port", type=int, metavar="N", help="port (default [server] port; 0: any)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, clock: Clock) -> int:
    """Serve until SIGINT or SIGTERM."""
    from monitor.matters import sync_config_matters  # lazy: the database stack
    from monitor.server import serve_forever  # lazy: the web stack

    with open_app(args, clock) as app:
        updates = {k: v for k, v in (("bind", args.bind), ("port", args.port)) if v is not None}
        if updates:
            server = app.config.server.model_copy(update=updates)
            app.config = dataclasses.replace(app.config, server=server)
        sync_config_matters(app.engine, app.config, now=clock(), listeners=app.store.listeners)
        serve_forever(app)
    return EXIT_OK
