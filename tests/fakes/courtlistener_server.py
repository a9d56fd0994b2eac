"""A fake CourtListener REST API v4 on loopback, for unit and end-to-end tests.

It is a real HTTP server (``http.server`` in a thread, 127.0.0.1, a free port) that speaks the
v4 shapes court-monitor uses:

- ``GET search/?type=d|r&q&cause&nature_of_suit&court&docket_number&filed_after&filed_before
  &order_by`` with cursor pagination (``next`` links); type "r" results carry
  ``recap_documents``;
- ``GET dockets/<id>/`` and ``GET dockets/?court=..&docket_number=..`` (exact number);
- ``GET docket-entries/?docket=<id>&order_by=date_modified&date_modified__gte=..`` with cursor
  pagination;
- ``GET|POST docket-alerts/`` (``{docket, alert_type}``; one per docket, as CourtListener's
  unique (user, docket)) and ``DELETE docket-alerts/<id>/``; ``GET|POST alerts/``
  (``{name, query, rate}``; ``rate=rt`` refused with 400 unless `members`) and
  ``DELETE alerts/<id>/``;
- pushes, as CourtListener does: a filing added to a docket with an alert is POSTed as a
  docket-alert webhook (event type 1, ``Idempotency-Key`` header) to `webhook_url`, or handed
  to `push_sink` (a simulation); `push()` POSTs any body (e.g. the corpus's real payloads);
- a token check (``Authorization: Token <token>``; 401 otherwise) when built with `token`;
- a throttle: past `per_minute` / `per_hour` / `per_day` accepted requests in the rolling
  window it answers 429 with ``Retry-After`` (seconds until a slot frees), as DRF does.

Time comes from `clock` (default: the real UTC time), which drives both the throttle and the
``date_modified`` stamps, so a simulation can run a day without sleeping. Data can be added
while it runs (thread-safe). Counters: `requests` (accepted, per API path such as
``"dockets/12/"``), `throttled` (429s), `log` (every request with its status).

Usage::

    with FakeCourtListener(token="t0k", per_minute=5) as cl:
        docket_id = cl.add_docket("dcd", "1:25-cv-01234", "Doe v. Noem", cause="28:1361 ...")
        cl.add_entry(docket_id, 1, date(2025, 5, 1), "COMPLAINT against ...")
        ...  # point a source at cl.base_url
        assert cl.count("docket-entries/") == 1

`docket_alert_body` and `search_alert_body` build webhook payloads (event types 1 and 2) from
the same data, for tests of the webhook endpoint.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from sources.identity import docket_key

__all__ = ["FakeCourtListener", "FakeDocket", "FakeEntry", "RequestRecord"]

API_PATH = "/api/rest/v4/"


@dataclass
class FakeDocket:
    """A docket as the fake holds it."""

    id: int
    court: str
    docket_number: str
    case_name: str
    cause: str = ""
    nature_of_suit: str = ""
    date_filed: date | None = None
    date_terminated: date | None = None
    pacer_case_id: str = ""
    date_modified: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=UTC))


@dataclass
class FakeEntry:
    """A docket entry (with its main document) as the fake holds it."""

    id: int
    docket_id: int
    entry_number: int | None
    date_filed: date | None
    description: str
    short_description: str = ""
    pacer_doc_id: str = ""
    pacer_sequence_number: int | None = None
    date_modified: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered."""

    at: datetime
    path: str
    query: Mapping[str, str]
    status: int
    authorization: bool
    method: str = "GET"


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class FakeCourtListener:
    """The fake server. Use as a context manager (or `start()` / `stop()`)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        per_minute: int | None = None,
        per_hour: int | None = None,
        per_day: int | None = None,
        clock: Callable[[], datetime] | None = None,
        page_size: int = 20,
        members: bool = True,
    ) -> None:
        self.token = token
        self.limits = [
            (timedelta(minutes=1), per_minute),
            (timedelta(hours=1), per_hour),
            (timedelta(days=1), per_day),
        ]
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_size = page_size
        self.dockets: dict[int, FakeDocket] = {}
        self.entries: dict[int, FakeEntry] = {}
        self.requests: Counter[str] = Counter()
        self.throttled = 0
        self.log: list[RequestRecord] = []
        self._accepted: list[datetime] = []
        self._injected: list[_Reply] = []
        self._next_id = 1000
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        #: alerts by id (as listed); `members`: the account may create real-time alerts
        self.docket_alerts: dict[int, dict[str, Any]] = {}
        self.search_alerts: dict[int, dict[str, Any]] = {}
        self.members = members
        #: where pushes go: a URL (POSTed) or a callable (body, idempotency key)
        self.webhook_url: str | None = None
        self.push_sink: Callable[[bytes, str], None] | None = None
        self.pushed = 0
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeCourtListener:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-courtlistener")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeCourtListener:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def site(self) -> str:
        """`http://127.0.0.1:<port>` (document URLs are relative to it)."""
        if self._server is None:
            raise RuntimeError("the fake CourtListener is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The API root to configure a source with (`.../api/rest/v4/`)."""
        return self.site + API_PATH

    # ------------------------------------------------------------------ data

    def add_docket(
        self,
        court: str,
        docket_number: str,
        case_name: str,
        *,
        cause: str = "",
        nature_of_suit: str = "",
        date_filed: date | None = None,
        date_terminated: date | None = None,
        pacer_case_id: str = "",
        docket_id: int | None = None,
    ) -> int:
        """Add a docket (stamped now); returns its id."""
        with self._lock:
            new_id = docket_id if docket_id is not None else self._new_id()
            self.dockets[new_id] = FakeDocket(
                id=new_id, court=court, docket_number=docket_number, case_name=case_name,
                cause=cause, nature_of_suit=nature_of_suit, date_filed=date_filed,
                date_terminated=date_terminated, pacer_case_id=pacer_case_id,
                date_modified=self._stamp())
            return new_id

    def add_entry(
        self,
        docket_id: int,
        entry_number: int | None,
        date_filed: date | None,
        description: str,
        *,
        short_description: str = "",
        pacer_doc_id: str = "",
        pacer_sequence_number: int | None = None,
    ) -> int:
        """Add an entry to a docket; both are stamped now (the docket changed). Returns its id."""
        with self._lock:
            docket = self.dockets[docket_id]
            stamp = self._stamp()
            entry = FakeEntry(
                id=self._new_id(), docket_id=docket_id, entry_number=entry_number,
                date_filed=date_filed, description=description,
                short_description=short_description, pacer_doc_id=pacer_doc_id,
                pacer_sequence_number=pacer_sequence_number, date_modified=stamp)
            self.entries[entry.id] = entry
            docket.date_modified = stamp
            alerted = any(a["docket"] == docket_id for a in self.docket_alerts.values())
        if alerted:
            self._deliver(self.docket_alert_body(docket_id, [entry.id]))
        return entry.id

    def update_docket(self, docket_id: int, **changes: Any) -> None:
        """Change docket fields (e.g. `date_terminated`) and stamp it now."""
        with self._lock:
            docket = replace(self.dockets[docket_id], **changes)
            docket.date_modified = self._stamp()
            self.dockets[docket_id] = docket

    def touch_docket(self, docket_id: int) -> None:
        """Stamp a docket as modified without any new filing (a re-index, a party edit)."""
        self.update_docket(docket_id)

    def subscribe(self, docket_id: int) -> int:
        """A docket alert made earlier (on the website, another day): not a request."""
        with self._lock:
            stamp = _stamp_text(self.clock())
            alert = {"id": self._new_id(), "date_created": stamp, "date_modified": stamp,
                     "date_last_hit": None, "secret_key": uuid.uuid4().hex, "alert_type": 1,
                     "docket": docket_id}
            self.docket_alerts[alert["id"]] = alert
            return int(alert["id"])

    def inject(self, status: int, *, body: Any = None, headers: Mapping[str, str] | None = None,
               times: int = 1) -> None:
        """Answer the next `times` requests with this status (faults: 500, 503, 429, ...)."""
        with self._lock:
            reply = _Reply(status, body if body is not None else {"detail": "injected"},
                           dict(headers or {}))
            self._injected.extend([reply] * times)

    # ------------------------------------------------------------------ counters

    def count(self, prefix: str = "") -> int:
        """Accepted requests whose API path starts with `prefix` (`"dockets/12/"`, `""`: all)."""
        with self._lock:
            return sum(n for path, n in self.requests.items() if path.startswith(prefix))

    def reset_counters(self) -> None:
        """Forget counted requests (the throttle's memory too)."""
        with self._lock:
            self.requests.clear()
            self.throttled = 0
            self.log.clear()
            self._accepted.clear()

    # ------------------------------------------------------------------ webhooks

    def docket_alert_body(self, docket_id: int, entry_ids: Iterable[int] | None = None) -> bytes:
        """A docket-alert webhook (event type 1) with the docket's entries (or those given)."""
        with self._lock:
            wanted = set(entry_ids) if entry_ids is not None else None
            entries = [e for e in self._entries_of(docket_id)
                       if wanted is None or e.id in wanted]
            results = [{**self._entry_json(e), "docket": docket_id} for e in entries]
            return self._webhook(1, {"results": results})

    def search_alert_body(self, docket_ids: Iterable[int]) -> bytes:
        """A search-alert webhook (event type 2) listing these dockets as RECAP results."""
        with self._lock:
            results = [self._search_json(self.dockets[i], "r", "") for i in docket_ids]
            alert = {"id": 1, "name": "fake alert", "query": "q=", "rate": "rt"}
            return self._webhook(2, {"results": results, "alert": alert})

    def push(self, body: bytes, *, url: str | None = None,
             idempotency_key: str | None = None) -> int:
        """POST one webhook body to `url` (default `webhook_url`) as CourtListener does
        (JSON, an ``Idempotency-Key``); returns the HTTP status."""
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("no webhook URL to push to")
        headers = {"Content-Type": "application/json",
                   "Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        with httpx.Client(timeout=10) as client:
            return client.post(target, content=body, headers=headers).status_code

    def _deliver(self, body: bytes) -> None:
        """A push of our own (a docket alert fired): to the sink, else the webhook URL."""
        self.pushed += 1
        if self.push_sink is not None:
            self.push_sink(body, str(uuid.uuid4()))
        elif self.webhook_url:
            self.push(body)

    def _webhook(self, event_type: int, payload: Mapping[str, Any]) -> bytes:
        meta = {"version": 2, "event_type": event_type,
                "date_created": self.clock().isoformat(), "deprecation_date": None}
        return json.dumps({"payload": payload, "webhook": meta}).encode()

    # ------------------------------------------------------------------ serving

    def handle(self, path: str, query: Mapping[str, str], authorization: str,
               method: str = "GET", body: Mapping[str, Any] | None = None) -> _Reply:
        """Answer one request (called by the HTTP handler; public for direct tests)."""
        with self._lock:
            now = self.clock()
            api_path = path[len(API_PATH):] if path.startswith(API_PATH) else path
            reply = self._answer(api_path, query, authorization, now, method, body or {})
            self.log.append(RequestRecord(now, api_path, dict(query), reply.status,
                                          bool(authorization), method))
            return reply

    def count_method(self, method: str, prefix: str = "") -> int:
        """Answered requests (any status but 429) of one method whose path starts with
        `prefix`."""
        with self._lock:
            return sum(1 for r in self.log if r.method == method and r.status != 429
                       and r.path.startswith(prefix))

    def _answer(self, api_path: str, query: Mapping[str, str], authorization: str,
                now: datetime, method: str = "GET",
                body: Mapping[str, Any] | None = None) -> _Reply:
        if self.token is not None and authorization != f"Token {self.token}":
            detail = "Invalid token." if authorization else "Authentication credentials were " \
                "not provided."
            return _Reply(401, {"detail": detail})
        wait = self._throttle_wait(now)
        if wait is not None:
            self.throttled += 1
            return _Reply(429, {"detail": f"Request was throttled. Expected available in "
                                          f"{wait} seconds."}, {"Retry-After": str(wait)})
        self._accepted.append(now)
        self.requests[api_path] += 1
        if self._injected:
            return self._injected.pop(0)
        if method != "GET":
            return self._alter(api_path, method, body or {}, now)
        return self._route(api_path, query)

    def _throttle_wait(self, now: datetime) -> int | None:
        """Seconds until a slot frees in the first full window, or None when under every limit."""
        self._accepted = [t for t in self._accepted if t > now - timedelta(days=1)]
        for length, limit in self.limits:
            if limit is None:
                continue
            inside = [t for t in self._accepted if t > now - length]
            if len(inside) >= limit:
                frees = inside[len(inside) - limit] + length - now
                return max(1, math.ceil(frees.total_seconds()))
        return None

    def _route(self, api_path: str, query: Mapping[str, str]) -> _Reply:
        parts = [p for p in api_path.split("/") if p]
        if parts == ["search"]:
            return self._search(query)
        if parts == ["dockets"]:
            return self._dockets(query)
        if len(parts) == 2 and parts[0] == "dockets" and parts[1].isdigit():
            docket = self.dockets.get(int(parts[1]))
            if docket is None:
                return _Reply(404, {"detail": "No Docket matches the given query."})
            return _Reply(200, self._docket_json(docket))
        if parts == ["docket-entries"]:
            return self._docket_entries(query)
        if parts == ["docket-alerts"]:
            found = sorted(self.docket_alerts.values(), key=lambda a: a["id"])
            return _Reply(200, self._page("docket-alerts/", query, found))
        if parts == ["alerts"]:
            found = sorted(self.search_alerts.values(), key=lambda a: a["id"])
            return _Reply(200, self._page("alerts/", query, found))
        return _Reply(404, {"detail": "Not found."})

    def _alter(self, api_path: str, method: str, body: Mapping[str, Any],
               now: datetime) -> _Reply:
        """POST and DELETE of docket alerts and search alerts."""
        parts = [p for p in api_path.split("/") if p]
        stamp = _stamp_text(now)
        if method == "POST" and parts == ["docket-alerts"]:
            docket = _int_or_none(body.get("docket"))
            if docket is None or docket not in self.dockets:
                return _Reply(400, {"docket": ["Invalid pk - object does not exist."]})
            if any(a["docket"] == docket for a in self.docket_alerts.values()):
                return _Reply(400, {"non_field_errors": [
                    "The fields user, docket must make a unique set."]})
            alert = {"id": self._new_id(), "date_created": stamp, "date_modified": stamp,
                     "date_last_hit": None, "secret_key": uuid.uuid4().hex,
                     "alert_type": _int_or_none(body.get("alert_type")) or 1, "docket": docket}
            self.docket_alerts[alert["id"]] = alert
            return _Reply(201, alert)
        if method == "POST" and parts == ["alerts"]:
            rate = str(body.get("rate") or "")
            if rate not in ("rt", "dly", "wly", "mly", "off") or not body.get("name"):
                return _Reply(400, {"rate": ["Not a valid choice."]})
            if rate == "rt" and not self.members:
                return _Reply(400, {"rate": [
                    "You must be a member to create Real Time alerts."]})
            alert = {"resource_uri": f"{self.base_url}alerts/{self._next_id + 1}/",
                     "id": self._new_id(), "date_created": stamp, "date_modified": stamp,
                     "date_last_hit": None, "name": str(body["name"]),
                     "query": str(body.get("query") or ""), "rate": rate, "alert_type": "r",
                     "secret_key": uuid.uuid4().hex}
            self.search_alerts[alert["id"]] = alert
            return _Reply(201, alert)
        if method == "DELETE" and len(parts) == 2 and parts[1].isdigit():
            table = {"docket-alerts": self.docket_alerts, "alerts": self.search_alerts}.get(
                parts[0])
            if table is not None and table.pop(int(parts[1]), None) is not None:
                return _Reply(204, None)
        return _Reply(404, {"detail": "Not found."})

    # ------------------------------------------------------------------ endpoints

    def _search(self, query: Mapping[str, str]) -> _Reply:
        kind = query.get("type", "o")
        found = [d for d in self.dockets.values() if self._search_match(d, query)]
        descending = query.get("order_by", "dateFiled desc").endswith("desc")
        found.sort(key=lambda d: (d.date_filed or date.min, d.id), reverse=descending)
        q = query.get("q", "")
        results = [self._search_json(d, kind, q) for d in found]
        return _Reply(200, self._page("search/", query, results, with_count=True))

    def _search_match(self, docket: FakeDocket, query: Mapping[str, str]) -> bool:
        courts = query.get("court", "").split()
        if courts and docket.court not in courts:
            return False
        cause = query.get("cause", "").lower()
        if cause and cause not in docket.cause.lower():
            return False
        suits = [s.strip().lower() for s in query.get("nature_of_suit", "").split(" OR ")]
        suits = [s for s in suits if s]
        if suits and not any(s in docket.nature_of_suit.lower() for s in suits):
            return False
        number = query.get("docket_number", "")
        if number and docket_key(number) != docket_key(docket.docket_number):
            return False
        after, before = _query_date(query, "filed_after"), _query_date(query, "filed_before")
        filed = docket.date_filed
        if (after or before) and filed is None:
            return False
        if (after and filed and filed < after) or (before and filed and filed > before):
            return False
        q = query.get("q", "")
        return not q or _text_match(q, [docket.case_name, docket.cause] + [
            e.description for e in self._entries_of(docket.id)])

    def _dockets(self, query: Mapping[str, str]) -> _Reply:
        found = [
            d for d in self.dockets.values()
            if (not query.get("court") or d.court == query["court"])
            and (not query.get("docket_number") or d.docket_number == query["docket_number"])
        ]
        found.sort(key=lambda d: d.id)
        results = [self._docket_json(d) for d in found]
        return _Reply(200, self._page("dockets/", query, results))

    def _docket_entries(self, query: Mapping[str, str]) -> _Reply:
        docket_id = query.get("docket", "")
        entries = [e for e in self.entries.values()
                   if not docket_id or str(e.docket_id) == docket_id]
        gte = _query_datetime(query, "date_modified__gte")
        if gte is not None:
            entries = [e for e in entries if e.date_modified >= gte]
        order = query.get("order_by", "id")
        field_name = order.lstrip("-")
        if field_name not in ("id", "date_modified", "entry_number", "date_filed"):
            return _Reply(400, {"order_by": [f"Unknown order field {field_name!r}"]})
        entries.sort(key=lambda e: (_sort_value(getattr(e, field_name)), e.id),
                     reverse=order.startswith("-"))
        results = [self._entry_json(e) for e in entries]
        return _Reply(200, self._page("docket-entries/", query, results))

    def _page(self, api_path: str, query: Mapping[str, str], results: list[Any], *,
              with_count: bool = False) -> dict[str, Any]:
        offset = _decode_cursor(query.get("cursor", ""))
        chunk = results[offset:offset + self.page_size]
        following = offset + self.page_size
        next_link = None
        if following < len(results):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["cursor"] = _encode_cursor(following)
            next_link = f"{self.base_url}{api_path}?{urlencode(params)}"
        page: dict[str, Any] = {"next": next_link, "previous": None, "results": chunk}
        if with_count:
            page = {"count": len(results), "document_count": None, **page}
        return page

    # ------------------------------------------------------------------ shapes

    def _docket_json(self, d: FakeDocket) -> dict[str, Any]:
        filings = [e.date_filed for e in self._entries_of(d.id) if e.date_filed]
        return {
            "resource_uri": f"{self.base_url}dockets/{d.id}/",
            "id": d.id,
            "court": f"{self.base_url}courts/{d.court}/",
            "court_id": d.court,
            "absolute_url": f"/docket/{d.id}/{_slug(d.case_name)}/",
            "date_created": "2025-01-01T00:00:00.000000-08:00",
            "date_modified": _stamp_text(d.date_modified),
            "date_filed": _iso(d.date_filed),
            "date_terminated": _iso(d.date_terminated),
            "date_last_filing": _iso(max(filings)) if filings else None,
            "case_name": d.case_name,
            "case_name_short": "",
            "docket_number": d.docket_number,
            "pacer_case_id": d.pacer_case_id,
            "cause": d.cause,
            "nature_of_suit": d.nature_of_suit,
        }

    def _entry_json(self, e: FakeEntry) -> dict[str, Any]:
        docket = self.dockets[e.docket_id]
        number = e.entry_number
        doc_path = f"/docket/{docket.id}/{number}/{_slug(docket.case_name)}/" if number else ""
        documents = [{
            "id": e.id * 10,
            "entry_number": number,
            "document_number": str(number) if number is not None else "",
            "attachment_number": None,
            "description": e.short_description,
            "pacer_doc_id": e.pacer_doc_id,
            "absolute_url": doc_path,
            "is_available": False,
            "date_modified": _stamp_text(e.date_modified),
        }] if (e.short_description or e.pacer_doc_id or number) else []
        return {
            "resource_uri": f"{self.base_url}docket-entries/{e.id}/",
            "id": e.id,
            "docket": f"{self.base_url}dockets/{docket.id}/",
            "recap_documents": documents,
            "date_created": _stamp_text(e.date_modified),
            "date_modified": _stamp_text(e.date_modified),
            "date_filed": _iso(e.date_filed),
            "entry_number": number,
            "pacer_sequence_number": e.pacer_sequence_number,
            "description": e.description,
        }

    def _search_json(self, d: FakeDocket, kind: str, q: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "absolute_url": f"/docket/{d.id}/{_slug(d.case_name)}/",
            "caseName": d.case_name,
            "cause": d.cause,
            "court": d.court.upper(),
            "court_id": d.court,
            "dateFiled": _iso(d.date_filed),
            "dateTerminated": _iso(d.date_terminated),
            "docketNumber": d.docket_number,
            "docket_id": d.id,
            "pacer_case_id": d.pacer_case_id,
            "suitNature": d.nature_of_suit,
            "meta": {"timestamp": _stamp_text(d.date_modified)},
        }
        if kind == "r":
            matching = [e for e in self._entries_of(d.id)
                        if not q or _text_match(q, [e.description])]
            matching.sort(key=lambda e: (e.date_filed or date.min, e.id), reverse=True)
            result["recap_documents"] = [self._search_document(e, d) for e in matching[:3]]
            result["more_docs"] = len(matching) > 3
        return result

    def _search_document(self, e: FakeEntry, d: FakeDocket) -> dict[str, Any]:
        number = e.entry_number
        return {
            "id": e.id * 10,
            "docket_entry_id": e.id,
            "entry_number": number,
            "entry_date_filed": _iso(e.date_filed),
            "description": e.description,
            "short_description": e.short_description,
            "document_number": str(number) if number is not None else "",
            "attachment_number": None,
            "pacer_doc_id": e.pacer_doc_id,
            "absolute_url": f"/docket/{d.id}/{number}/{_slug(d.case_name)}/" if number else "",
        }

    # ------------------------------------------------------------------ helpers

    def _entries_of(self, docket_id: int) -> list[FakeEntry]:
        return sorted((e for e in self.entries.values() if e.docket_id == docket_id),
                      key=lambda e: e.id)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _stamp(self) -> datetime:
        """Now, strictly later than any earlier stamp (a frozen clock still shows changes)."""
        stamp = max(self.clock(), self._last_stamp + timedelta(microseconds=1))
        self._last_stamp = stamp
        return stamp


def _handler_for(fake: FakeCourtListener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            reply = fake.handle(parts.path, query, self.headers.get("Authorization", ""))
            body = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            self._alter("POST")

        def do_DELETE(self) -> None:  # noqa: N802
            self._alter("DELETE")

        def _alter(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip().startswith(b"{") else {
                    k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            except ValueError:
                body = {}
            reply = fake.handle(parts.path, {}, self.headers.get("Authorization", ""),
                                method, body if isinstance(body, dict) else {})
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: tests read `fake.log` instead."""

    return Handler


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _text_match(q: str, texts: Iterable[str]) -> bool:
    """Any `OR` alternative of `q` (quotes dropped) found in any text, case-insensitively."""
    haystack = " ".join(texts).lower()
    alternatives = [a.strip().strip('"').lower() for a in q.split(" OR ")]
    return any(a and a in haystack for a in alternatives)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o={offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        return max(0, int(text.partition("=")[2]))
    except ValueError:
        return 0


def _query_date(query: Mapping[str, str], key: str) -> date | None:
    value = query.get(key, "")
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _query_datetime(query: Mapping[str, str], key: str) -> datetime | None:
    value = query.get(key, "")
    if not value:
        return None
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _sort_value(value: Any) -> Any:
    if value is None:
        return (0, 0)
    if isinstance(value, datetime | date):
        return (1, value.isoformat())
    return (1, value)


def _stamp_text(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
