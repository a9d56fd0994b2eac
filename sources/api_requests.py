"""Requests of a JSON API on a request budget (shared as functions by the API sources,
CourtListener and MuckRock): each request asks the budget first, a 429 defers the budget until
its Retry-After, and the token goes only into the Authorization header.

A source keeps its own "deferred" flag for the round: once a request is deferred, the round asks
nothing more (`QuotaDeferred` is raised by these functions; the caller sets its flag).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import httpx
from pydantic import SecretStr

from monitor.errors import FetchError
from sources.api_urls import api_path
from sources.base import RequestGate, Target, TargetState
from sources.fetching import conditional_get
from sources.request_budget import QuotaDeferred

__all__ = ["DEFAULT_RETRY_AFTER", "acquire", "gated_get", "throttled", "token_headers"]

#: how long a 429 without a Retry-After defers the budget
DEFAULT_RETRY_AFTER = timedelta(seconds=60)


def token_headers(token: SecretStr | None) -> dict[str, str]:
    """The headers of every API request: JSON, and the token when there is one."""
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Token {token.get_secret_value()}"
    return headers


def acquire(gate: RequestGate, url: str, *, base_url: str, source_id: str) -> None:
    """Ask the budget for one request to `url`; `QuotaDeferred` when it is spent."""
    if not gate.acquire(api_path(url, base_url)):
        raise QuotaDeferred("request budget spent; deferred to a later round",
                            source=source_id, url=url)


def throttled(gate: RequestGate, exc: FetchError, url: str, *, source_id: str,
              now: datetime) -> QuotaDeferred:
    """A 429: defer the budget until its Retry-After (or `DEFAULT_RETRY_AFTER`) and return the
    `QuotaDeferred` to raise."""
    wait = timedelta(seconds=exc.retry_after) if exc.retry_after else DEFAULT_RETRY_AFTER
    gate.defer(now + wait)
    return QuotaDeferred(f"HTTP 429: retry after {int(wait.total_seconds())}s",
                         source=source_id, url=url, status=429,
                         retry_after=wait.total_seconds())


def gated_get(client: httpx.Client, gate: RequestGate, url: str, params: Mapping[str, str], *,
              key: str, base_url: str, source_id: str, clock: Callable[[], datetime],
              token: SecretStr | None) -> bytes:
    """One GET on the budget; the body. `QuotaDeferred` when the budget is spent or the server
    answered 429 (the budget is then deferred); other failures raise `FetchError`."""
    acquire(gate, url, base_url=base_url, source_id=source_id)
    request = Target(key=key, url=url, params=dict(params))
    try:
        fetched = conditional_get(client, request, TargetState(), source_id=source_id,
                                  clock=clock, headers=token_headers(token))
    except FetchError as exc:
        if exc.status == 429:
            raise throttled(gate, exc, url, source_id=source_id, now=clock()) from exc
        raise
    return fetched.content
