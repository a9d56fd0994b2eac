"""What the CourtListener source remembers between processes, as the text the core keeps (pure).

Per target key (`Memory`): pagination left unfinished (`Continuation`: the next URL and the
target's context), when a lookup last found nothing, and the CourtListener alert that pushes
this target's news (a docket alert on ``docket:<id>``, a search alert on ``search:<name>``,
with the rate it was created at). `memory_text` writes it as one JSON text (``{"resume":
{"url", "context"}, "missed": ISO time, "alert": id, "rate": "rt"}``, "" when there is
nothing), which the source hands over in `Fetched.keep` and gets back in `Plan.cursors`;
`read_memory` reads it back, and anything unreadable is nothing (it is then forgotten).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sources.courtlistener._json import as_datetime

__all__ = ["Continuation", "Memory", "memory_text", "read_memory"]


@dataclass(frozen=True)
class Continuation:
    """Pagination left unfinished: resume at `url` with this context."""

    url: str
    context: Mapping[str, Any]


@dataclass(frozen=True)
class Memory:
    """What the source keeps of one target key."""

    continuation: Continuation | None = None
    missed: datetime | None = None
    #: the id of the CourtListener alert (docket or search alert) we keep for this target
    alert_id: int | None = None
    #: a search alert's rate as created (`rt`, `dly`, ...)
    rate: str = ""


def memory_text(memory: Memory) -> str:
    """One target's memory as the core keeps it: JSON text, "" when there is nothing."""
    kept: dict[str, Any] = {}
    if memory.continuation is not None:
        kept["resume"] = {"url": memory.continuation.url,
                          "context": dict(memory.continuation.context)}
    if memory.missed is not None:
        kept["missed"] = memory.missed.isoformat()
    if memory.alert_id is not None:
        kept["alert"] = memory.alert_id
        if memory.rate:
            kept["rate"] = memory.rate
    if not kept:
        return ""
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)


def read_memory(text: str) -> Memory:
    """`memory_text` read back; anything unreadable is nothing (it is then forgotten)."""
    try:
        kept = json.loads(text)
    except ValueError:
        return Memory()
    if not isinstance(kept, dict):
        return Memory()
    resume = kept.get("resume")
    continuation = None
    if isinstance(resume, dict) and isinstance(resume.get("url"), str) and isinstance(
            resume.get("context"), dict):
        continuation = Continuation(url=resume["url"], context=resume["context"])
    alert = kept.get("alert")
    alert_id = alert if isinstance(alert, int) and not isinstance(alert, bool) else None
    rate = kept.get("rate") if isinstance(kept.get("rate"), str) else ""
    return Memory(continuation=continuation, missed=as_datetime(kept.get("missed")),
                  alert_id=alert_id, rate=str(rate or ""))
