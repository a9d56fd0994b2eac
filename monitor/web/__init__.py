"""The read-only site for advocates and attorneys (Starlette + Jinja2 under uvicorn).

`create_site(app)` builds the ASGI application: pages (`pages`), the JSON API (`api`), the
style sheet, and `/health` and `/feeds/<file>` (`files`); `monitor.server` adds the webhook
and runs it. Everything is read from the database through `monitor.queries` and shaped by
`monitor.views`, as the command line does; what is private stays behind a subscription's
token (`access`). Every answer carries a Content-Security-Policy that allows no script at all,
and gzip is used when the client accepts it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor import queries
from monitor.app import App
from monitor.web.api import api_routes
from monitor.web.files import feed_file_response
from monitor.web.pages import error_page, page_routes

__all__ = ["SECURITY_HEADERS", "create_site"]

SECURITY_HEADERS = (
    ("content-security-policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
)


class _SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _health(request: Request) -> Response:
    app: App = request.app.state.monitor
    status = queries.status(app.engine, app.config, now=app.clock())
    failing = any(s["failing"] for s in status["sources"])
    return Response(json.dumps(status), status_code=503 if failing else 200,
                    media_type="application/json")


def _feed(request: Request) -> Response:
    app: App = request.app.state.monitor
    return feed_file_response(request, app.config.feeds_dir, request.path_params["name"])


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    if request.url.path.startswith(("/feeds/", "/health")) or request.method != "GET":
        return PlainTextResponse(exc.detail or "error", status_code=exc.status_code)
    return error_page(request, exc.status_code, str(exc.detail))


def create_site(app: App, *, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The ASGI application serving `app`'s database: pages, API, health, feeds (when
    `[server] serve_feeds`), then `extra_routes` (the webhook)."""
    routes: list[BaseRoute] = [Route("/health", _health)]
    if app.config.server.serve_feeds:
        routes.append(Route("/feeds/{name}", _feed))
    routes += [*page_routes(), *api_routes(),
               Mount("/static", StaticFiles(packages=[("monitor.web", "static")]),
                     name="static"),
               *extra_routes]
    site = Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders), Middleware(GZipMiddleware, minimum_size=512)],
        exception_handlers={HTTPException: _http_error},
    )
    site.state.monitor = app
    return site
