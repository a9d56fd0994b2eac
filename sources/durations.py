"""Durations as the config writes them: `<int>(s|m|h|d)` (contracts.md, "Configuration")."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `15m`, `45s` -> timedelta (ValueError otherwise)."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"expected a duration like 15m, 12h or 30d, got {text!r}")
    try:
        return timedelta(**{_UNITS[m[2]]: int(m[1])})
    except OverflowError:
        raise ValueError(f"duration {text.strip()!r} is too long") from None
