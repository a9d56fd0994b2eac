"""CourtListener REST API v4: find cases by search query, keep tracked dockets in sync, accept
webhooks, and never spend more requests than the (free) quota allows.

Requests, and what each costs (one request each, asked of the request gate first):

- discovery, per configured query: ``search/?type=d|r&q=..&cause=..&nature_of_suit=..&court=..
  &filed_after=..&order_by=dateFiled desc`` (cursor pagination: ``next`` links);
- sync of a tracked docket: ``dockets/<id>/`` (the cheap check: ``date_modified``,
  ``date_last_filing``), then, only when it changed, ``docket-entries/?docket=<id>
  &order_by=date_modified&date_modified__gte=..`` (cursor pagination);
- lookup of a tracked case that has no CourtListener id yet (seen through RSS):
  ``dockets/?court=..&docket_number=..`` (or ``search/?type=d&court=..&docket_number=..`` when
  the number has no office prefix).

Budget (`sources.request_budget`). Every HTTP request is first asked of a `RequestGate`
(`acquire(path) -> bool`); the core passes one backed by the shared ledger
(`monitor.quota.Quota.gate`), standalone use gets a `MemoryGate` with the same rules
(`admit_request`). A refusal raises `QuotaDeferred` (a `FetchError`) and the rest of the round is
deferred; an HTTP 429 stores its Retry-After in the gate and does the same. Each tracked docket
gets a share of the daily budget weighted by how near its next deadline is (`deadline_weight`),
which gives it a minimum interval between checks (`sync_interval`; both in `._schedule`); due
targets are ordered: unfinished pagination first, then dockets with a deadline (nearest first),
then dockets with fresh activity (newest first), then the rest (least recently synced first),
then discovery (moved to the front when it has not run since start or has waited
`DISCOVERY_MAX_WAIT`: one request per query that must not starve), then a few dockets not yet
due (nearest to due first), so budget left idle by the pacing is still spent on freshness.

Construction: ``CourtListener(source_id, options, client, clock, *, runtime=None)``. The token is
the secret ``runtime.secrets["token"]`` the core resolved from `token_env` / `token_file` (absent:
anonymous); it is kept as a `SecretStr` and only ever put in the Authorization header, never in a
message or repr. ``runtime.gate`` is the shared budget (`request_budget` declares it).

What the core learns from a docket sync: `docket_sync(fetched)` returns a `DocketSync` (the
CourtListener id, the docket's `date_modified` to store as `last_modified_seen` once the sync is
complete, and whether it is complete). Unfinished pagination (including the entries of a docket
whose check found changes when the budget ran out) is resumed first in the next round, and a
lookup that found nothing waits `LOOKUP_RETRY`. Both outlive the process: each fetch hands what
changed to the core in `Fetched.keep` (one JSON text per target key: ``{"resume": {"url",
"context"}, "missed": ISO time}``), which the core saves once the fetch is stored and returns in
`Plan.cursors`; `targets()` resumes from that, so `poll --once` from cron loses nothing between
processes and a fetch whose observations were never stored is not taken as done.

This module is the source itself: its rounds (which targets, in what order), its fetches (all
its I/O) and the dispatch of `parse`. The rest lives beside it, one job a module: its config keys
(`sources.courtlistener._options`), each request's URL and parameters
(`sources.courtlistener._api`), the pure JSON readers (`sources.courtlistener._json`), the
docket sync rules (`sources.courtlistener._sync`) and the memory text
(`sources.courtlistener._memory`), each a private module of this package.

Push (`sources.courtlistener._alerts`): with a token and the daemon's webhook endpoint
reachable (`Runtime.push`), the source keeps a CourtListener docket alert per tracked docket
with an id and a search alert per query (targets ``alerts:list``: both listings, read and
reconciled at start and daily; ``alert:<docket id>``: create one; ``salert:<query name>``:
create one; ``unalert:<alert id>``: delete one). They are asked of the same gate, after the
deadline-driven checks and before the other checks (one alert request spares that docket's
polling from then on). A docket with a live alert is then checked only by the safety net
(`._schedule`: daily, or as before when a deadline is near and no push came), and a query with
a search alert runs once a day. Each alert id is kept with its target's memory (``docket:<id>``,
``search:<name>``), so `push_subscriptions` tells the core which dockets are pushed.

Webhooks (pushed, wrapped as `Fetched` with target key ``"webhook"``): `parse_webhook` reads
docket alerts (event type 1) and search alerts (event type 2); other event types give nothing.
A docket alert names only the CourtListener docket id (and the court when a document path shows
it): its observations carry `cl_docket_id` with an empty docket number, to be resolved by id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from monitor.errors import DeferredError, FetchError
from sources.api_requests import acquire, gated_get, throttled, token_headers
from sources.api_urls import same_api_host, site_of
from sources.base import (
    Clock,
    Fetched,
    Observation,
    Plan,
    QuotaLimits,
    RequestGate,
    Runtime,
    Source,
    SourceOptions,
    Target,
    TargetState,
    TrackedCase,
)
from sources.courtlistener._account import AccountCheck, check_account
from sources.courtlistener._alerts import (
    RATES,
    alert_name,
    alert_query,
    docket_alert_url,
    read_docket_alerts,
    read_search_alerts,
    reconcile_docket_alerts,
    reconcile_search_alerts,
    search_alert_url,
)
from sources.courtlistener._api import (
    case_key,
    case_target,
    entries_request,
    search_key,
    search_target,
)
from sources.courtlistener._json import (
    DEFAULT_SITE,
    field_text,
    json_object,
    parse_listing,
    parse_webhook,
)
from sources.courtlistener._memory import Continuation, Memory, memory_text, read_memory
from sources.courtlistener._options import (
    CourtListenerOptions,
    Query,
    parse_duration,
)
from sources.courtlistener._schedule import (
    daily_checks,
    split_due,
)
from sources.courtlistener._sync import (
    docket_sync,
    lookup_matches,
    needs_entries,
    parse_sync,
)
from sources.deadline_transport import FetchStopped
from sources.fetching import parse_retry_after
from sources.request_budget import MemoryGate, QuotaDeferred

__all__ = ["AccountCheck", "CourtListener", "check_account"]

#: how often each discovery query runs, and how long it may wait behind dockets
DISCOVERY_EVERY = timedelta(hours=6)
DISCOVERY_MAX_WAIT = timedelta(hours=12)
#: search again a little before the last run: CourtListener indexes filings with some delay
DISCOVERY_OVERLAP = timedelta(days=2)
#: a lookup that found nothing is retried after this long
LOOKUP_RETRY = timedelta(days=3)
#: at most this many pages are followed in one fetch (the rest resumes next round)
MAX_PAGES_PER_FETCH = 10
#: dockets not yet due offered at the end of a round, to use budget nothing due wanted
SPARE_PER_ROUND = 3
#: the alert listings are read again (and reconciled) this often
RECONCILE_EVERY = timedelta(days=1)
#: a query with a live search alert runs this often (the safety net of pushed discovery)
DISCOVERY_EVERY_PUSHED = timedelta(days=1)
#: a docket alert CourtListener refused (no such docket...) is asked again after this long
ALERT_RETRY = timedelta(days=3)

_DAY = timedelta(days=1)


# ---------------------------------------------------------------------------- the source


class CourtListener(Source):
    """Discovers cases through search queries and syncs tracked dockets, within the quota."""

    kind: ClassVar[str] = "courtlistener"
    accepts_push: ClassVar[bool] = True
    #: a docket check must reach the store even when unchanged (it records the sync time)
    skip_unchanged: ClassVar[bool] = False
    Options: ClassVar[type[CourtListenerOptions]] = CourtListenerOptions
    options: CourtListenerOptions

    def __init__(
        self,
        source_id: str,
        options: SourceOptions,
        client: httpx.Client,
        clock: Clock,
        *,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__(source_id, options, client, clock, runtime=runtime)
        token = self.runtime.secrets.get("token")
        self._token = SecretStr(token) if token else None
        self.gate: RequestGate = self.runtime.gate or MemoryGate(self.options.limits(), clock)
        #: push: the webhook endpoint is reachable and the token can own alerts
        self.push = bool(self.runtime.push and self._token)
        # the token lives only in `_token`
        self.runtime = Runtime(gate=self.runtime.gate, push=self.runtime.push)
        #: our alerts: docket id -> docket alert id; query name -> (search alert id, rate)
        self._docket_alerts: dict[int, int] = {}
        self._search_alerts: dict[str, tuple[int, str]] = {}
        #: alerts to delete that no key remembers (duplicates found by a listing): id -> kind
        self._strays: dict[int, str] = {}
        self._alert_refused: dict[int, datetime] = {}
        self._listed_at: datetime | None = None
        #: a listing under way: kind -> (results so far, next page or None)
        self._listing: dict[str, tuple[list[Any], str | None]] | None = None
        self._listing_recalled = False
        self._tracked_ids: frozenset[int] = frozenset()
        self._continuations: dict[str, Continuation] = {}
        self._discovered_at: dict[str, datetime] = {}
        self._lookup_misses: dict[str, datetime] = {}
        #: the memory as the core keeps it (text by key), to hand over only what changed
        self._kept: dict[str, str] = {}
        self._deferred = False

    @classmethod
    def push_subscriptions(cls, kept: Mapping[str, str]) -> frozenset[int]:
        """The docket ids whose docket alert we keep, read from the kept memory."""
        return frozenset(int(key.split(":", 1)[1]) for key, text in kept.items()
                         if key.startswith("docket:") and key.split(":", 1)[1].isdigit()
                         and read_memory(text).alert_id is not None)

    @classmethod
    def request_budget(cls, options: SourceOptions) -> QuotaLimits | None:
        """The free API's quota, or the one `[source.quota]` sets."""
        assert isinstance(options, CourtListenerOptions)
        return options.limits()

    def __repr__(self) -> str:
        auth = "token" if self._token else "anonymous"
        return f"CourtListener(id={self.source_id!r}, {auth}, base_url={self.options.base_url!r})"

    # ------------------------------------------------------------------ targets

    def targets(self, plan: Plan) -> list[Target]:
        """Due targets in priority order (see the module docstring); starts a new round."""
        self._deferred = False
        now = plan.now
        self._recall_kept(plan)
        self._drop_unwanted(plan)
        self._recall_discovery(plan)
        resumed = [self._resume(key, c) for key, c in self._continuations.items()]
        busy = set(self._continuations)
        due, spare = self._split_cases(plan)
        dockets = self._case_targets(due, now, busy)
        discovery = self._due_discovery(plan, busy)
        overdue = [t for t in discovery if self._discovery_overdue(t, now)]
        with_deadline = [t for t in dockets if t.context.get("next_due")]
        others = [t for t in dockets if not t.context.get("next_due")]
        rest = [t for t in discovery if not self._discovery_overdue(t, now)]
        early = self._case_targets(spare, now, busy)[:SPARE_PER_ROUND]
        alerts = self._alert_targets(plan)
        return resumed + overdue + with_deadline + alerts + others + rest + early

    def _recall_kept(self, plan: Plan) -> None:
        """Resume from what the core kept (`Plan.cursors`), when it keeps anything: a new
        process (`poll --once`) picks up the last one's unfinished pagination and lookup misses,
        and a fetch the core did not store (its parse failed) is not taken as done."""
        if plan.cursors is None:
            return
        self._kept = dict(plan.cursors)
        self._continuations, self._lookup_misses = {}, {}
        self._docket_alerts, self._search_alerts = {}, {}
        for key, text in plan.cursors.items():
            memory = read_memory(text)
            continuation = memory.continuation
            url = self._same_host(continuation.url) if continuation is not None else None
            if continuation is not None and url:  # the token goes to our API only
                self._continuations[key] = replace(continuation, url=url)
            if memory.missed is not None:
                self._lookup_misses[key] = memory.missed
            self._recall_alert(key, memory)

    def _recall_alert(self, key: str, memory: Memory) -> None:
        if memory.alert_id is None:
            return
        kind, _, name = key.partition(":")
        if kind == "docket" and name.isdigit():
            self._docket_alerts[int(name)] = memory.alert_id
        elif kind == "search":
            self._search_alerts[name] = (memory.alert_id, memory.rate)

    def _drop_unwanted(self, plan: Plan) -> None:
        """Forget what no longer leads anywhere: unfinished pages of a docket no longer tracked
        (not worth a request), of a query no longer configured, of a lookup whose case is gone
        or identified; lookup misses old enough to try again."""
        live = {search_key(q) for q in self.options.query}
        live.update(case_key(c) for c in plan.tracked)
        for key in [k for k in self._continuations if k not in live]:
            del self._continuations[key]
        for key, missed in list(self._lookup_misses.items()):
            if key not in live or plan.now - missed >= LOOKUP_RETRY:
                del self._lookup_misses[key]

    def _recall_discovery(self, plan: Plan) -> None:
        """A new process (`poll --once`) learns when each query last ran from the core, so a
        one-shot poll does not spend a request on discovery every time it starts."""
        for query in self.options.query:
            fetched = plan.fetched_at.get(search_key(query))
            if fetched is not None and query.name not in self._discovered_at:
                aware = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)
                self._discovered_at[query.name] = aware

    def _split_cases(self, plan: Plan) -> tuple[list[TrackedCase], list[TrackedCase]]:
        """(due in priority order, not yet due with the nearest to due first): `split_due` with
        the checks per day the quota leaves once discovery has its runs."""
        discovery = sum(_DAY / self._discovery_every(q) for q in self.options.query)
        per_day = daily_checks(self.options.limits(), discovery)
        self._tracked_ids = frozenset(
            c.cl_docket_id for c in plan.tracked if c.cl_docket_id is not None)
        pushed = frozenset(self._docket_alerts) if self.push else frozenset()
        return split_due(plan.tracked, plan.now, per_day, pushed)

    def _discovery_every(self, query: Query) -> timedelta:
        """How often a query runs: daily when its search alert pushes, else `DISCOVERY_EVERY`."""
        pushed = self.push and query.name in self._search_alerts
        return DISCOVERY_EVERY_PUSHED if pushed else DISCOVERY_EVERY

    def _case_targets(
        self, cases: Iterable[TrackedCase], now: datetime, busy: set[str]
    ) -> list[Target]:
        targets = [self._case_target(case, now) for case in cases]
        return [t for t in targets if t is not None and t.key not in busy]

    def _case_target(self, case: TrackedCase, now: datetime) -> Target | None:
        """Its docket check, or its lookup unless the last one found nothing lately."""
        missed = self._lookup_misses.get(case_key(case)) if case.cl_docket_id is None else None
        if missed is not None and now - missed < LOOKUP_RETRY:
            return None
        return case_target(self.options.base_url, case)

    def _due_discovery(self, plan: Plan, busy: set[str]) -> list[Target]:
        targets = []
        for query in self.options.query:
            last = self._discovered_at.get(query.name)
            if search_key(query) in busy or (
                    last is not None and plan.now - last < self._discovery_every(query)):
                continue
            targets.append(self._search_target(query, plan))
        return targets

    def _search_target(self, query: Query, plan: Plan) -> Target:
        """Search from a little before its last run (else the last poll, else the lookback)."""
        since = self._discovered_at.get(query.name) or plan.last_run
        if since is None:
            since = plan.now - parse_duration(self.options.initial_lookback)
        else:
            since -= DISCOVERY_OVERLAP
        waiting = (plan.now - self._discovered_at[query.name]).total_seconds() if (
            query.name in self._discovered_at) else None
        return search_target(self.options.base_url, query, since, waiting)

    @staticmethod
    def _discovery_overdue(target: Target, now: datetime) -> bool:
        """Not run since start, or waiting too long: goes first (one request per query)."""
        waiting = target.context.get("waiting_s")
        return waiting is None or waiting >= DISCOVERY_MAX_WAIT.total_seconds()

    def _alert_targets(self, plan: Plan) -> list[Target]:
        """The alert requests due (push only): the listing (at start, then daily), deletions
        of alerts no longer wanted, and, once this process has listed, the missing alerts."""
        if not self.push:
            return []
        self._recall_listing(plan)
        base = self.options.base_url
        targets = []
        if self._listed_at is None or plan.now - self._listed_at >= RECONCILE_EVERY:
            targets.append(Target(key="alerts:list", url=docket_alert_url(base)))
        for docket, alert in sorted(self._docket_alerts.items()):
            if docket not in self._tracked_ids:
                targets.append(self._delete_target(alert, "docket", docket=docket))
        configured = {q.name for q in self.options.query}
        for name, (alert, _) in sorted(self._search_alerts.items()):
            if name not in configured:
                targets.append(self._delete_target(alert, "search", query=name))
        targets += [self._delete_target(alert, kind) for alert, kind in self._strays.items()]
        if self._listed_at is None:
            return targets  # nothing is created before a listing: never subscribe twice
        # a search alert first: one request that pushes every new case of a query
        targets += [Target(key=f"salert:{q.name}", url=search_alert_url(base),
                           context={"query": q.name})
                    for q in self.options.query if q.name not in self._search_alerts]
        for docket in sorted(self._tracked_ids - set(self._docket_alerts)):
            refused = self._alert_refused.get(docket)
            if refused is None or plan.now - refused >= ALERT_RETRY:
                targets.append(Target(key=f"alert:{docket}", url=docket_alert_url(base),
                                      context={"docket": docket}))
        return targets

    def _recall_listing(self, plan: Plan) -> None:
        """A new process (`poll --once`) learns when the alerts were last listed from the
        core: what it kept since is the reconciled truth, so it does not list every start."""
        if self._listing_recalled:
            return
        self._listing_recalled = True
        listed = plan.fetched_at.get("alerts:list")
        if listed is not None and plan.cursors is not None and self._listed_at is None:
            self._listed_at = listed if listed.tzinfo else listed.replace(tzinfo=UTC)

    def _delete_target(self, alert: int, kind: str, *, docket: int | None = None,
                       query: str = "") -> Target:
        base = self.options.base_url
        url = docket_alert_url(base, alert) if kind == "docket" else search_alert_url(base, alert)
        return Target(key=f"unalert:{alert}", url=url,
                      context={"alert": alert, "kind": kind, "docket": docket, "query": query})

    @staticmethod
    def _resume(key: str, continuation: Continuation) -> Target:
        return Target(key=key, url=continuation.url,
                      context={**continuation.context, "resumed": True})

    # ------------------------------------------------------------------ fetch

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """All I/O of one target; raises `QuotaDeferred` when the budget says not now."""
        kind = target.key.split(":", 1)[0]
        if kind == "docket":
            payload = self._fetch_docket(target)
        elif kind in ("search", "lookup"):
            payload = self._fetch_pages(target, target.url, dict(target.params))
            self._finish_listing(target, payload)
        elif kind == "alerts":
            payload = self._list_alerts(target)
        elif kind == "alert":
            payload = self._create_docket_alert(target)
        elif kind == "salert":
            payload = self._create_search_alert(target)
        elif kind == "unalert":
            payload = self._delete_alert(target)
        else:
            raise FetchError(f"unknown target {target.key!r}", source=self.source_id,
                             url=target.url)
        return Fetched(target=target, content=json.dumps(payload).encode(),
                       status=200, fetched_at=self.clock(), keep=self._changed_memory())

    def _changed_memory(self) -> dict[str, str]:
        """What changed in the memory since the core last kept it ("" forgets a key): this
        fetch's own change, and anything `targets()` dropped. Taken as kept from now on; if the
        fetch is not stored, the next `targets()` resumes from what the core really kept."""
        keys = set(self._continuations) | set(self._lookup_misses)
        keys.update(f"docket:{docket}" for docket in self._docket_alerts)
        keys.update(f"search:{name}" for name in self._search_alerts)
        memory = {key: memory_text(self._memory_of(key)) for key in keys}
        changes = {key: memory.get(key, "") for key in sorted(set(memory) | set(self._kept))
                   if memory.get(key, "") != self._kept.get(key, "")}
        self._kept = memory
        return changes

    def _memory_of(self, key: str) -> Memory:
        kind, _, name = key.partition(":")
        alert_id, rate = None, ""
        if kind == "docket" and name.isdigit():
            alert_id = self._docket_alerts.get(int(name))
        elif kind == "search" and name in self._search_alerts:
            alert_id, rate = self._search_alerts[name]
        return Memory(continuation=self._continuations.get(key),
                      missed=self._lookup_misses.get(key), alert_id=alert_id, rate=rate)

    # ------------------------------------------------------------------ alerts (push)

    def _list_alerts(self, target: Target) -> dict[str, Any]:
        """Both alert listings, all pages, reconciled with what we remember and what is
        tracked. A deferral keeps the pages read so far: the next round goes on from there."""
        base = self.options.base_url
        if self._listing is None:
            self._listing = {"docket": ([], docket_alert_url(base)),
                             "search": ([], search_alert_url(base))}
        for kind, (results, next_url) in list(self._listing.items()):
            while next_url:
                page = self._get_json(target, next_url, {})
                results.extend(page.get("results") or [])
                next_url = self._same_host(page.get("next"))
                self._listing[kind] = (results, next_url)
        dockets, searches = self._listing["docket"][0], self._listing["search"][0]
        self._listing = None
        docket = reconcile_docket_alerts(read_docket_alerts(dockets), self._docket_alerts,
                                         self._tracked_ids)
        listed = read_search_alerts(searches)
        search = reconcile_search_alerts(listed, self.options.query)
        rates = {name: alert.rate for name, alert in listed}
        self._docket_alerts = {int(k): v for k, v in docket.kept.items()}
        self._search_alerts = {str(k): (v, rates.get(str(k), "")) for k, v in search.kept.items()}
        self._strays = {**{a: "docket" for a in docket.delete},
                        **{a: "search" for a in search.delete}}
        self._listed_at = self.clock()
        return {"docket_alerts": len(dockets), "search_alerts": len(searches),
                "kept": len(self._docket_alerts), "strays": len(self._strays)}

    def _create_docket_alert(self, target: Target) -> dict[str, Any]:
        """POST a docket alert; one CourtListener refuses (no such docket) waits `ALERT_RETRY`."""
        docket = int(target.context["docket"])
        status, body = self._send(target, "POST", target.url,
                                  {"docket": docket, "alert_type": 1})
        alert = body.get("id") if status < 300 else None
        if isinstance(alert, int):
            self._docket_alerts[docket] = alert
            self._alert_refused.pop(docket, None)
        else:
            # refused (no such docket, or one exists that we did not know of): list again
            self._alert_refused[docket] = self.clock()
            self._listed_at = None
        return {"status": status, "alert": alert}

    def _create_search_alert(self, target: Target) -> dict[str, Any]:
        """POST a search alert at the first rate the account allows (real time, else daily)."""
        name = str(target.context["query"])
        query = next(q for q in self.options.query if q.name == name)
        status = 0
        for rate in RATES:
            status, body = self._send(target, "POST", target.url, {
                "name": alert_name(query), "query": alert_query(query), "rate": rate})
            alert = body.get("id") if status < 300 else None
            if isinstance(alert, int):
                self._search_alerts[name] = (alert, rate)
                return {"status": status, "alert": alert, "rate": rate}
            if status != 400:
                break
        raise FetchError(f"search alert {name!r} refused (HTTP {status})",
                         source=self.source_id, url=target.url, status=status)

    def _delete_alert(self, target: Target) -> dict[str, Any]:
        """DELETE an alert (one already gone counts as deleted) and forget it."""
        status, _ = self._send(target, "DELETE", target.url, None)
        if status >= 300 and status != 404:
            raise FetchError(f"HTTP {status}", source=self.source_id, url=target.url,
                             status=status)
        alert = int(target.context["alert"])
        self._strays.pop(alert, None)
        docket = target.context.get("docket")
        if docket is not None and self._docket_alerts.get(int(docket)) == alert:
            del self._docket_alerts[int(docket)]
        query = str(target.context.get("query") or "")
        if query and self._search_alerts.get(query, (None, ""))[0] == alert:
            del self._search_alerts[query]
        return {"status": status, "deleted": alert}

    def _send(self, target: Target, method: str, url: str,
              body: Mapping[str, Any] | None) -> tuple[int, dict[str, Any]]:
        """One gated POST or DELETE: (status, JSON object answered or {}); a 4xx other than
        429 is returned for the caller to judge, a 429 defers, a 5xx or network error raises."""
        if self._deferred:
            raise QuotaDeferred("request budget spent; deferred to a later round",
                                source=self.source_id, url=url)
        try:
            acquire(self.gate, url, base_url=self.options.base_url, source_id=self.source_id)
        except QuotaDeferred:
            self._deferred = True
            raise
        try:
            response = self.client.request(method, url, json=body,
                                           headers=token_headers(self._token))
        except FetchStopped as exc:
            raise DeferredError("stopping: the rest of the round waits for the next start",
                                source=self.source_id, url=url) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}", source=self.source_id, url=url) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            error = FetchError(f"HTTP {status}", source=self.source_id, url=url, status=status,
                               retry_after=parse_retry_after(response.headers.get("Retry-After"),
                                                             self.clock()))
            if status == 429:
                self._deferred = True
                raise throttled(self.gate, error, url, source_id=self.source_id,
                                now=self.clock()) from error
            raise error
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        return status, answer if isinstance(answer, dict) else {}

    def _fetch_docket(self, target: Target) -> dict[str, Any]:
        """The docket check, then its changed entries (or resume unfinished entries)."""
        if target.context.get("resumed"):
            entries = self._fetch_pages(target, target.url, {})
            return {"docket": None, "entries": entries, "changed": True}
        docket = self._get_json(target, target.url, {})
        if not needs_entries(docket, target.context):
            self._continuations.pop(target.key, None)
            return {"docket": docket, "entries": None, "changed": False}
        target = Target(key=target.key, url=target.url, params=target.params,
                        context={**target.context,
                                 "date_modified": field_text(docket, "date_modified")})
        url, params = entries_request(self.options.base_url, target.context)
        try:
            entries = self._fetch_pages(target, url, params)
        except QuotaDeferred:
            # the check is spent: resume with the entries next round rather than lose it
            self._continuations[target.key] = Continuation(
                url=str(httpx.URL(url, params=params)), context=dict(target.context))
            return {"docket": docket, "entries": {"results": [], "next": "deferred"},
                    "changed": True}
        return {"docket": docket, "entries": entries, "changed": True}

    def _fetch_pages(self, target: Target, url: str, params: dict[str, str]) -> dict[str, Any]:
        """Follow `next` links while the budget allows; remember where it stopped."""
        results: list[Any] = []
        next_url: str | None = url
        pages = 0
        while next_url and pages < MAX_PAGES_PER_FETCH:
            try:
                page = self._get_json(target, next_url, params if pages == 0 else {})
            except QuotaDeferred:
                if pages == 0:
                    raise
                break
            pages += 1
            results.extend(page.get("results") or [])
            next_url = self._same_host(page.get("next"))
        if next_url:
            self._continuations[target.key] = Continuation(
                url=next_url if pages else str(httpx.URL(url, params=params)),
                context=dict(target.context))
        else:
            self._continuations.pop(target.key, None)
        return {"results": results, "next": next_url}

    def _finish_listing(self, target: Target, payload: Mapping[str, Any]) -> None:
        if payload.get("next"):
            return
        now = self.clock()
        if target.key.startswith("search:"):
            self._discovered_at[str(target.context["query"])] = now
            return
        found = parse_listing(payload, site=site_of(target.url))
        if lookup_matches(found, target.context):
            self._lookup_misses.pop(target.key, None)
        else:
            self._lookup_misses[target.key] = now

    def _same_host(self, link: Any) -> str | None:
        """A `next` link, only when it points at our API (the token goes nowhere else)."""
        return same_api_host(link, self.options.base_url)

    def _get_json(self, target: Target, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One gated GET returning a JSON object (nothing more is asked once one is deferred)."""
        if self._deferred:
            raise QuotaDeferred("request budget spent; deferred to a later round",
                                source=self.source_id, url=url)
        try:
            content = gated_get(self.client, self.gate, url, params, key=target.key,
                                base_url=self.options.base_url, source_id=self.source_id,
                                clock=self.clock, token=self._token)
        except QuotaDeferred:
            self._deferred = True
            raise
        return json_object(content, source=self.source_id, url=url)

    # ------------------------------------------------------------------ parse

    def parse(self, fetched: Fetched) -> list[Observation]:
        """Observations of one fetched target or pushed webhook. Pure; raises ParseError."""
        if fetched.not_modified:
            return []
        target = fetched.target
        site = site_of(target.url)
        kind = target.key.split(":", 1)[0]
        if kind in ("alerts", "alert", "salert", "unalert"):
            return []  # bookkeeping of our alerts: nothing observed
        if kind == "webhook":
            return list(parse_webhook(fetched.content, site=site or DEFAULT_SITE,
                                      source_id=self.source_id))
        data = json_object(fetched.content, source=self.source_id, url=target.url)
        if kind == "docket":
            sync = docket_sync(fetched)
            return [
                replace(obs, cl_synced=True, cl_date_modified=sync.date_modified)
                if sync is not None and obs.cl_docket_id == sync.cl_docket_id else obs
                for obs in parse_sync(data, target.context, site)
            ]
        if kind == "lookup":
            return list(lookup_matches(parse_listing(data, site=site), target.context))
        return list(parse_listing(data, site=site))

