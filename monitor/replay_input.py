"""Pure readers of a docket file for `court-monitor replay`: JSON in, one case and its entries out.

Two shapes are read:

- juriscraper's parsed docket (`shared/corpus/pacer_dockets/**/*.json`): a docket object with
  `court_id`, `docket_number`, `case_name`, `date_filed`, `date_terminated` and a
  `docket_entries` list of `{date_filed, document_number, description, short_description?,
  pacer_doc_id?, pacer_seq_no?}`;
- CourtListener REST v4: `{"docket": {...}, "docket_entries": [...]}` (the entries may also be a
  `{"results": [...]}` page), or a docket object with its entries embedded under
  `docket_entries`; entries carry `entry_number`, `recap_documents`, `pacer_sequence_number`.

The docket fields of both shapes are read by CourtListener's docket reader (the names agree); the
entries by the reader of their shape. No I/O here: `read_docket_file` takes the decoded JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from monitor.errors import ParseError
from sources.base import CaseObservation, EntryObservation
from sources.courtlistener._json import as_date, field_text, parse_docket, parse_docket_entries
from sources.identity import normalize_docket_number

__all__ = ["ReplayDocket", "party_aliases", "read_docket"]

_CL_ENTRY_KEYS = ("entry_number", "recap_documents", "pacer_sequence_number")


@dataclass(frozen=True)
class ReplayDocket:
    """A docket to replay: the case (without entries) and its dated entries in file order."""

    case: CaseObservation
    entries: tuple[EntryObservation, ...]
    shape: str  # "juriscraper" | "courtlistener"
    undated: int = 0  # entries without a filing date (placed on the day before them)
    #: (alias, party) from the parties' "doing business as"/"formerly known as" lines
    party_aliases: tuple[tuple[str, str], ...] = ()


def read_docket(data: Any, *, court: str = "", source: str = "replay") -> ReplayDocket:
    """Decoded JSON of either shape -> the case and its entries. Raises ParseError."""
    if not isinstance(data, Mapping):
        raise ParseError("a docket file holds one JSON object", source=source)
    nested = data.get("docket")
    docket: Mapping[str, Any] = nested if isinstance(nested, Mapping) else data
    raw_entries = _entry_list(data.get("docket_entries", docket.get("docket_entries")))
    shape = "courtlistener" if _is_courtlistener(docket, raw_entries) else "juriscraper"
    if court:
        docket = {**docket, "court_id": court}
    case = parse_docket(docket)
    if case is None:
        raise ParseError("the docket names no court (use --court) or no docket number",
                         source=source)
    entries = parse_docket_entries(raw_entries) if shape == "courtlistener" \
        else tuple(_juriscraper_entry(e) for e in raw_entries if isinstance(e, Mapping))
    dated, undated = _place_undated(entries)
    return ReplayDocket(case=case, entries=dated, shape=shape, undated=undated,
                        party_aliases=party_aliases(docket.get("parties")))


_ALIAS_INTRO = re.compile(r"(?i)^\s*(?:doing\s+business\s+as|d/b/a|formerly\s+known\s+as|"
                          r"f/k/a|also\s+known\s+as|a/k/a|formerly|successor\s+to|"
                          r"sued\s+as|incorrectly\s+sued\s+as)\s*:?\s*$")


def party_aliases(parties: Any) -> tuple[tuple[str, str], ...]:
    """(alias, party) pairs from a parsed docket's `parties`: the line after "doing business
    as", "formerly known as", "also known as" (and their abbreviations) in `extra_info` names
    another name of that party ("Time Warner Inc" d/b/a "AOL LLC"). None or junk -> ()."""
    if not isinstance(parties, Sequence) or isinstance(parties, str):
        return ()
    out: list[tuple[str, str]] = []
    for party in parties:
        if not isinstance(party, Mapping):
            continue
        name = " ".join(str(party.get("name") or "").split())
        lines = [" ".join(line.split()) for line in str(party.get("extra_info") or "")
                 .splitlines()]
        for intro, alias in zip(lines, lines[1:], strict=False):
            if name and alias and _ALIAS_INTRO.match(intro) \
                    and not alias.upper().startswith("TERMINATED") \
                    and (alias, name) not in out and alias.lower() != name.lower():
                out.append((alias, name))
    return tuple(out)


def _entry_list(value: Any) -> Sequence[Any]:
    if isinstance(value, Mapping):
        value = value.get("results")
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParseError("`docket_entries` is neither a list nor a page of results")
    return value


def _is_courtlistener(docket: Mapping[str, Any], entries: Sequence[Any]) -> bool:
    if any(isinstance(e, Mapping) and any(k in e for k in _CL_ENTRY_KEYS) for e in entries):
        return True
    return "resource_uri" in docket


def _juriscraper_entry(item: Mapping[str, Any]) -> EntryObservation:
    description = " ".join(field_text(item, "description").split())
    short = " ".join(field_text(item, "short_description").split())
    number, seq = _int(item.get("document_number")), _int(item.get("pacer_seq_no"))
    doc_id = field_text(item, "pacer_doc_id")
    if number is None and seq is None and not doc_id and not short:
        # Identity of an entry with nothing else is (day, short description): give it one,
        # the start of its own text, so two such entries of one day stay two.
        short = description[:200]
    return EntryObservation(
        entry_number=number,
        date_filed=as_date(item.get("date_filed")),
        short_description=short,
        description=description,
        pacer_doc_id=doc_id,
        pacer_seq_no=seq,
    )


def _place_undated(
    entries: Sequence[EntryObservation],
) -> tuple[tuple[EntryObservation, ...], int]:
    """An entry without a date is placed on the day of the entry before it (dropped if first)."""
    out: list[EntryObservation] = []
    last: date | None = None
    undated = 0
    for entry in entries:
        if entry.date_filed is None:
            undated += 1
            if last is None:
                continue
            entry = replace(entry, date_filed=last)
        last = entry.date_filed
        out.append(entry)
    return tuple(out), undated


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def docket_label(case: CaseObservation) -> str:
    """`court:docket_number` of the replayed case, for headings and errors."""
    return f"{case.court}:{normalize_docket_number(case.docket_number)}"
