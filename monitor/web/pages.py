"""The site's pages, rendered on the server with Jinja2 (autoescape on: docket text is always
text). Usable without JavaScript: filters are plain GET forms, pictures are inline SVG.

A `?token=` on a page is taken once: it is checked, kept in an HttpOnly cookie, and the
browser is sent to the same address without it (so it stays out of history and referrers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.feeds.files import safe_name
from monitor.web import charts, data
from monitor.web.api import agreement_filter, case_filter
from monitor.web.context import TOKEN_COOKIE, monitor_app, now, paging, token_of, viewer
from sources.courts import COURTS

__all__ = ["page_routes", "templates"]


def templates() -> Environment:
    """The template environment (HTML autoescaped)."""
    env = Environment(loader=PackageLoader("monitor.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["court_name"] = lambda c: COURTS[c].name if c in COURTS else c
    return env


_ENV = templates()
#: how many weeks ahead the agenda shows by default (`?weeks=N`, at most 52)
AGENDA_WEEKS = 8


def feed_link(request: Request) -> Callable[[str], str]:
    """`feed_url(name)` for templates: where a feed file is served (`/feeds/` here, else the
    `[feeds] base_url`), "" when nowhere known."""
    config = monitor_app(request).config

    def feed_url(name: str) -> str:
        if config.server.serve_feeds:
            return f"/feeds/{name}"
        return f"{config.feeds.base_url.rstrip('/')}/{name}" if config.feeds.base_url else ""

    return feed_url


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    who = viewer(request)
    body = _ENV.get_template(name).render(
        request=request, viewer=who, path=request.url.path, title=context.pop("title", ""),
        feed_url=feed_link(request), feed_name=safe_name, **context)
    return HTMLResponse(body, status_code=status)


def _take_token(request: Request) -> Response | None:
    """A page asked with `?token=`: check it, keep it in a cookie, drop it from the URL."""
    if "token" not in request.query_params:
        return None
    viewer(request)  # 403 on an unknown token
    rest = {k: v for k, v in request.query_params.items() if k != "token"}
    target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, token_of(request), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def home(request: Request) -> Response:
    """What is watched, the latest updates, how to subscribe."""
    taken = _take_token(request)
    if taken is not None:
        return taken
    summary = data.watched_summary(monitor_app(request).engine, viewer(request))
    return _render(request, "home.html", title="court-monitor", summary=summary)


def cases(request: Request) -> Response:
    """The case list with its filters."""
    taken = _take_token(request)
    if taken is not None:
        return taken
    f = case_filter(request)
    p = paging(request)
    found = data.case_list(monitor_app(request).engine, f, limit=p.limit, offset=p.offset)
    query = {k: v for k, v in request.query_params.items() if k not in ("page", "offset")}
    page_no = p.offset // p.limit + 1
    pages = {
        "prev": urlencode({**query, "page": page_no - 1}) if p.offset > 0 else "",
        "next": urlencode({**query, "page": page_no + 1})
        if p.offset + p.limit < found.total else "",
        "number": page_no, "count": max(1, -(-found.total // p.limit)),
    }
    return _render(request, "cases.html", title="Cases", found=found, f=f, pages=pages)


def case(request: Request) -> Response:
    """One case: timeline, deadlines with their reasoning, why it is tracked, links."""
    taken = _take_token(request)
    if taken is not None:
        return taken
    found = data.case_page(monitor_app(request).engine, request.path_params["court"].lower(),
                           request.path_params["docket"], viewer(request))
    if found is None:
        raise HTTPException(404, "no such case")
    obj, extra = found["case"], found["page"]
    return _render(request, "case.html", title=obj["case_name"] or obj["docket_number"],
                   c=obj, extra=extra, timeline=_timeline(obj))


def _timeline(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries and deadlines on one line of dates (a deadline sits at its due date)."""
    items = [{"kind": "entry", "day": e["date_filed"] or "", "entry": e} for e in obj["entries"]]
    items += [{"kind": "deadline", "day": (d["due"] or "")[:10], "deadline": d}
              for d in obj["deadlines"]]
    return sorted(items, key=lambda i: (i["day"], i["kind"] == "deadline"))


