"""Pure readers of CourtListener REST v4 JSON: search pages, docket objects, docket entries and
pushed webhooks, into the observations of `sources.base`. No I/O.

Search results are camelCase (`docketNumber`, `caseName`), docket objects snake_case
(`docket_number`, `case_name`); both read through one `_case` with a `_Shape` saying where each
field sits. RECAP search results carry matching documents, read as entries (one per entry number,
the main document wins). Webhooks: a docket alert (event type 1) names only the docket id (and the
court when a document path shows it), so its cases carry `cl_docket_id` with an empty docket
number; a search alert (event type 2) reads as a search page; other event types give nothing.

The small tolerant readers at the end (`json_object`, `field_text`, `as_date`, `as_datetime`)
are shared with the rest of the CourtListener source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from sources.base import CaseObservation, EntryObservation
from sources.identity import normalize_docket_number
from sources.sanitize import clean_text

__all__ = [
    "DEFAULT_SITE",
    "as_date",
    "as_datetime",
    "field_text",
    "json_object",
    "parse_docket",
    "parse_docket_entries",
    "parse_listing",
    "parse_search_results",
    "parse_webhook",
]

DEFAULT_SITE = "https://www.courtlistener.com"

_IA_PATH = re.compile(r"gov\.uscourts\.([a-z0-9]+)\.(\d+)")


def parse_listing(data: Mapping[str, Any], *, site: str = DEFAULT_SITE) -> list[CaseObservation]:
    """A `{results: [...]}` page of search results or of docket objects -> cases."""
    results = data.get("results")
    if not isinstance(results, list):
        raise ParseError("no `results` list in the response")
    cases: list[CaseObservation] = []
    for item in results:
        if not isinstance(item, Mapping):
            continue
        case = parse_docket(item, site=site) if "docket_number" in item else None
        if case is None:
            case = _search_result(item, site)
        if case is not None:
            cases.append(case)
    return cases


def parse_search_results(
    data: Mapping[str, Any], *, site: str = DEFAULT_SITE
) -> list[CaseObservation]:
    """A v4 search page (type d, r or o) -> one case per result with a court and a number."""
    results = data.get("results")
    if not isinstance(results, list):
        raise ParseError("no `results` list in the search response")
    cases = [_search_result(r, site) for r in results if isinstance(r, Mapping)]
    return [c for c in cases if c is not None]


@dataclass(frozen=True)
class _Shape:
    """Where a case's fields sit in one kind of CourtListener object."""

    number: str
    case_name: str
    docket_id: str
    nature_of_suit: str
    date_filed: str
    date_terminated: str


#: a search result (camelCase) and a docket object (snake_case)
_SEARCH = _Shape("docketNumber", "caseName", "docket_id", "suitNature", "dateFiled",
                 "dateTerminated")
_DOCKET = _Shape("docket_number", "case_name", "id", "nature_of_suit", "date_filed",
                 "date_terminated")


def _case(
    obj: Mapping[str, Any], shape: _Shape, court: str, site: str,
    entries: tuple[EntryObservation, ...] = (),
) -> CaseObservation | None:
    raw = field_text(obj, shape.number)
    if not court or not raw:
        return None
    return CaseObservation(
        court=court,
        docket_number=normalize_docket_number(raw),
        docket_number_raw=raw,
        case_name=field_text(obj, shape.case_name) or field_text(obj, "case_name_short"),
        pacer_case_id=field_text(obj, "pacer_case_id"),
        cl_docket_id=_int(obj.get(shape.docket_id)),
        cause=field_text(obj, "cause"),
        nature_of_suit=field_text(obj, shape.nature_of_suit),
        date_filed=as_date(obj.get(shape.date_filed)),
        date_terminated=as_date(obj.get(shape.date_terminated)),
        entries=entries,
        url=_absolute(site, obj.get("absolute_url")),
    )


def _search_result(result: Mapping[str, Any], site: str) -> CaseObservation | None:
    docs = result.get("recap_documents")
    entries = _entries_from_documents(docs, site) if isinstance(docs, list) else ()
    return _case(result, _SEARCH, field_text(result, "court_id").lower(), site, entries)


def _entries_from_documents(docs: Sequence[Any], site: str) -> tuple[EntryObservation, ...]:
    """RECAP search documents -> entries (one per entry number; the main document wins)."""
    by_entry: dict[Any, Mapping[str, Any]] = {}
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        key = doc.get("entry_number") or doc.get("docket_entry_id") or doc.get("id")
        main = doc.get("attachment_number") in (None, 0, "")
        if key not in by_entry or main:
            by_entry[key] = doc
    entries = []
    for doc in by_entry.values():
        main = doc.get("attachment_number") in (None, 0, "")
        entries.append(EntryObservation(
            entry_number=_int(doc.get("entry_number")),
            date_filed=as_date(doc.get("entry_date_filed")),
            short_description=field_text(doc, "short_description"),
            description=clean_text(field_text(doc, "description")),
            document_url=_absolute(site, doc.get("absolute_url")) if main else "",
            pacer_doc_id=field_text(doc, "pacer_doc_id") if main else "",
        ))
    return tuple(entries)


