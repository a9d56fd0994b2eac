"""The JSON API under `/api/`: the shapes of the command line's `--json` (`monitor.views`),
each listing one top-level array, paged with `?limit=` and `?offset=` (events: `?after=` the
last id). The next page is named in a `Link: <...>; rel="next"` header and the number of rows
in `X-Total-Count` (events: none, the log grows). A token (`Authorization: Bearer ...` or
`?token=`) adds what its subscription may see; nothing private is answered without one.

    GET /api/cases?tag=&court=&state=&status=open|closed&q=   cases --json rows (+ state, open,
                                                              last_entry, next_deadline)
    GET /api/cases/{court}/{docket}                           case COURT DOCKET --json
    GET /api/events?after=ID&limit=N                          events --json
    GET /api/deadlines                                        deadlines --json (+ case, note)
    GET /api/matters                                          matters --json (+ days_elapsed)
    GET /api/agreements?state=&county=&type=&status=          agreements --json (+ state_code)
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from monitor.web import data
from monitor.web.context import Paging, monitor_app, now, paging, viewer

__all__ = ["agreement_filter", "api_routes", "case_filter"]


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def _page(request: Request, rows: list[Any], total: int, p: Paging) -> JSONResponse:
    headers = {"X-Total-Count": str(total)}
    if p.offset + p.limit < total:
        query = dict(request.query_params)
        query.pop("token", None)  # never echo a secret into a link
        query.pop("page", None)
        query.update(limit=str(p.limit), offset=str(p.offset + p.limit))
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return _Json(rows, headers=headers)


def case_filter(request: Request) -> data.CaseFilter:
    """The case filters of a request's query string."""
    q = request.query_params
    status = q.get("status", "")
    if status not in ("", "open", "closed", "all"):
        raise HTTPException(400, "status must be open, closed or all")
    return data.CaseFilter(tag=q.get("tag", ""), court=q.get("court", "").lower(),
                           state=q.get("state", "").upper(),
                           status="" if status == "all" else status, q=q.get("q", "").strip())


def agreement_filter(request: Request) -> data.AgreementFilter:
    """The agreement filters of a request's query string."""
    q = request.query_params
    return data.AgreementFilter(state=q.get("state", ""), county=q.get("county", "").strip(),
                                type=q.get("type", "").strip(), status=q.get("status", ""))


def cases(request: Request) -> JSONResponse:
    """`GET /api/cases`."""
    viewer(request)
    p = paging(request)
    found = data.case_list(monitor_app(request).engine, case_filter(request),
                           limit=p.limit, offset=p.offset)
    return _page(request, found.rows, found.total, p)


def case(request: Request) -> JSONResponse:
    """`GET /api/cases/{court}/{docket}`."""
    found = data.case_page(monitor_app(request).engine, request.path_params["court"].lower(),
                           request.path_params["docket"], viewer(request))
    if found is None:
        raise HTTPException(404, "no such case")
    return _Json(found["case"])


def events(request: Request) -> JSONResponse:
    """`GET /api/events?after=ID&limit=N`."""
    who = viewer(request)
    p = paging(request, default=100)
    after_text = request.query_params.get("after", "")
    if after_text and not after_text.isdigit():
        raise HTTPException(400, "after must be an event id")
    rows = data.visible_events(monitor_app(request).engine, who,
                               after=int(after_text) if after_text else None, limit=p.limit)
    headers = {}
    if len(rows) == p.limit:
        query = {"after": str(rows[-1]["id"]), "limit": str(p.limit)}
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return _Json(rows, headers=headers)


def deadlines(request: Request) -> JSONResponse:
    """`GET /api/deadlines`: open ones, overdue first."""
    p = paging(request, default=100)
    found = data.agenda(monitor_app(request).engine, viewer(request), limit=p.limit,
                        offset=p.offset)
    return _page(request, found.rows, found.total, p)


def matters(request: Request) -> JSONResponse:
    """`GET /api/matters`."""
    rows = data.matter_rows(monitor_app(request).engine, viewer(request), now(request).date())
    p = paging(request, default=100)
    return _page(request, rows[p.offset:p.offset + p.limit], len(rows), p)


def agreements(request: Request) -> JSONResponse:
    """`GET /api/agreements`."""
    viewer(request)
    rows = data.agreement_rows(monitor_app(request).engine, agreement_filter(request))
    p = paging(request, default=100)
    return _page(request, rows[p.offset:p.offset + p.limit], len(rows), p)


def api_routes() -> list[Route]:
    """The API's routes."""
    return [
        Route("/api/cases", cases),
        Route("/api/cases/{court}/{docket:path}", case),
        Route("/api/events", events),
        Route("/api/deadlines", deadlines),
        Route("/api/matters", matters),
        Route("/api/agreements", agreements),
    ]
