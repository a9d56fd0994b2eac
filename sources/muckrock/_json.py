"""Pure readers of MuckRock API responses: a FOIA request (with its communications and files),
an agency, a jurisdiction, into `RequestObservation`s.

Shapes read (API v1, `/api_v1/`; v2 names accepted where they differ):

- request: `{id, title, slug, status, user, username, agency, jurisdiction, date_submitted |
  datetime_submitted, date_due, date_done | datetime_done, datetime_updated, tracking_id,
  tags, absolute_url, communications: [{id?, subject, date | datetime, response, status,
  communication, files: [{ffile, title, datetime | date, doc_id, pages}]}]}`;
- agency: `{id, name, jurisdiction}`; jurisdiction: `{id, name, abbrev, level (f|s|l),
  parent}` (a local jurisdiction's state is its parent).

Status codes are MuckRock's; `STATUS_WORDS` says each in words, `CLOSED` finish a request (its
statutory clock closes), `PAUSED` wait on the requester (its clock pauses).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from sources.base import RecordsFile, RequestCommunication, RequestObservation
from sources.sanitize import clean_text

__all__ = ["CLOSED", "PAUSED", "STATUS_WORDS", "Lookups", "json_payload", "matter_id",
           "parse_request", "parse_requests", "state_of"]

STATUS_WORDS: Mapping[str, str] = {
    "started": "draft", "submitted": "submitted", "ack": "acknowledged",
    "processed": "processing", "appealing": "appealing", "fix": "fix required",
    "payment": "payment required", "lawsuit": "in litigation", "rejected": "rejected",
    "no_docs": "no documents", "done": "completed", "partial": "partially completed",
    "abandoned": "withdrawn",
}
CLOSED = frozenset({"done", "rejected", "no_docs", "abandoned"})
PAUSED = frozenset({"fix", "payment"})
_TEXT_MAX = 600


def matter_id(request_id: int | str) -> str:
    """The matter id of a MuckRock request."""
    return f"muckrock-{request_id}"


def json_payload(content: bytes, *, source: str, url: str) -> dict[str, Any]:
    """The JSON object of a response (ParseError for anything else)."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not JSON: {exc}", source=source, url=url) from None
    if not isinstance(data, dict):
        raise ParseError("not a JSON object", source=source, url=url)
    return data


class Lookups:
    """Agencies and jurisdictions by id, as fetched (id -> the API's object)."""

    def __init__(self, agencies: Mapping[str, Any], jurisdictions: Mapping[str, Any]) -> None:
        self.agencies = agencies
        self.jurisdictions = jurisdictions

    def agency(self, ref: Any) -> Mapping[str, Any]:
        if isinstance(ref, Mapping):
            return ref
        found = self.agencies.get(str(ref)) if ref is not None else None
        return found if isinstance(found, Mapping) else {}

    def jurisdiction(self, ref: Any) -> Mapping[str, Any]:
        if isinstance(ref, Mapping):
            return ref
        found = self.jurisdictions.get(str(ref)) if ref is not None else None
        return found if isinstance(found, Mapping) else {}


def state_of(jurisdiction: Mapping[str, Any], lookups: Lookups) -> tuple[str, str]:
    """(label, two-letter state) of a jurisdiction: "Harris County, TX" and "TX"; a federal
    one gives its name and ""."""
    name = _text(jurisdiction.get("name"))
    level = _text(jurisdiction.get("level"))
    if level == "s":
        code = _text(jurisdiction.get("abbrev")).upper()
        return name, code
    if level == "l":
        parent = lookups.jurisdiction(jurisdiction.get("parent"))
        code = _text(parent.get("abbrev")).upper()
        return (f"{name}, {code}" if code else name), code
    return name, ""


def _text(value: Any) -> str:
    return clean_text(str(value)) if value not in (None, "") else ""


