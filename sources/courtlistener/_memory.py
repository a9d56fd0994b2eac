"""What the CourtListener source remembers between processes, as the text the core keeps (pure).

Per target key: pagination left unfinished (`Continuation`: the next URL and the target's
context) and when a lookup last found nothing. `memory_text` writes them as one JSON text
(``{"resume": {"url", "context"}, "missed": ISO time}``, "" when there is nothing), which the
source hands over in `Fetched.keep` and gets back in `Plan.cursors`; `read_memory` reads it
back, and anything unreadable is nothing (it is then forgotten).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sources.courtlistener._json import as_datetime

__all__ = ["Continuation", "memory_text", "read_memory"]


@dataclass(frozen=True)
class Continuation:
    """Pagination left unfinished: resume at `url` with this context."""

    url: str
    context: Mapping[str, Any]


def memory_text(continuation: Continuation | None, missed: datetime | None) -> str:
    """One target's memory as the core keeps it: JSON text, "" when there is nothing."""
    memory: dict[str, Any] = {}
    if continuation is not None:
        memory["resume"] = {"url": continuation.url, "context": dict(continuation.context)}
    if missed is not None:
        memory["missed"] = missed.isoformat()
    if not memory:
        return ""
    return json.dumps(memory, sort_keys=True, separators=(",", ":"), default=str)


def read_memory(text: str) -> tuple[Continuation | None, datetime | None]:
    """`memory_text` read back; anything unreadable is nothing (it is then forgotten)."""
    try:
        memory = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(memory, dict):
        return None, None
    resume = memory.get("resume")
    continuation = None
    if isinstance(resume, dict) and isinstance(resume.get("url"), str) and isinstance(
            resume.get("context"), dict):
        continuation = Continuation(url=resume["url"], context=resume["context"])
    return continuation, as_datetime(memory.get("missed"))