def parse_docket(docket: Mapping[str, Any], *, site: str = DEFAULT_SITE) -> CaseObservation | None:
    """A v4 docket object -> its case (no entries); None when it names no court or number."""
    court = field_text(docket, "court_id").lower() or _court_from_url(docket.get("court"))
    return _case(docket, _DOCKET, court, site)


def parse_docket_entries(
    results: Sequence[Any], *, site: str = DEFAULT_SITE
) -> tuple[EntryObservation, ...]:
    """v4 docket-entry objects (REST or docket-alert webhook) -> entries."""
    entries = []
    for item in results:
        if isinstance(item, Mapping):
            entries.append(_docket_entry(item, site))
    return tuple(entries)


def _docket_entry(item: Mapping[str, Any], site: str) -> EntryObservation:
    docs = [d for d in item.get("recap_documents") or [] if isinstance(d, Mapping)]
    main = next((d for d in docs if d.get("attachment_number") in (None, 0, "")), None)
    main = main or {}
    return EntryObservation(
        entry_number=_int(item.get("entry_number")),
        date_filed=as_date(item.get("date_filed")),
        short_description=field_text(main, "description") or field_text(item, "short_description"),
        description=clean_text(field_text(item, "description")),
        document_url=_absolute(site, main.get("absolute_url")),
        pacer_doc_id=field_text(main, "pacer_doc_id"),
        pacer_seq_no=_int(item.get("pacer_sequence_number")),
    )


def parse_webhook(
    body: bytes, *, site: str = DEFAULT_SITE, source_id: str = ""
) -> list[CaseObservation]:
    """A pushed CourtListener webhook body -> cases. Pure; raises ParseError.

    Event type 1 (docket alert): entries grouped by docket id; the court comes from a document
    path when one shows it, the docket number stays empty (resolve by `cl_docket_id`).
    Event type 2 (search alert): one case per result, as a search page. Other types: nothing.
    """
    data = json_object(body, source=source_id, url="webhook")
    webhook = data.get("webhook")
    payload = data.get("payload")
    if not isinstance(webhook, Mapping) or not isinstance(payload, Mapping):
        raise ParseError("not a CourtListener webhook (no `webhook` / `payload`)",
                         source=source_id, url="webhook")
    event_type = _int(webhook.get("event_type"))
    if event_type == 1:
        return _docket_alert(payload, site, source_id)
    if event_type == 2:
        try:
            return parse_search_results(payload, site=site)
        except ParseError as exc:
            raise ParseError(exc.detail, source=source_id, url="webhook") from exc
    return []


def _docket_alert(
    payload: Mapping[str, Any], site: str, source_id: str
) -> list[CaseObservation]:
    results = payload.get("results")
    if not isinstance(results, list):
        raise ParseError("docket alert without a `results` list", source=source_id,
                         url="webhook")
    grouped: dict[int, list[Mapping[str, Any]]] = {}
    for item in results:
        docket_id = _int(_docket_ref(item.get("docket"))) if isinstance(item, Mapping) else None
        if docket_id is not None:
            grouped.setdefault(docket_id, []).append(item)
    cases = []
    for docket_id, items in grouped.items():
        court, pacer_case_id = _court_from_documents(items)
        cases.append(CaseObservation(
            court=court, docket_number="", docket_number_raw="", pacer_case_id=pacer_case_id,
            cl_docket_id=docket_id, entries=parse_docket_entries(items, site=site)))
    return cases


def _court_from_documents(items: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """(court, pacer case id) from an Internet Archive style path `gov.uscourts.dcd.178502`."""
    for item in items:
        for doc in item.get("recap_documents") or []:
            for key in ("filepath_local", "filepath_ia", "thumbnail"):
                m = _IA_PATH.search(str(doc.get(key) or ""))
                if m:
                    return m[1], m[2]
    return "", ""


# ---------------------------------------------------------------------------- small readers


def json_object(content: bytes, *, source: str, url: str) -> dict[str, Any]:
    """The JSON object in `content`; ParseError (saying when it is an HTML page) otherwise."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        head = content[:200].lstrip().lower()
        what = "an HTML page" if head.startswith((b"<!doctype", b"<html")) else "not JSON"
        raise ParseError(f"{what}: {exc}", source=source, url=url) from None
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object", source=source, url=url)
    return data


def field_text(obj: Mapping[str, Any], key: str) -> str:
    """The value at `key` as one line of text (whitespace collapsed); "" when absent."""
    value = obj.get(key)
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_date(value: Any) -> date | None:
    """The date an ISO date or date-time string starts with; None when it is not one."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def as_datetime(value: Any) -> datetime | None:
    """An ISO date-time string (`Z` allowed) as an aware datetime, naive read as UTC; else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _docket_ref(value: Any) -> Any:
    """A docket id from an int, a digit string or a `.../dockets/<id>/` URL."""
    if isinstance(value, str) and "/" in value:
        m = re.search(r"/dockets/(\d+)/?$", value)
        return m[1] if m else None
    return value


def _court_from_url(value: Any) -> str:
    m = re.search(r"/courts/([a-z0-9]+)/?$", str(value or ""))
    return m[1] if m else ""



def _absolute(site: str, path: Any) -> str:
    if not isinstance(path, str) or not path:
        return ""
    return urljoin(site + "/", path) if site else path

