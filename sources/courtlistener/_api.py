"""The requests of the CourtListener source, built (pure): each target's key, URL, parameters and
context (the URL rules it keeps are `sources.api_urls`).

Target keys: ``search:<query name>`` (discovery), ``docket:<CourtListener id>`` (sync of a
tracked docket), ``lookup:<court>:<docket number>`` (a tracked case without an id yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from sources.base import Target, TrackedCase
from sources.courtlistener._options import Query
from sources.courtlistener._sync import entries_since

__all__ = [
    "SEARCH_ORDER",
    "case_key",
    "case_target",
    "entries_request",
    "search_key",
    "search_target",
]

SEARCH_ORDER = "dateFiled desc"


def search_key(query: Query) -> str:
    """The target key of a discovery query."""
    return f"search:{query.name}"


def case_key(case: TrackedCase) -> str:
    """The target key of a tracked case: its docket sync, or its lookup while it has no id."""
    if case.cl_docket_id is not None:
        return f"docket:{case.cl_docket_id}"
    return f"lookup:{case.court}:{case.docket_number}"


def case_target(base_url: str, case: TrackedCase) -> Target:
    """The docket check of a tracked case, or its lookup (by court and docket number)."""
    context: dict[str, Any] = {
        "court": case.court,
        "docket_number": case.docket_number,
        "next_due": case.next_due.isoformat() if case.next_due else "",
        "last_synced": case.last_synced.isoformat() if case.last_synced else "",
        "last_modified_seen": case.last_modified_seen,
    }
    key = case_key(case)
    if case.cl_docket_id is not None:
        context["cl_docket_id"] = case.cl_docket_id
        url = urljoin(base_url, f"dockets/{case.cl_docket_id}/")
        return Target(key=key, url=url, context=context)
    if ":" in case.docket_number:  # office prefix: CourtListener's exact form
        url = urljoin(base_url, "dockets/")
        params = {"court": case.court, "docket_number": case.docket_number}
    else:
        url = urljoin(base_url, "search/")
        params = {"type": "d", "court": case.court, "docket_number": case.docket_number}
    return Target(key=key, url=url, params=params, context=context)


def search_target(base_url: str, query: Query, since: datetime, waiting: float | None) -> Target:
    """A discovery query's search for cases filed since `since` (newest first); `waiting`
    (seconds since it last ran, None: not since start) goes in its context."""
    params = {"type": query.type, "order_by": SEARCH_ORDER,
              "filed_after": since.date().isoformat()}
    optional = {
        "q": query.q,
        "cause": query.cause,
        "nature_of_suit": " OR ".join(query.nature_of_suit),
        "court": " ".join(query.court),
    }
    params.update({k: v for k, v in optional.items() if v})
    url = urljoin(base_url, "search/")
    context = {"query": query.name, "waiting_s": waiting}
    return Target(key=search_key(query), url=url, params=params, context=context)


def entries_request(base_url: str, context: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(URL, parameters) of the entries of a docket target's docket modified since it was last
    seen (all of them when it never was), oldest change first."""
    url = urljoin(base_url, "docket-entries/")
    params = {"docket": str(context["cl_docket_id"]), "order_by": "date_modified"}
    since = entries_since(str(context.get("last_modified_seen") or ""))
    if since:
        params["date_modified__gte"] = since
    return url, params
