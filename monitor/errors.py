"""The one exception tree of court-monitor.

    MonitorError
     ├── ConfigError        a bad config: names the file, the key path and what was expected
     ├── UsageError         a command's argument is wrong (exit 2, like argparse's own errors)
     ├── SourceError        a source could not deliver (carries source id and URL)
     │    ├── FetchError    network, HTTP status, size cap, throttling
     │    │    └── DeferredError  not a failure: the request budget defers the rest of a round
     │    └── ParseError    the bytes did not hold what the source expects
     ├── StoreError         the database refused or is in an unexpected state
     ├── AlertError         a channel did not take a delivery
     └── DeadlineError      a deadline cannot be computed from the given input

This module imports nothing from the project, so `sources/` may use it.
"""

from __future__ import annotations

__all__ = [
    "AlertError",
    "ConfigError",
    "DeadlineError",
    "DeferredError",
    "FetchError",
    "MonitorError",
    "ParseError",
    "SourceError",
    "StoreError",
    "UsageError",
]


class MonitorError(Exception):
    """Base of every error court-monitor raises on purpose."""


class ConfigError(MonitorError):
    """A configuration problem: `path` is the file, `key` the dotted key path."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ""
        if path:
            where += f"{path}: "
        if key:
            where += f"{key}: "
        super().__init__(f"{where}{message}")


class UsageError(MonitorError):
    """A command-line argument is wrong: an unknown court, a docket that is not one, a
    duration or path that cannot be used."""


class SourceError(MonitorError):
    """A source failed; `source` is the source id, `url` what it was fetching."""

    def __init__(self, message: str, *, source: str = "", url: str = "") -> None:
        self.source = source
        self.url = url
        self.detail = message
        prefix = f"[{source}] " if source else ""
        suffix = f" ({url})" if url else ""
        super().__init__(f"{prefix}{message}{suffix}")


class FetchError(SourceError):
    """The fetch failed: network error, HTTP status, size cap or throttling.

    `retry_after` (seconds) is set when the server said when to come back.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        url: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message, source=source, url=url)


class DeferredError(FetchError):
    """The source's request budget (or a Retry-After) defers the rest of this round.

    Not a failure: the runner stops the round and does not count it towards `fail_after`.
    """


class ParseError(SourceError):
    """The response did not hold what the source expects (an HTML error page, truncated XML...)."""


class StoreError(MonitorError):
    """The database refused an operation or holds something unexpected."""


class AlertError(MonitorError):
    """A notification channel did not accept a delivery."""


class DeadlineError(MonitorError):
    """A deadline cannot be computed from the given input."""
