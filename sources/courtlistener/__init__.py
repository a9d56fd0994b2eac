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

from monitor.errors import FetchError
from sources.api_urls import api_path, same_api_host, site_of
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
from sources.courtlistener._memory import Continuation, memory_text, read_memory
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
from sources.fetching import conditional_get
from sources.request_budget import MemoryGate, QuotaDeferred

__all__ = ["CourtListener"]

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
#: wait this long after a 429 without a usable Retry-After
DEFAULT_RETRY_AFTER = timedelta(seconds=60)

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
        self.runtime = Runtime(gate=self.runtime.gate)  # the token lives only in `_token`
        self._continuations: dict[str, Continuation] = {}
        self._discovered_at: dict[str, datetime] = {}
        self._lookup_misses: dict[str, datetime] = {}
        #: the memory as the core keeps it (text by key), to hand over only what changed
        self._kept: dict[str, str] = {}
        self._deferred = False

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
        return resumed + overdue + with_deadline + others + rest + early

    def _recall_kept(self, plan: Plan) -> None:
        """Resume from what the core kept (`Plan.cursors`), when it keeps anything: a new
        process (`poll --once`) picks up the last one's unfinished pagination and lookup misses,
        and a fetch the core did not store (its parse failed) is not taken as done."""
        if plan.cursors is None:
            return
        self._kept = dict(plan.cursors)
        self._continuations, self._lookup_misses = {}, {}
        for key, text in plan.cursors.items():
            continuation, missed = read_memory(text)
            url = self._same_host(continuation.url) if continuation is not None else None
            if continuation is not None and url:  # the token goes to our API only
                self._continuations[key] = replace(continuation, url=url)
            if missed is not None:
                self._lookup_misses[key] = missed

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
        discovery = len(self.options.query) * (_DAY / DISCOVERY_EVERY)
        per_day = daily_checks(self.options.limits(), discovery)
        return split_due(plan.tracked, plan.now, per_day)

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
                    last is not None and plan.now - last < DISCOVERY_EVERY):
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
        else:
            raise FetchError(f"unknown target {target.key!r}", source=self.source_id,
                             url=target.url)
        return Fetched(target=target, content=json.dumps(payload).encode(),
                       status=200, fetched_at=self.clock(), keep=self._changed_memory())

    def _changed_memory(self) -> dict[str, str]:
        """What changed in the memory since the core last kept it ("" forgets a key): this
        fetch's own change, and anything `targets()` dropped. Taken as kept from now on; if the
        fetch is not stored, the next `targets()` resumes from what the core really kept."""
        memory = {key: memory_text(self._continuations.get(key), self._lookup_misses.get(key))
                  for key in set(self._continuations) | set(self._lookup_misses)}
        changes = {key: memory.get(key, "") for key in sorted(set(memory) | set(self._kept))
                   if memory.get(key, "") != self._kept.get(key, "")}
        self._kept = memory
        return changes

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
        """One gated GET returning a JSON object."""
        path = api_path(url, self.options.base_url)
        if self._deferred or not self.gate.acquire(path):
            self._deferred = True
            raise QuotaDeferred("request budget spent; deferred to a later round",
                                source=self.source_id, url=url)
        request = Target(key=target.key, url=url, params=dict(params))
        try:
            fetched = conditional_get(self.client, request, TargetState(),
                                      source_id=self.source_id, clock=self.clock,
                                      headers=self._headers())
        except FetchError as exc:
            if exc.status == 429:
                raise self._throttled(exc, url) from exc
            raise
        return json_object(fetched.content, source=self.source_id, url=url)

    def _throttled(self, exc: FetchError, url: str) -> QuotaDeferred:
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else DEFAULT_RETRY_AFTER
        self.gate.defer(self.clock() + wait)
        self._deferred = True
        return QuotaDeferred(f"HTTP 429: retry after {int(wait.total_seconds())}s",
                             source=self.source_id, url=url, status=429,
                             retry_after=wait.total_seconds())

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Token {self._token.get_secret_value()}"
        return headers

    # ------------------------------------------------------------------ parse

    def parse(self, fetched: Fetched) -> list[Observation]:
        """Observations of one fetched target or pushed webhook. Pure; raises ParseError."""
        if fetched.not_modified:
            return []
        target = fetched.target
        site = site_of(target.url)
        kind = target.key.split(":", 1)[0]
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

