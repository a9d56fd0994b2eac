"""Logging for an operator reading the journal: our lines at the configured level, library
chatter (APScheduler's "Adding job tentatively", httpx's request lines, Apprise's steps) only
from WARNING up."""

from __future__ import annotations

import logging
import re

__all__ = ["NOISY_LIBRARIES", "one_line", "quiet_libraries"]

#: libraries whose INFO is chatter to an operator reading the journal
NOISY_LIBRARIES = ("alembic", "apprise", "apscheduler", "httpx", "httpcore")


def quiet_libraries(level: int) -> None:
    """Library chatter at WARNING; the root handlers show nothing below `level`, even when a
    library lowers its own logger's level for a moment (Apprise's LogCapture does)."""
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)


def one_line(exc: BaseException) -> str:
    """An unexpected exception as one line: its type and text, whitespace folded, URL
    passwords masked, at most 300 characters."""
    text = " ".join(str(exc).split()) or "no detail"
    text = re.sub(r"//([^:/@\s]+):([^@\s]+)@", r"//\1:***@", text)
    return f"{type(exc).__name__}: {text[:300]}"
