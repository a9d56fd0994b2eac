"""CourtListener's alerts kept in step with what is tracked (pure): the requests, the readers of
the alert listings, and the reconciliation rules.

With a token and the daemon's webhook endpoint reachable (`Runtime.push`), the source keeps:

- one docket alert (``docket-alerts/``: ``{docket, alert_type: 1}``) per tracked docket that
  has a CourtListener id: created when the case is tracked, deleted when it is no longer;
- one search alert (``alerts/``: ``{name, query, rate}``) per configured discovery query,
  named ``court-monitor: <query name>``, at the real-time rate when the account allows it and
  daily otherwise (CourtListener refuses real-time alerts to accounts without membership).

At start (and once a day) both listings are read and reconciled with what the source
remembers (`reconcile_docket_alerts`, `reconcile_search_alerts`): an alert already there for a
tracked docket is adopted (nothing is created twice, even after a crash between a POST and
its bookkeeping), a second alert for one docket is deleted, an alert we created for a docket
no longer tracked is deleted, and alerts the user made by hand for other dockets are left
alone. Alerts are only created after a listing of this process, so a lost memory never
subscribes twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

from sources.courtlistener._options import Query

__all__ = [
    "ALERT_NAME_PREFIX",
    "DOCKET_ALERTS",
    "RATES",
    "SEARCH_ALERTS",
    "Reconciled",
    "SearchAlert",
    "alert_name",
    "alert_query",
    "docket_alert_url",
    "read_docket_alerts",
    "read_search_alerts",
    "reconcile_docket_alerts",
    "reconcile_search_alerts",
    "search_alert_url",
]

DOCKET_ALERTS = "docket-alerts/"
SEARCH_ALERTS = "alerts/"
#: search alert names we own start with this (alerts the user made are never touched)
ALERT_NAME_PREFIX = "court-monitor: "
#: the rates tried for a new search alert, in order (real time is for members only)
RATES = ("rt", "dly")
#: `alert_type` of a docket alert that subscribes (0 is an "unsubscription")
SUBSCRIPTION = 1


@dataclass(frozen=True)
class SearchAlert:
    """A search alert as listed: its id, rate and query string."""

    alert_id: int
    rate: str
    query: str


@dataclass(frozen=True)
class Reconciled:
    """The outcome of a reconciliation: what we keep (key -> alert id) and what to delete."""

    kept: Mapping[Any, int]
    delete: tuple[int, ...]


def alert_name(query: Query) -> str:
    """The name of the search alert of a discovery query."""
    return f"{ALERT_NAME_PREFIX}{query.name}"


def alert_query(query: Query) -> str:
    """The search parameters of a discovery query, as CourtListener's front end writes them."""
    params = {"type": query.type, "q": query.q, "cause": query.cause,
              "nature_of_suit": " OR ".join(query.nature_of_suit),
              "court": " ".join(query.court)}
    return urlencode({k: v for k, v in params.items() if v})


def docket_alert_url(base_url: str, alert_id: int | None = None) -> str:
    """The docket alerts collection, or one docket alert."""
    return urljoin(base_url, DOCKET_ALERTS + (f"{alert_id}/" if alert_id is not None else ""))


def search_alert_url(base_url: str, alert_id: int | None = None) -> str:
    """The search alerts collection, or one search alert."""
    return urljoin(base_url, SEARCH_ALERTS + (f"{alert_id}/" if alert_id is not None else ""))


def read_docket_alerts(results: Iterable[Any]) -> list[tuple[int, int]]:
    """(docket id, alert id) of each subscribing docket alert listed, in listing order."""
    found = []
    for item in results:
        if not isinstance(item, Mapping) or _int(item.get("alert_type", SUBSCRIPTION)) \
                != SUBSCRIPTION:
            continue
        docket, alert = _docket_id(item.get("docket")), _int(item.get("id"))
        if docket is not None and alert is not None:
            found.append((docket, alert))
    return found


def read_search_alerts(results: Iterable[Any]) -> list[tuple[str, SearchAlert]]:
    """(name, alert) of each search alert listed whose name is ours, in listing order."""
    found = []
    for item in results:
        if not isinstance(item, Mapping):
            continue
        name, alert = str(item.get("name") or ""), _int(item.get("id"))
        if name.startswith(ALERT_NAME_PREFIX) and alert is not None:
            found.append((name[len(ALERT_NAME_PREFIX):], SearchAlert(
                alert, str(item.get("rate") or ""), str(item.get("query") or ""))))
    return found


def reconcile_docket_alerts(
    listed: Iterable[tuple[int, int]], ours: Mapping[int, int], tracked: Iterable[int]
) -> Reconciled:
    """The docket alerts to keep (docket id -> alert id) and those to delete, given the listing,
    the alerts we remember and the tracked docket ids: a tracked docket keeps its first alert,
    duplicates go, an alert we made for a docket no longer tracked goes, others stay untouched."""
    wanted = set(tracked)
    kept: dict[int, int] = {}
    delete: list[int] = []
    for docket, alert in listed:
        if docket in wanted and docket not in kept:
            kept[docket] = alert
        elif docket in wanted or docket in ours:
            delete.append(alert)
    return Reconciled(kept=kept, delete=tuple(delete))


def reconcile_search_alerts(
    listed: Iterable[tuple[str, SearchAlert]], queries: Iterable[Query]
) -> Reconciled:
    """The search alerts to keep (query name -> alert id) and those to delete: one per
    configured query whose stored query string is still the configured one; ours of removed or
    changed queries, and duplicates, go."""
    wanted = {q.name: alert_query(q) for q in queries}
    kept: dict[str, int] = {}
    delete: list[int] = []
    for name, alert in listed:
        if name in wanted and name not in kept and _same_query(alert.query, wanted[name]):
            kept[name] = alert.alert_id
        else:
            delete.append(alert.alert_id)
    return Reconciled(kept=kept, delete=tuple(delete))


def _same_query(stored: str, wanted: str) -> bool:
    """CourtListener may store the query with a leading `?` or a trailing `&`."""
    return stored.strip().lstrip("?").rstrip("&") == wanted


def _docket_id(value: Any) -> int | None:
    """A docket given as an id or as its API URL (`.../dockets/12/`)."""
    if isinstance(value, str) and "/" in value:
        value = [p for p in value.split("/") if p][-1]
    return _int(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
