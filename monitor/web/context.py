"""Per-request plumbing shared by the pages and the API: the application, the viewer a
token names, paging arguments, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request

from monitor.app import App
from monitor.web.access import PUBLIC, Viewer, viewer_for_token

__all__ = ["TOKEN_COOKIE", "Paging", "monitor_app", "now", "paging", "token_of", "viewer"]

TOKEN_COOKIE = "cm_token"
DEFAULT_LIMIT, MAX_LIMIT = 50, 500


def monitor_app(request: Request) -> App:
    """The court-monitor application the site serves."""
    app: App = request.app.state.monitor
    return app


def now(request: Request) -> datetime:
    """The application's clock (injected: tests and faketime move it)."""
    return monitor_app(request).clock()


def token_of(request: Request) -> str:
    """The token a request carries: `Authorization: Bearer`, `?token=`, or the site cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""


def viewer(request: Request) -> Viewer:
    """Who is asking: the public without a token, a subscription's holder with its token;
    an unknown token is refused (403), never served as public."""
    token = token_of(request)
    if not token:
        return PUBLIC
    found = viewer_for_token(monitor_app(request).config.subscriptions, token)
    if found is None:
        raise HTTPException(403, "unknown token")
    return found


@dataclass(frozen=True)
class Paging:
    """`limit` and `offset` of a listing, bounded."""

    limit: int
    offset: int


def _int(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name, "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None
    if value < 0:
        raise HTTPException(400, f"{name} must not be negative")
    return value


def paging(request: Request, default: int = DEFAULT_LIMIT) -> Paging:
    """`?limit=` (at most 500) and `?offset=` (or `?page=`, from 1, for pages)."""
    limit = min(MAX_LIMIT, max(1, _int(request, "limit", default)))
    page = _int(request, "page", 0)
    offset = (page - 1) * limit if page >= 1 else _int(request, "offset", 0)
    return Paging(limit, offset)
