"""URL rules of a JSON API followed with a token (shared as functions by the API sources):
a request's name in the request ledger, `next` links followed only on the API's own host (the
token goes nowhere else), the site that relative links in a response resolve against."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = ["api_path", "same_api_host", "site_of"]


def same_api_host(link: Any, base_url: str) -> str | None:
    """A `next` link, only when it points at our API (the token goes nowhere else)."""
    if not isinstance(link, str) or not link:
        return None
    base = urlsplit(base_url)
    there = urlsplit(urljoin(base_url, link))
    if (there.scheme, there.netloc) != (base.scheme, base.netloc):
        return None
    return there.geturl()


def site_of(url: str) -> str:
    """`scheme://host` of a URL ("" when it has none): what relative links resolve against."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def api_path(url: str, base_url: str) -> str:
    """The ledger's name of a request: its path under the API root (`dockets/12/`)."""
    path = urlsplit(url).path
    base_path = urlsplit(base_url).path
    return path[len(base_path):] if path.startswith(base_path) else path
