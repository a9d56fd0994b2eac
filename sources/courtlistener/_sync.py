"""Pure rules of keeping a tracked docket in step with CourtListener, and of looking one up.

A docket sync is a cheap check of the docket object (`date_modified`, `date_last_filing`), then,
only when a filing may be new (`needs_entries`), its entries modified since the last seen stamp
less a little overlap (`entries_since`). The source wraps both in one JSON envelope
(``{"docket": .., "entries": {"results", "next"}, "changed": ..}``); `parse_sync` reads it into
the case, with entries filed before the last sync marked as backfill, and `docket_sync` tells the
core its bookkeeping (`DocketSync`). A lookup (a case seen elsewhere, without a CourtListener id)
keeps only the results that are the case looked up (`lookup_matches`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sources.base import CaseObservation, EntryObservation, Fetched
from sources.courtlistener._json import (
    as_date,
    as_datetime,
    field_text,
    parse_docket,
    parse_docket_entries,
)
from sources.identity import docket_key, normalize_docket_number

__all__ = [
    "ENTRIES_OVERLAP",
    "DocketSync",
    "docket_sync",
    "entries_since",
    "lookup_matches",
    "needs_entries",
    "parse_sync",
]

#: entries modified a little before the last seen docket stamp are fetched again (clock skew)
ENTRIES_OVERLAP = timedelta(hours=1)


@dataclass(frozen=True)
class DocketSync:
    """What a docket sync tells the core about its bookkeeping.

    `date_modified` is the docket's stamp to remember as `last_modified_seen`; it is "" when
    the sync is not complete (entries left for the next round) so nothing is skipped.
    """

    cl_docket_id: int
    date_modified: str
    complete: bool
    entries_fetched: bool


def needs_entries(docket: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Fetch entries when the docket changed since last seen and a filing may be new."""
    seen = str(context.get("last_modified_seen") or "")
    modified = field_text(docket, "date_modified")
    if not seen:
        return True
    if modified and modified == seen:
        return False
    last_filing = as_date(docket.get("date_last_filing"))
    last_synced = as_datetime(context.get("last_synced"))
    if last_filing is not None and last_synced is not None:
        # a change with no filing since our last sync (re-index, party edits): skip the entries
        return last_filing >= last_synced.date() - timedelta(days=1)
    return True


def entries_since(last_modified_seen: str) -> str:
    """The `date_modified__gte` of an entries fetch: the last seen docket stamp less
    `ENTRIES_OVERLAP`; "" when none was seen (fetch them all)."""
    stamp = as_datetime(last_modified_seen)
    return (stamp - ENTRIES_OVERLAP).isoformat() if stamp else ""


def docket_sync(fetched: Fetched) -> DocketSync | None:
    """The bookkeeping of a docket sync (None for other targets). Pure."""
    target = fetched.target
    if not target.key.startswith("docket:") or fetched.not_modified:
        return None
    try:
        data = json.loads(fetched.content)
    except ValueError:
        return None
    docket = data.get("docket") or {}
    entries = data.get("entries")
    complete = not (entries or {}).get("next")
    modified = field_text(docket, "date_modified") or str(target.context.get("date_modified") or "")
    return DocketSync(
        cl_docket_id=int(target.key.split(":", 1)[1]),
        date_modified=modified if complete else "",
        complete=complete,
        entries_fetched=entries is not None,
    )


def parse_sync(
    data: Mapping[str, Any], context: Mapping[str, Any], site: str
) -> list[CaseObservation]:
    """A docket sync envelope (or a bare docket object) -> the case, entries split by age."""
    docket = data.get("docket") if "docket" in data or "entries" in data else data
    base = parse_docket(docket, site=site) if isinstance(docket, Mapping) else None
    if base is None:
        base = _case_from_context(context)
    entries_page = data.get("entries") or {}
    entries = parse_docket_entries(entries_page.get("results") or [], site=site)
    if not entries:
        return [base]
    cutoff = _backfill_cutoff(context)
    old = tuple(e for e in entries if cutoff is None or _older(e, cutoff))
    new = tuple(e for e in entries if e not in old)
    observations = []
    if old:
        observations.append(_with_entries(base, old, backfill=True))
    if new:
        observations.append(_with_entries(base, new, backfill=False))
    return observations


def _backfill_cutoff(context: Mapping[str, Any]) -> date | None:
    """Entries filed before this are history (backfill); None: all of them are."""
    last_synced = as_datetime(context.get("last_synced"))
    if last_synced is None or not context.get("last_modified_seen"):
        return None
    return last_synced.date() - timedelta(days=1)


def _older(entry: EntryObservation, cutoff: date) -> bool:
    return entry.date_filed is not None and entry.date_filed < cutoff


def _with_entries(
    case: CaseObservation, entries: tuple[EntryObservation, ...], *, backfill: bool
) -> CaseObservation:
    return replace(case, entries=entries, backfill=backfill)


def _case_from_context(context: Mapping[str, Any]) -> CaseObservation:
    number = str(context.get("docket_number") or "")
    raw_id = context.get("cl_docket_id")
    return CaseObservation(
        court=str(context.get("court") or ""),
        docket_number=normalize_docket_number(number) if number else "",
        docket_number_raw=number,
        cl_docket_id=int(raw_id) if raw_id is not None else None,
    )


def lookup_matches(
    cases: Iterable[CaseObservation], context: Mapping[str, Any]
) -> list[CaseObservation]:
    """Lookup results that are the case looked up (same court and docket key)."""
    court = str(context.get("court") or "")
    key = docket_key(str(context.get("docket_number") or ""))
    return [c for c in cases if c.court == court and docket_key(c.docket_number) == key]

