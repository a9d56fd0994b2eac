"""What `court-monitor doctor courtlistener` asks of the account: is the token accepted, and
which docket and search alerts exist. Two requests (first page of each listing), each asked of
the request gate first; the token goes only into the Authorization header.

What the API cannot tell: whether a webhook endpoint is set on the account (webhooks are
managed on the website only, and their URLs are not listed by the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from sources.api_urls import api_path
from sources.base import RequestGate
from sources.courtlistener._alerts import (
    SearchAlert,
    docket_alert_url,
    read_docket_alerts,
    read_search_alerts,
    search_alert_url,
)

__all__ = ["AccountCheck", "check_account"]


@dataclass(frozen=True)
class AccountCheck:
    """The answers: `token` is "ok", "rejected", "anonymous", "deferred" (the budget said not
    now) or "unreachable"; the listings when the token was accepted."""

    token: str
    detail: str = ""
    docket_alerts: tuple[tuple[int, int], ...] = ()
    search_alerts: tuple[tuple[str, SearchAlert], ...] = ()
    more: Mapping[str, bool] = field(default_factory=dict)


def check_account(client: httpx.Client, base_url: str, token: str | None,
                  gate: RequestGate) -> AccountCheck:
    """Ask the account (see the module docstring); never raises for an HTTP answer."""
    if not token:
        return AccountCheck("anonymous", "no token configured: alerts need an account")
    listings: dict[str, Any] = {}
    for name, url in (("docket", docket_alert_url(base_url)),
                      ("search", search_alert_url(base_url))):
        if not gate.acquire(api_path(url, base_url)):
            return AccountCheck("deferred", "the request budget is spent for now; try later")
        try:
            response = client.get(url, headers={"Authorization": f"Token {token}",
                                                "Accept": "application/json"})
        except httpx.HTTPError as exc:
            return AccountCheck("unreachable", type(exc).__name__)
        if response.status_code in (401, 403):
            return AccountCheck("rejected", f"HTTP {response.status_code}: the token is not "
                                "accepted")
        if response.status_code != 200:
            return AccountCheck("unreachable", f"HTTP {response.status_code}")
        try:
            listings[name] = response.json()
        except ValueError:
            return AccountCheck("unreachable", "not JSON")
    docket, search = listings["docket"], listings["search"]
    return AccountCheck(
        "ok",
        docket_alerts=tuple(read_docket_alerts(_results(docket))),
        search_alerts=tuple(read_search_alerts(_results(search))),
        more={"docket": bool(_next(docket)), "search": bool(_next(search))})


def _results(page: Any) -> list[Any]:
    results = page.get("results") if isinstance(page, Mapping) else None
    return results if isinstance(results, list) else []


def _next(page: Any) -> Any:
    return page.get("next") if isinstance(page, Mapping) else None
