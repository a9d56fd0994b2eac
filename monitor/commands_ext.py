"""Commands contributed by the larger parts (deadlines, alerts, matters, agreements)."""

from __future__ import annotations

import argparse

from sources.base import Clock

__all__ = ["add_parsers", "dispatch"]


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the optional command groups."""
    try:
        from monitor.deadlines import calc
    except ImportError:
        return
    calc.add_parser(sub)


def dispatch(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run a command registered here."""
    if args.command == "calc":
        from monitor.deadlines import calc

        return calc.run(args)
    raise SystemExit(f"unknown command {args.command}")
