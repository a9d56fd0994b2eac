"""`init` and `check-config`: the configuration, never the database."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli._common import EXIT_OK, EXIT_USAGE, Clock, SubParsers, load

if TYPE_CHECKING:
    from monitor.config import SubscriptionConfig

__all__ = ["add_parsers", "cmd_check_config", "cmd_init"]


def add_parsers(sub: SubParsers) -> None:
    """`init [PATH] [--force]`, `check-config`."""
    p = sub.add_parser("init", help="write a config file to start from")
    p.add_argument("path", nargs="?", help="where (default: the user's config dir)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_init)
    p = sub.add_parser("check-config", help="validate the config and say what it does")
    p.set_defaults(handler=cmd_check_config)


def cmd_init(args: argparse.Namespace, clock: Clock) -> int:
    """Write the commented defaults to PATH (or the user's config dir)."""
    from monitor.config import defaults_text, find_config_file  # lazy: pydantic off `--help`

    if args.path:
        path = Path(args.path)
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        path = Path(xdg) / "court-monitor" / "config.toml"
    if path.exists() and not args.force:
        print(f"court-monitor: {path} exists (use --force to overwrite)", file=sys.stderr)
        return EXIT_USAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(defaults_text(), encoding="utf-8")
    print(f"wrote {path}")
    found = find_config_file(args.config)
    if found is not None and found.resolve() != path.resolve():
        print(f"note: {found} is found first and will be used", file=sys.stderr)
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace, clock: Clock) -> int:
    """Validate the configuration and say what it will do."""
    config = load(args)
    print(f"config: {config.path}")
    print(f"database: {_mask_url(config.database_url)}")
    print(f"feeds: {config.feeds_dir}")
    for src in config.sources:
        state = "" if src.enabled else " (disabled)"
        print(f"source {src.id}: kind {src.kind}, every {src.interval}{state}")
    for watch in config.watches:
        print(f"watch {watch.name}: tags {', '.join(watch.tags) or '-'}")
    for sub in config.subscriptions:
        print(f"subscription {sub.name}: {len(sub.channels)} channel(s), events "
              f"{', '.join(sub.events)}, {_when(sub, config.deadlines.timezone)}")
    for matter in config.matters:
        print(f"matter {matter.id}: {matter.kind} {matter.agency}")
    print("ok")
    return EXIT_OK


def _mask_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):([^@]+)@", r"//\1:***@", url)


def _when(sub: SubscriptionConfig, default_zone: str) -> str:
    """`digest weekly monday 07:00 America/Chicago`, `immediate, quiet 22:00-07:00 UTC`."""
    zone = sub.timezone or default_zone
    if sub.mode == "digest":
        day = f" {sub.digest_day}" if sub.digest == "weekly" else ""
        when = f"digest {sub.digest}{day} {sub.digest_at:%H:%M} {zone}"
    else:
        when = "immediate"
    if sub.quiet_hours is not None:
        start, end = sub.quiet_hours
        when += f", quiet {start:%H:%M}-{end:%H:%M} {zone}"
    return when + (f", urgent {', '.join(sub.urgent)}" if sub.urgent else "")