def deadlines(request: Request) -> Response:
    """The agenda: overdue first, then week by week for the coming weeks (`?weeks=N`)."""
    taken = _take_token(request)
    if taken is not None:
        return taken
    today = now(request).date()
    try:
        span = min(52, max(1, int(request.query_params.get("weeks") or AGENDA_WEEKS)))
    except ValueError:
        raise HTTPException(400, "weeks must be a whole number") from None
    found = data.agenda(monitor_app(request).engine, viewer(request),
                        until=today + timedelta(weeks=span))
    late = [r for r in found.rows if r["state"] in data.LATE_STATES]
    weeks: dict[str, list[dict[str, Any]]] = {}
    for row in found.rows:
        if row["state"] in data.LATE_STATES:
            continue
        due = date.fromisoformat(row["due"][:10])
        monday = due - timedelta(days=due.weekday())
        label = "This week" if monday <= today else f"Week of {monday.isoformat()}"
        weeks.setdefault(label, []).append(row)
    later = found.later
    return _render(request, "deadlines.html", title="Deadlines", late=late, weeks=weeks,
                   today=today, span=span, later=later)


def matters(request: Request) -> Response:
    """Agency matters (the public ones; private ones with a token): clock, days elapsed,
    escalation step, the lawsuit about it."""
    taken = _take_token(request)
    if taken is not None:
        return taken
    rows = data.matter_rows(monitor_app(request).engine, viewer(request), now(request).date())
    return _render(request, "matters.html", title="Agency matters", rows=rows)


def agreements(request: Request) -> Response:
    """287(g) agreements: table with filters, the map, signings per month, recent changes."""
    taken = _take_token(request)
    if taken is not None:
        return taken
    f = agreement_filter(request)
    engine = monitor_app(request).engine
    every = data.agreement_rows(engine, data.AgreementFilter(status=f.status, type=f.type,
                                                              county=f.county))
    rows = [r for r in every if not f.state or r["state_code"] == f.state.upper()]
    by_state = data.participating_by_state(every)
    query = {k: v for k, v in request.query_params.items() if k != "state"}
    link = "?" + urlencode({**query, "state": ""})
    map_svg = charts.state_tile_map(
        by_state, title="Participating agencies by state", unit="agencies", link=link)
    bars_svg = charts.monthly_bars(charts.month_series(data.signed_days(rows)),
                                   title="287(g) agreements signed per month")
    off_grid = {s: n for s, n in by_state.items() if s not in charts.STATE_TILES}
    return _render(request, "agreements.html", title="287(g) agreements", rows=rows, f=f,
                   map_svg=Markup(map_svg), bars_svg=Markup(bars_svg),  # noqa: S704
                   by_state=sorted(by_state.items()), off_grid=off_grid,
                   changes=data.agreement_changes(engine),
                   states=sorted({r["state_code"] for r in every if r["state_code"]}))


def sign_out(request: Request) -> Response:
    """Forget the token cookie."""
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


def page_routes() -> list[Route]:
    """The pages' routes."""
    return [
        Route("/", home),
        Route("/cases", cases),
        Route("/cases/{court}/{docket:path}", case),
        Route("/deadlines", deadlines),
        Route("/matters", matters),
        Route("/agreements", agreements),
        Route("/sign-out", sign_out, methods=["GET", "POST"]),
    ]


def error_page(request: Request, status: int, message: str) -> Response:
    """An HTML error page (the API answers JSON instead)."""
    body = _ENV.get_template("error.html").render(
        request=request, viewer=None, path=request.url.path, title=f"{status}",
        status=status, message=message)
    return HTMLResponse(body, status_code=status)