def _when(value: Any) -> datetime | None:
    """An API time: ISO 8601, with or without offset (naive means UTC), or a date."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(value: Any) -> date | None:
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    moment = _when(value)
    return moment.date() if moment else None


def _first(obj: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if obj.get(name) not in (None, ""):
            return obj[name]
    return None


def _files(raw: Any, site: str) -> tuple[RecordsFile, ...]:
    files = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        url = _text(_first(item, "ffile", "url"))
        if not url:
            continue
        pages = item.get("pages")
        files.append(RecordsFile(title=_text(item.get("title")) or url.rsplit("/", 1)[-1],
                                 url=urljoin(site, url) if site else url,
                                 pages=pages if isinstance(pages, int) else None,
                                 doc_id=_text(item.get("doc_id"))))
    return tuple(files)


def _communication(raw: Mapping[str, Any], url: str, site: str) -> RequestCommunication:
    at = _when(_first(raw, "datetime", "date"))
    subject = _text(raw.get("subject"))
    text = _text(raw.get("communication"))[:_TEXT_MAX]
    ident = raw.get("id")
    if ident is None:  # API v1 gives no id: the time and what was said identify a message
        digest = hashlib.sha256(f"{at}|{raw.get('response')}|{subject}|{text[:200]}".encode())
        ident = digest.hexdigest()[:16]
    return RequestCommunication(
        id=str(ident), at=at, response=bool(raw.get("response")), subject=subject, text=text,
        status=_text(raw.get("status")), url=url, files=_files(raw.get("files"), site))


def parse_request(raw: Mapping[str, Any], lookups: Lookups, *, site: str,
                  links: Mapping[int, str], tags: Sequence[str] = (),
                  baseline: bool = False) -> RequestObservation | None:
    """One request as a matter observation (None for a draft, or one without an id)."""
    ident = raw.get("id")
    code = _text(raw.get("status"))
    if not isinstance(ident, int) or code in ("", "started"):
        return None
    agency = lookups.agency(raw.get("agency"))
    jurisdiction = lookups.jurisdiction(raw.get("jurisdiction") or agency.get("jurisdiction"))
    label, state = state_of(jurisdiction, lookups)
    url = _text(raw.get("absolute_url"))
    url = urljoin(site, url) if url and site else url
    comms = [c for c in raw.get("communications") or [] if isinstance(c, Mapping)]
    communications = tuple(sorted(
        (_communication(c, url, site) for c in comms),
        key=lambda c: (c.at or datetime.min.replace(tzinfo=UTC), c.id)))
    raw_tags = [_text(t) for t in raw.get("tags") or [] if _text(t)]
    return RequestObservation(
        matter=matter_id(ident), agency=_text(agency.get("name")) or f"agency {raw.get('agency')}",
        status=STATUS_WORDS.get(code, code), status_code=code, title=_text(raw.get("title")),
        jurisdiction=label, state=state, reference=_text(raw.get("tracking_id")), url=url,
        submitted=_day(_first(raw, "datetime_submitted", "date_submitted")),
        done=_day(_first(raw, "datetime_done", "date_done")),
        due=_day(raw.get("date_due")), updated=_when(raw.get("datetime_updated")),
        closed=code in CLOSED, paused=code in PAUSED, appealing=code == "appealing",
        communications=communications,
        tags=tuple(dict.fromkeys([*tags, *raw_tags])), case=links.get(ident, ""),
        baseline=baseline)


def _resolved(raw: Mapping[str, Any], lookups: Lookups) -> bool:
    """The request's agency, jurisdiction and (for a local one) its state are all known."""
    agency = lookups.agency(raw.get("agency"))
    if not agency:
        return False
    ref = raw.get("jurisdiction") or agency.get("jurisdiction")
    if ref is None:
        return True
    jurisdiction = lookups.jurisdiction(ref)
    if not jurisdiction:
        return False
    parent = jurisdiction.get("parent")
    return jurisdiction.get("level") != "l" or parent is None or bool(
        lookups.jurisdiction(parent))


def parse_requests(payload: Mapping[str, Any], *, site: str, links: Mapping[int, str],
                   tags: Sequence[str] = (), title_prefix: str = "",
                   baseline: bool = False) -> list[RequestObservation]:
    """Every request of a fetched listing whose agency and jurisdiction are known (a lookup the
    budget deferred leaves its request for the next round), filtered by title prefix."""
    lookups = Lookups(payload.get("agencies") or {}, payload.get("jurisdictions") or {})
    prefix = title_prefix.casefold().strip()
    out = []
    for raw in payload.get("results") or []:
        if not isinstance(raw, Mapping):
            continue
        if prefix and not _text(raw.get("title")).casefold().startswith(prefix):
            continue
        if not _resolved(raw, lookups):
            continue
        obs = parse_request(raw, lookups, site=site, links=links, tags=tags, baseline=baseline)
        if obs is not None:
            out.append(obs)
    return out
