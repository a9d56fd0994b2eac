"""Checks the config loader runs on values a type alone cannot judge.

Each check returns nothing or raises `ValueError` with a message that never echoes a secret
(an Apprise URL is named by its position and scheme only); `monitor.config` turns that into a
`ConfigError` naming the file and the key. Everything that would otherwise crash later (at
start, in a dispatch round, in a poll) is caught here, so `check-config` and start-up see it.
Heavy libraries are imported only when a value needs them (Apprise for non-console channels).
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "check_apprise_urls",
    "check_database_url",
    "check_http_urls",
    "check_timezone",
    "parse_quiet_hours",
]

#: SQLAlchemy dialect -> the drivers this project can run with (None: the dialect's default)
_DATABASE_DRIVERS: Mapping[str, Mapping[str | None, str]] = {
    "sqlite": {None: "sqlite3", "pysqlite": "sqlite3"},
    "postgresql": {None: "psycopg2", "psycopg": "psycopg", "psycopg2": "psycopg2"},
}


def check_timezone(name: str) -> str:
    """`name` when it is an IANA time zone this machine knows, else ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as "
                         "America/New_York)") from None
    return name


_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """`"22:00-07:00"` -> (22:00, 07:00); a period may wrap midnight, but not be empty."""
    found = _PERIOD.match(text)
    if found is None:
        raise ValueError(f"expected a period such as \"22:00-07:00\" (got {text!r})")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"not a time of day in {text!r} (00:00 to 23:59)")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(f"the period {text!r} is empty (start and end are the same)")
    return start, end


def check_database_url(url: str) -> None:
    """A database URL SQLAlchemy can open with an installed driver (SQLite or PostgreSQL)."""
    scheme, sep, _rest = url.partition("://")
    if not sep:
        raise ValueError("expected a URL such as sqlite:///path/monitor.db or "
                         "postgresql+psycopg://user@host/db")
    dialect, _, driver = scheme.lower().partition("+")
    drivers = _DATABASE_DRIVERS.get(dialect)
    if drivers is None:
        raise ValueError(f"unsupported database {dialect!r} (use sqlite or postgresql)")
    module = drivers.get(driver or None)
    if module is None:
        known = ", ".join(f"{dialect}+{d}" for d in drivers if d)
        raise ValueError(f"unsupported driver {driver!r} (use {known})")
    if importlib.util.find_spec(module) is None:
        raise ValueError(f"the driver module {module!r} is not installed "
                         "(pip install 'court-monitor[postgres]' and use postgresql+psycopg)")


def check_http_urls(options: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first (key path, message) of a source option that is a URL but not http(s), or None.

    URL-like means: under a key that names a URL (`url`, `*_url`, `*_urls`, `url_template`),
    or any text containing `://`.
    """
    for key, value in _strings(options, ""):
        top = key.split(".", 1)[0].split("[", 1)[0]
        named = top == "url" or top.endswith(("_url", "_urls", "url_template"))
        if not value or not (named or "://" in value):
            continue
        parts = urlsplit(value.replace("{court}", "court"))
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            scheme = parts.scheme or "none"
            return key, f"expected an http:// or https:// URL, got scheme {scheme!r}"
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            # A dict of URLs (`feed_urls`) is named by its own key.
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def check_apprise_urls(channels: Sequence[str], console_url: str) -> None:
    """Every channel is `console://` or a URL Apprise's own parser accepts.

    The message names the channel by position and scheme only: URLs carry passwords.
    """
    others = [(i, url) for i, url in enumerate(channels) if url.strip() != console_url]
    if not others:
        return
    import apprise

    quiet = logging.getLogger("apprise")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # Apprise logs the URL it refused, secret and all
    try:
        for i, url in others:
            try:
                usable = apprise.Apprise.instantiate(url) is not None
            except Exception:  # noqa: BLE001 - a plugin that raises on parse refuses the URL
                usable = False
            if not usable:
                scheme = urlsplit(url).scheme or "none"
                raise ValueError(f"channel {i + 1} (scheme {scheme!r}) is not a URL Apprise "
                                 "can use")
    finally:
        quiet.setLevel(level)
