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

Budget. Every HTTP request is first asked of a `RequestGate` (`acquire(path) -> bool`); the core
passes one backed by the shared ledger (`monitor.quota.Quota.gate`), standalone use gets a
`MemoryGate` with the same rules (`admit_request`). A refusal raises `QuotaDeferred` (a
`FetchError`) and the rest of the round is deferred; an HTTP 429 stores its Retry-After in the
gate and does the same. Each tracked docket gets a share of the daily budget weighted by how near
its next deadline is (`deadline_weight`), which gives it a minimum interval between checks
(`sync_interval`); due targets are ordered: unfinished pagination first, then dockets with a
deadline (nearest first), then dockets with fresh activity (newest first), then the rest (least
recently synced first), then discovery (moved to the front when it has not run since start or
has waited `DISCOVERY_MAX_WAIT`: one request per query that must not starve),
then a few dockets not yet due (nearest to due first), so budget left idle by the pacing is
still spent on freshness.

Construction: ``CourtListener(source_id, options, client, clock, *, token=None, gate=None)``.
`token` is the secret the core resolved from `token_env` / `token_file` (None: anonymous); it is
kept as a `SecretStr` and only ever put in the Authorization header, never in a message or repr.

What the core learns from a docket sync: `docket_sync(fetched)` returns a `DocketSync` (the
CourtListener id, the docket's `date_modified` to store as `last_modified_seen` once the sync is
complete, and whether it is complete). Unfinished pagination (including the entries of a docket
whose check found changes when the budget ran out) is resumed first in the next round, and a
lookup that found nothing waits `LOOKUP_RETRY`. Both outlive the process: each fetch hands what
changed to the core in `Fetched.keep` (one JSON text per target key: ``{"resume": {"url",
"context"}, "missed": ISO time}``), which the core saves once the fetch is stored and returns in
`Plan.cursors`; `targets()` resumes from that, so `poll --once` from cron loses nothing between
processes and a fetch whose observations were never stored is not taken as done.

Webhooks (pushed, wrapped as `Fetched` with target key ``"webhook"``): `parse_webhook` reads
docket alerts (event type 1) and search alerts (event type 2); other event types give nothing.
A docket alert names only the CourtListener docket id (and the court when a document path shows
it): its observations carry `cl_docket_id` with an empty docket number, to be resolved by id.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from monitor.errors import DeferredError, FetchError, ParseError
from sources.base import (
    CaseObservation,
    Clock,
    EntryObservation,
    Fetched,
    Observation,
    Plan,
    Source,
    SourceOptions,
    Target,
    TargetState,
    TrackedCase,
)
from sources.fetching import conditional_get
from sources.identity import docket_key, normalize_docket_number

__all__ = [
    "DEFAULT_BASE_URL",
    "SEARCH_ORDER",
    "CourtListener",
    "CourtListenerOptions",
    "DocketSync",
    "MemoryGate",
    "Query",
    "QuotaDeferred",
    "QuotaLimits",
    "QuotaOptions",
    "RequestGate",
    "WindowUsage",
    "admit_request",
    "deadline_weight",
    "docket_sync",
    "parse_docket",
    "parse_docket_entries",
    "parse_duration",
    "parse_listing",
    "parse_search_results",
    "parse_webhook",
    "quota_usage",
    "sync_interval",
]

DEFAULT_BASE_URL = "https://www.courtlistener.com/api/rest/v4/"
DEFAULT_SITE = "https://www.courtlistener.com"
SEARCH_ORDER = "dateFiled desc"

#: how often each discovery query runs, and how long it may wait behind dockets
DISCOVERY_EVERY = timedelta(hours=6)
DISCOVERY_MAX_WAIT = timedelta(hours=12)
#: search again a little before the last run: CourtListener indexes filings with some delay
DISCOVERY_OVERLAP = timedelta(days=2)
#: a lookup that found nothing is retried after this long
LOOKUP_RETRY = timedelta(days=3)
#: entries modified a little before the last seen docket stamp are fetched again (clock skew)
ENTRIES_OVERLAP = timedelta(hours=1)
#: bounds of the interval between two checks of one docket
MIN_SYNC_INTERVAL = timedelta(minutes=20)
MAX_SYNC_INTERVAL = timedelta(days=7)
#: share of the daily quota planned for docket checks (the rest: entries, lookups, slack)
SYNC_SHARE = 0.85
#: at most this many pages are followed in one fetch (the rest resumes next round)
MAX_PAGES_PER_FETCH = 10
#: dockets not yet due offered at the end of a round, to use budget nothing due wanted
SPARE_PER_ROUND = 3
#: wait this long after a 429 without a usable Retry-After
DEFAULT_RETRY_AFTER = timedelta(seconds=60)

_DAY = timedelta(days=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_IA_PATH = re.compile(r"gov\.uscourts\.([a-z0-9]+)\.(\d+)")


# ---------------------------------------------------------------------------- options


class QuotaOptions(BaseModel):
    """`quota = {per_minute = 5, per_hour = 50, per_day = 125}` (a free token's limits)."""

    model_config = ConfigDict(extra="forbid")

    per_minute: int = Field(default=5, ge=1)
    per_hour: int = Field(default=50, ge=1)
    per_day: int = Field(default=125, ge=1)


class Query(BaseModel):
    """One `[[source.query]]`: a CourtListener search that discovers cases."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    #: "d": dockets; "r": RECAP documents (results carry matching entries)
    type: Literal["d", "r"] = "d"
    q: str = ""
    cause: str = ""
    nature_of_suit: list[str] = Field(default_factory=list)
    court: list[str] = Field(default_factory=list)

    @field_validator("court")
    @classmethod
    def _court_ids(cls, courts: list[str]) -> list[str]:
        ids = [c.strip().lower() for c in courts if c.strip()]
        bad = [c for c in ids if not re.fullmatch(r"[a-z0-9]+", c)]
        if bad:
            raise ValueError(f"not court ids (CourtListener style, e.g. dcd): {bad}")
        return ids


def _default_queries() -> list[Query]:
    return [Query(name="mandamus", type="d", cause="28:1361")]


class CourtListenerOptions(SourceOptions):
    """Config keys of a `courtlistener` source (the core handles id, interval, ... itself).

    `token_env` / `token_file` name the secret; the core resolves it and passes the value as the
    constructor's `token`. Absent both: anonymous, with a lower default daily quota.
    """

    base_url: str = DEFAULT_BASE_URL
    token_env: str = ""
    token_file: str = ""
    quota: QuotaOptions | None = None
    initial_lookback: str = "30d"
    query: list[Query] = Field(default_factory=_default_queries)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return url if url.endswith("/") else url + "/"

    @field_validator("initial_lookback")
    @classmethod
    def _lookback(cls, text: str) -> str:
        parse_duration(text)
        return text

    @field_validator("query")
    @classmethod
    def _unique_names(cls, queries: list[Query]) -> list[Query]:
        names = [q.name for q in queries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate query names: {dupes}")
        return queries

    @property
    def anonymous(self) -> bool:
        """No token configured."""
        return not (self.token_env or self.token_file)

    def limits(self) -> QuotaLimits:
        """The quota in force: as configured, else a free token's, else anonymous (100/day)."""
        if self.quota is not None:
            q = self.quota
        else:
            q = QuotaOptions(per_day=100) if self.anonymous else QuotaOptions()
        return QuotaLimits(q.per_minute, q.per_hour, q.per_day)


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `15m`, `45s` -> timedelta (ValueError otherwise)."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"expected a duration like 15m, 12h or 30d, got {text!r}")
    return timedelta(**{_UNITS[m[2]]: int(m[1])})


# ---------------------------------------------------------------------------- quota rules


@dataclass(frozen=True)
class QuotaLimits:
    """Requests allowed per rolling minute, hour and day."""

    per_minute: int
    per_hour: int
    per_day: int

    def windows(self) -> tuple[tuple[str, timedelta, int], ...]:
        """(name, length, limit) of each rolling window."""
        return (
            ("minute", timedelta(minutes=1), self.per_minute),
            ("hour", timedelta(hours=1), self.per_hour),
            ("day", _DAY, self.per_day),
        )


@dataclass(frozen=True)
class WindowUsage:
    """Requests used and left in one rolling window."""

    used: int
    left: int
    limit: int


def quota_usage(
    times: Iterable[datetime], now: datetime, limits: QuotaLimits
) -> dict[str, WindowUsage]:
    """Usage of each rolling window ("minute", "hour", "day") at `now`."""
    stamps = list(times)
    usage: dict[str, WindowUsage] = {}
    for name, length, limit in limits.windows():
        used = sum(1 for t in stamps if now - length < t <= now)
        usage[name] = WindowUsage(used=used, left=max(0, limit - used), limit=limit)
    return usage


def _pace_allows(times: Sequence[datetime], now: datetime, limits: QuotaLimits) -> bool:
    """Spread the daily quota over the day (GCRA): one request per day/per_day on average,
    with bursts of up to `per_minute`. Without it a greedy client spends the whole day's quota
    in its first hours and then sees nothing for the rest of the day."""
    interval = _DAY / limits.per_day
    tolerance = interval * (limits.per_minute - 1)
    theoretical: datetime | None = None
    for t in sorted(times):
        theoretical = max(theoretical or t, t) + interval
    return theoretical is None or theoretical - now <= tolerance


def admit_request(
    times: Sequence[datetime],
    now: datetime,
    limits: QuotaLimits,
    *,
    not_before: datetime | None = None,
    pace: bool = True,
) -> bool:
    """May one more request be made at `now`, given the request `times` of the last day?

    No when a Retry-After (`not_before`) has not passed, when any rolling window is full, or
    (with `pace`) when the request would spend the daily quota faster than evenly.
    """
    if not_before is not None and now < not_before:
        return False
    if any(u.left <= 0 for u in quota_usage(times, now, limits).values()):
        return False
    return not pace or _pace_allows(times, now, limits)


class RequestGate(Protocol):
    """Asked before every HTTP request; backed by the shared ledger in the core."""

    def acquire(self, path: str) -> bool:
        """Record one request to `path` and return True, or return False (quota spent)."""
        ...

    def defer(self, until: datetime) -> None:
        """The server said (429 Retry-After) not to ask again before `until`."""
        ...


class MemoryGate:
    """A `RequestGate` kept in memory (one process), with the same rules as the ledger's."""

    def __init__(self, limits: QuotaLimits, clock: Clock, *, pace: bool = True) -> None:
        self.limits = limits
        self.clock = clock
        self.pace = pace
        self.times: list[datetime] = []
        self.not_before: datetime | None = None
        self._lock = threading.Lock()

    def acquire(self, path: str) -> bool:
        """Admit and record one request, or refuse."""
        with self._lock:
            now = self.clock()
            self.times = [t for t in self.times if t > now - _DAY]
            if not admit_request(
                self.times, now, self.limits, not_before=self.not_before, pace=self.pace
            ):
                return False
            self.times.append(now)
            return True

    def defer(self, until: datetime) -> None:
        """Refuse every request before `until`."""
        with self._lock:
            self.not_before = max(until, self.not_before or until)


class QuotaDeferred(DeferredError):
    """The request budget (or a Retry-After) defers this target to a later round.

    Not a failure of the source: the core should stop the round and not count it.
    """


# ---------------------------------------------------------------------------- scheduling


def deadline_weight(next_due: date | None, today: date) -> float:
    """How much of the budget a docket deserves, by the nearness of its next deadline."""
    if next_due is None:
        return 1.0
    days = (next_due - today).days
    if days < 0:
        return 8.0
    if days <= 3:
        return 24.0
    if days <= 7:
        return 8.0
    if days <= 14:
        return 4.0
    if days <= 30:
        return 2.0
    return 1.0


def sync_interval(weight: float, total_weight: float, checks_per_day: float) -> timedelta:
    """The interval between checks of one docket: its weighted share of the daily checks."""
    if weight <= 0 or total_weight <= 0 or checks_per_day <= 0:
        return MAX_SYNC_INTERVAL
    share = checks_per_day * weight / total_weight
    return min(MAX_SYNC_INTERVAL, max(MIN_SYNC_INTERVAL, _DAY / share))


def _checks_per_day(limits: QuotaLimits, queries: int) -> float:
    discovery = queries * (_DAY / DISCOVERY_EVERY)
    return max(1.0, limits.per_day * SYNC_SHARE - discovery)


def _is_fresh(case: TrackedCase) -> bool:
    return case.last_activity is not None and (
        case.last_synced is None or case.last_activity > case.last_synced
    )


def _priority(case: TrackedCase) -> tuple[int, float]:
    """Sort key: deadline (nearest first), fresh activity (newest first), rest (oldest sync)."""
    if case.next_due is not None:
        return (1, float(case.next_due.toordinal()))
    if _is_fresh(case) and case.last_activity is not None:
        return (2, -case.last_activity.timestamp())
    synced = case.last_synced.timestamp() if case.last_synced else float("-inf")
    return (3, synced)


def _is_due(case: TrackedCase, now: datetime, interval: timedelta) -> bool:
    return case.last_synced is None or _is_fresh(case) or now - case.last_synced >= interval


# ---------------------------------------------------------------------------- the source


@dataclass(frozen=True)
class DocketSync:
    """What a docket sync tells the core about its bookkeeping.

    `date_modified` is the docket's stamp to remember as `last_modified_seen`; it is "" when
    the sync is not complete (entries left for the next round) so nothing is skipped.
    """

    cl_docket_id: int
    date_modified: str
    complete: bool
    entries_fetched: bool


@dataclass(frozen=True)
class _Continuation:
    """Pagination left unfinished: resume at `url` with this context."""

    url: str
    context: Mapping[str, Any]


class CourtListener(Source):
    """Discovers cases through search queries and syncs tracked dockets, within the quota."""

    kind: ClassVar[str] = "courtlistener"
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
        token: str | None = None,
        gate: RequestGate | None = None,
    ) -> None:
        super().__init__(source_id, options, client, clock)
        self._token = SecretStr(token) if token else None
        self.gate: RequestGate = gate or MemoryGate(self.options.limits(), clock)
        self._continuations: dict[str, _Continuation] = {}
        self._discovered_at: dict[str, datetime] = {}
        self._lookup_misses: dict[str, datetime] = {}
        #: the memory as the core keeps it (text by key), to hand over only what changed
        self._kept: dict[str, str] = {}
        self._deferred = False

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
            continuation, missed = _read_memory(text)
            url = self._same_host(continuation.url) if continuation is not None else None
            if continuation is not None and url:  # the token goes to our API only
                self._continuations[key] = replace(continuation, url=url)
            if missed is not None:
                self._lookup_misses[key] = missed

    def _drop_unwanted(self, plan: Plan) -> None:
        """Forget what no longer leads anywhere: unfinished pages of a docket no longer tracked
        (not worth a request), of a query no longer configured, of a lookup whose case is gone
        or identified; lookup misses old enough to try again."""
        live = {f"search:{q.name}" for q in self.options.query}
        live.update(f"docket:{c.cl_docket_id}" if c.cl_docket_id is not None
                    else f"lookup:{c.court}:{c.docket_number}" for c in plan.tracked)
        for key in [k for k in self._continuations if k not in live]:
            del self._continuations[key]
        for key, missed in list(self._lookup_misses.items()):
            if key not in live or plan.now - missed >= LOOKUP_RETRY:
                del self._lookup_misses[key]

    def _recall_discovery(self, plan: Plan) -> None:
        """A new process (`poll --once`) learns when each query last ran from the core, so a
        one-shot poll does not spend a request on discovery every time it starts."""
        for query in self.options.query:
            fetched = plan.fetched_at.get(f"search:{query.name}")
            if fetched is not None and query.name not in self._discovered_at:
                aware = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)
                self._discovered_at[query.name] = aware

    def _split_cases(self, plan: Plan) -> tuple[list[TrackedCase], list[TrackedCase]]:
        """(due in priority order, not yet due with the nearest to due first).

        The not-due tail is checked early only with budget no due target wanted (the gate's
        pacing decides), so the daily quota is used rather than left idle.
        """
        limits = self.options.limits()
        today = plan.now.date()
        weights = {id(c): deadline_weight(c.next_due, today) for c in plan.tracked}
        total = sum(weights.values())
        per_day = _checks_per_day(limits, len(self.options.query))
        due: list[TrackedCase] = []
        spare: list[tuple[float, TrackedCase]] = []
        for case in plan.tracked:
            interval = sync_interval(weights[id(case)], total, per_day)
            if _is_due(case, plan.now, interval):
                due.append(case)
            elif case.last_synced is not None:
                spare.append(((plan.now - case.last_synced) / interval, case))
        due.sort(key=_priority)
        spare.sort(key=lambda pair: -pair[0])
        return due, [case for _, case in spare]

    def _case_targets(
        self, cases: Iterable[TrackedCase], now: datetime, busy: set[str]
    ) -> list[Target]:
        targets = [self._case_target(case, now) for case in cases]
        return [t for t in targets if t is not None and t.key not in busy]

    def _case_target(self, case: TrackedCase, now: datetime) -> Target | None:
        context: dict[str, Any] = {
            "court": case.court,
            "docket_number": case.docket_number,
            "next_due": case.next_due.isoformat() if case.next_due else "",
            "last_synced": case.last_synced.isoformat() if case.last_synced else "",
            "last_modified_seen": case.last_modified_seen,
        }
        if case.cl_docket_id is not None:
            context["cl_docket_id"] = case.cl_docket_id
            url = urljoin(self.options.base_url, f"dockets/{case.cl_docket_id}/")
            return Target(key=f"docket:{case.cl_docket_id}", url=url, context=context)
        key = f"lookup:{case.court}:{case.docket_number}"
        missed = self._lookup_misses.get(key)
        if missed is not None and now - missed < LOOKUP_RETRY:
            return None
        return self._lookup_target(key, case, context)

    def _lookup_target(self, key: str, case: TrackedCase, context: dict[str, Any]) -> Target:
        if ":" in case.docket_number:  # office prefix: CourtListener's exact form
            url = urljoin(self.options.base_url, "dockets/")
            params = {"court": case.court, "docket_number": case.docket_number}
        else:
            url = urljoin(self.options.base_url, "search/")
            params = {"type": "d", "court": case.court, "docket_number": case.docket_number}
        return Target(key=key, url=url, params=params, context=context)

    def _due_discovery(self, plan: Plan, busy: set[str]) -> list[Target]:
        targets = []
        for query in self.options.query:
            key = f"search:{query.name}"
            last = self._discovered_at.get(query.name)
            if key in busy or (last is not None and plan.now - last < DISCOVERY_EVERY):
                continue
            targets.append(self._search_target(query, key, plan))
        return targets

    def _search_target(self, query: Query, key: str, plan: Plan) -> Target:
        since = self._discovered_at.get(query.name) or plan.last_run
        if since is None:
            since = plan.now - parse_duration(self.options.initial_lookback)
        else:
            since -= DISCOVERY_OVERLAP
        params = {"type": query.type, "order_by": SEARCH_ORDER,
                  "filed_after": since.date().isoformat()}
        optional = {
            "q": query.q,
            "cause": query.cause,
            "nature_of_suit": " OR ".join(query.nature_of_suit),
            "court": " ".join(query.court),
        }
        params.update({k: v for k, v in optional.items() if v})
        url = urljoin(self.options.base_url, "search/")
        waiting = (plan.now - self._discovered_at[query.name]).total_seconds() if (
            query.name in self._discovered_at) else None
        context = {"query": query.name, "waiting_s": waiting}
        return Target(key=key, url=url, params=params, context=context)

    @staticmethod
    def _discovery_overdue(target: Target, now: datetime) -> bool:
        """Not run since start, or waiting too long: goes first (one request per query)."""
        waiting = target.context.get("waiting_s")
        return waiting is None or waiting >= DISCOVERY_MAX_WAIT.total_seconds()

    @staticmethod
    def _resume(key: str, continuation: _Continuation) -> Target:
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
        memory = {key: _memory_text(self._continuations.get(key), self._lookup_misses.get(key))
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
        if not _needs_entries(docket, target.context):
            self._continuations.pop(target.key, None)
            return {"docket": docket, "entries": None, "changed": False}
        target = Target(key=target.key, url=target.url, params=target.params,
                        context={**target.context, "date_modified": _text(docket,
                                                                          "date_modified")})
        url = urljoin(self.options.base_url, "docket-entries/")
        params = {"docket": str(target.context["cl_docket_id"]), "order_by": "date_modified"}
        since = _entries_since(str(target.context.get("last_modified_seen") or ""))
        if since:
            params["date_modified__gte"] = since
        try:
            entries = self._fetch_pages(target, url, params)
        except QuotaDeferred:
            # the check is spent: resume with the entries next round rather than lose it
            self._continuations[target.key] = _Continuation(
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
            self._continuations[target.key] = _Continuation(
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
        found = parse_listing(payload, site=_site(target.url))
        if _matching(found, target.context):
            self._lookup_misses.pop(target.key, None)
        else:
            self._lookup_misses[target.key] = now

    def _same_host(self, link: Any) -> str | None:
        """A `next` link, only when it points at our API (the token goes nowhere else)."""
        if not isinstance(link, str) or not link:
            return None
        base = urlsplit(self.options.base_url)
        there = urlsplit(urljoin(self.options.base_url, link))
        if (there.scheme, there.netloc) != (base.scheme, base.netloc):
            return None
        return there.geturl()

    def _get_json(self, target: Target, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One gated GET returning a JSON object."""
        path = _api_path(url, self.options.base_url)
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
        return _json_object(fetched.content, source=self.source_id, url=url)

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
        site = _site(target.url)
        kind = target.key.split(":", 1)[0]
        if kind == "webhook":
            return list(parse_webhook(fetched.content, site=site or DEFAULT_SITE,
                                      source_id=self.source_id))
        data = _json_object(fetched.content, source=self.source_id, url=target.url)
        if kind == "docket":
            sync = docket_sync(fetched)
            return [
                replace(obs, cl_synced=True, cl_date_modified=sync.date_modified)
                if sync is not None and obs.cl_docket_id == sync.cl_docket_id else obs
                for obs in _parse_sync(data, target.context, site)
            ]
        if kind == "lookup":
            return list(_matching(parse_listing(data, site=site), target.context))
        return list(parse_listing(data, site=site))


# ---------------------------------------------------------------------------- memory (pure)


def _memory_text(continuation: _Continuation | None, missed: datetime | None) -> str:
    """One target's memory as the core keeps it: JSON text, "" when there is nothing."""
    memory: dict[str, Any] = {}
    if continuation is not None:
        memory["resume"] = {"url": continuation.url, "context": dict(continuation.context)}
    if missed is not None:
        memory["missed"] = missed.isoformat()
    if not memory:
        return ""
    return json.dumps(memory, sort_keys=True, separators=(",", ":"), default=str)


def _read_memory(text: str) -> tuple[_Continuation | None, datetime | None]:
    """`_memory_text` read back; anything unreadable is nothing (it is then forgotten)."""
    try:
        memory = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(memory, dict):
        return None, None
    resume = memory.get("resume")
    continuation = None
    if isinstance(resume, dict) and isinstance(resume.get("url"), str) and isinstance(
            resume.get("context"), dict):
        continuation = _Continuation(url=resume["url"], context=resume["context"])
    return continuation, _datetime(memory.get("missed"))


# ---------------------------------------------------------------------------- sync helpers


def _needs_entries(docket: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Fetch entries when the docket changed since last seen and a filing may be new."""
    seen = str(context.get("last_modified_seen") or "")
    modified = _text(docket, "date_modified")
    if not seen:
        return True
    if modified and modified == seen:
        return False
    last_filing = _date(docket.get("date_last_filing"))
    last_synced = _datetime(context.get("last_synced"))
    if last_filing is not None and last_synced is not None:
        # a change with no filing since our last sync (re-index, party edits): skip the entries
        return last_filing >= last_synced.date() - timedelta(days=1)
    return True


def _entries_since(last_modified_seen: str) -> str:
    stamp = _datetime(last_modified_seen)
    return (stamp - ENTRIES_OVERLAP).isoformat() if stamp else ""


def docket_sync(fetched: Fetched) -> DocketSync | None:
    """The bookkeeping of a docket sync (None for other targets). Pure."""
    target = fetched.target
    if not target.key.startswith("docket:") or fetched.not_modified:
        return None
    try:
        data = json.loads(fetched.content)
    except ValueError:
        return None
    docket = data.get("docket") or {}
    entries = data.get("entries")
    complete = not (entries or {}).get("next")
    modified = _text(docket, "date_modified") or str(target.context.get("date_modified") or "")
    return DocketSync(
        cl_docket_id=int(target.key.split(":", 1)[1]),
        date_modified=modified if complete else "",
        complete=complete,
        entries_fetched=entries is not None,
    )


def _parse_sync(
    data: Mapping[str, Any], context: Mapping[str, Any], site: str
) -> list[CaseObservation]:
    """A docket sync envelope (or a bare docket object) -> the case, entries split by age."""
    docket = data.get("docket") if "docket" in data or "entries" in data else data
    base = parse_docket(docket, site=site) if isinstance(docket, Mapping) else None
    if base is None:
        base = _case_from_context(context)
    entries_page = data.get("entries") or {}
    entries = parse_docket_entries(entries_page.get("results") or [], site=site)
    if not entries:
        return [base]
    cutoff = _backfill_cutoff(context)
    old = tuple(e for e in entries if cutoff is None or _older(e, cutoff))
    new = tuple(e for e in entries if e not in old)
    observations = []
    if old:
        observations.append(_with_entries(base, old, backfill=True))
    if new:
        observations.append(_with_entries(base, new, backfill=False))
    return observations


def _backfill_cutoff(context: Mapping[str, Any]) -> date | None:
    """Entries filed before this are history (backfill); None: all of them are."""
    last_synced = _datetime(context.get("last_synced"))
    if last_synced is None or not context.get("last_modified_seen"):
        return None
    return last_synced.date() - timedelta(days=1)


def _older(entry: EntryObservation, cutoff: date) -> bool:
    return entry.date_filed is not None and entry.date_filed < cutoff


def _with_entries(
    case: CaseObservation, entries: tuple[EntryObservation, ...], *, backfill: bool
) -> CaseObservation:
    from dataclasses import replace

    return replace(case, entries=entries, backfill=backfill)


def _case_from_context(context: Mapping[str, Any]) -> CaseObservation:
    number = str(context.get("docket_number") or "")
    raw_id = context.get("cl_docket_id")
    return CaseObservation(
        court=str(context.get("court") or ""),
        docket_number=normalize_docket_number(number) if number else "",
        docket_number_raw=number,
        cl_docket_id=int(raw_id) if raw_id is not None else None,
    )


def _matching(
    cases: Iterable[CaseObservation], context: Mapping[str, Any]
) -> list[CaseObservation]:
    """Lookup results that are the case looked up (same court and docket key)."""
    court = str(context.get("court") or "")
    key = docket_key(str(context.get("docket_number") or ""))
    return [c for c in cases if c.court == court and docket_key(c.docket_number) == key]


# ---------------------------------------------------------------------------- parsing (pure)


def parse_listing(data: Mapping[str, Any], *, site: str = DEFAULT_SITE) -> list[CaseObservation]:
    """A `{results: [...]}` page of search results or of docket objects -> cases."""
    results = data.get("results")
    if not isinstance(results, list):
        raise ParseError("no `results` list in the response")
    cases: list[CaseObservation] = []
    for item in results:
        if not isinstance(item, Mapping):
            continue
        case = parse_docket(item, site=site) if "docket_number" in item else None
        if case is None:
            case = _search_result(item, site)
        if case is not None:
            cases.append(case)
    return cases


def parse_search_results(
    data: Mapping[str, Any], *, site: str = DEFAULT_SITE
) -> list[CaseObservation]:
    """A v4 search page (type d, r or o) -> one case per result with a court and a number."""
    results = data.get("results")
    if not isinstance(results, list):
        raise ParseError("no `results` list in the search response")
    cases = [_search_result(r, site) for r in results if isinstance(r, Mapping)]
    return [c for c in cases if c is not None]


@dataclass(frozen=True)
class _Shape:
    """Where a case's fields sit in one kind of CourtListener object."""

    number: str
    case_name: str
    docket_id: str
    nature_of_suit: str
    date_filed: str
    date_terminated: str


#: a search result (camelCase) and a docket object (snake_case)
_SEARCH = _Shape("docketNumber", "caseName", "docket_id", "suitNature", "dateFiled",
                 "dateTerminated")
_DOCKET = _Shape("docket_number", "case_name", "id", "nature_of_suit", "date_filed",
                 "date_terminated")


def _case(
    obj: Mapping[str, Any], shape: _Shape, court: str, site: str,
    entries: tuple[EntryObservation, ...] = (),
) -> CaseObservation | None:
    raw = _text(obj, shape.number)
    if not court or not raw:
        return None
    return CaseObservation(
        court=court,
        docket_number=normalize_docket_number(raw),
        docket_number_raw=raw,
        case_name=_text(obj, shape.case_name) or _text(obj, "case_name_short"),
        pacer_case_id=_text(obj, "pacer_case_id"),
        cl_docket_id=_int(obj.get(shape.docket_id)),
        cause=_text(obj, "cause"),
        nature_of_suit=_text(obj, shape.nature_of_suit),
        date_filed=_date(obj.get(shape.date_filed)),
        date_terminated=_date(obj.get(shape.date_terminated)),
        entries=entries,
        url=_absolute(site, obj.get("absolute_url")),
    )


def _search_result(result: Mapping[str, Any], site: str) -> CaseObservation | None:
    docs = result.get("recap_documents")
    entries = _entries_from_documents(docs, site) if isinstance(docs, list) else ()
    return _case(result, _SEARCH, _text(result, "court_id").lower(), site, entries)


def _entries_from_documents(docs: Sequence[Any], site: str) -> tuple[EntryObservation, ...]:
    """RECAP search documents -> entries (one per entry number; the main document wins)."""
    by_entry: dict[Any, Mapping[str, Any]] = {}
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        key = doc.get("entry_number") or doc.get("docket_entry_id") or doc.get("id")
        main = doc.get("attachment_number") in (None, 0, "")
        if key not in by_entry or main:
            by_entry[key] = doc
    entries = []
    for doc in by_entry.values():
        main = doc.get("attachment_number") in (None, 0, "")
        entries.append(EntryObservation(
            entry_number=_int(doc.get("entry_number")),
            date_filed=_date(doc.get("entry_date_filed")),
            short_description=_text(doc, "short_description"),
            description=_clean(_text(doc, "description")),
            document_url=_absolute(site, doc.get("absolute_url")) if main else "",
            pacer_doc_id=_text(doc, "pacer_doc_id") if main else "",
        ))
    return tuple(entries)


def parse_docket(docket: Mapping[str, Any], *, site: str = DEFAULT_SITE) -> CaseObservation | None:
    """A v4 docket object -> its case (no entries); None when it names no court or number."""
    court = _text(docket, "court_id").lower() or _court_from_url(docket.get("court"))
    return _case(docket, _DOCKET, court, site)


def parse_docket_entries(
    results: Sequence[Any], *, site: str = DEFAULT_SITE
) -> tuple[EntryObservation, ...]:
    """v4 docket-entry objects (REST or docket-alert webhook) -> entries."""
    entries = []
    for item in results:
        if isinstance(item, Mapping):
            entries.append(_docket_entry(item, site))
    return tuple(entries)


def _docket_entry(item: Mapping[str, Any], site: str) -> EntryObservation:
    docs = [d for d in item.get("recap_documents") or [] if isinstance(d, Mapping)]
    main = next((d for d in docs if d.get("attachment_number") in (None, 0, "")), None)
    main = main or {}
    return EntryObservation(
        entry_number=_int(item.get("entry_number")),
        date_filed=_date(item.get("date_filed")),
        short_description=_text(main, "description") or _text(item, "short_description"),
        description=_clean(_text(item, "description")),
        document_url=_absolute(site, main.get("absolute_url")),
        pacer_doc_id=_text(main, "pacer_doc_id"),
        pacer_seq_no=_int(item.get("pacer_sequence_number")),
    )


def parse_webhook(
    body: bytes, *, site: str = DEFAULT_SITE, source_id: str = ""
) -> list[CaseObservation]:
    """A pushed CourtListener webhook body -> cases. Pure; raises ParseError.

    Event type 1 (docket alert): entries grouped by docket id; the court comes from a document
    path when one shows it, the docket number stays empty (resolve by `cl_docket_id`).
    Event type 2 (search alert): one case per result, as a search page. Other types: nothing.
    """
    data = _json_object(body, source=source_id, url="webhook")
    webhook = data.get("webhook")
    payload = data.get("payload")
    if not isinstance(webhook, Mapping) or not isinstance(payload, Mapping):
        raise ParseError("not a CourtListener webhook (no `webhook` / `payload`)",
                         source=source_id, url="webhook")
    event_type = _int(webhook.get("event_type"))
    if event_type == 1:
        return _docket_alert(payload, site, source_id)
    if event_type == 2:
        try:
            return parse_search_results(payload, site=site)
        except ParseError as exc:
            raise ParseError(exc.detail, source=source_id, url="webhook") from exc
    return []


def _docket_alert(
    payload: Mapping[str, Any], site: str, source_id: str
) -> list[CaseObservation]:
    results = payload.get("results")
    if not isinstance(results, list):
        raise ParseError("docket alert without a `results` list", source=source_id,
                         url="webhook")
    grouped: dict[int, list[Mapping[str, Any]]] = {}
    for item in results:
        docket_id = _int(_docket_ref(item.get("docket"))) if isinstance(item, Mapping) else None
        if docket_id is not None:
            grouped.setdefault(docket_id, []).append(item)
    cases = []
    for docket_id, items in grouped.items():
        court, pacer_case_id = _court_from_documents(items)
        cases.append(CaseObservation(
            court=court, docket_number="", docket_number_raw="", pacer_case_id=pacer_case_id,
            cl_docket_id=docket_id, entries=parse_docket_entries(items, site=site)))
    return cases


def _court_from_documents(items: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """(court, pacer case id) from an Internet Archive style path `gov.uscourts.dcd.178502`."""
    for item in items:
        for doc in item.get("recap_documents") or []:
            for key in ("filepath_local", "filepath_ia", "thumbnail"):
                m = _IA_PATH.search(str(doc.get(key) or ""))
                if m:
                    return m[1], m[2]
    return "", ""


# ---------------------------------------------------------------------------- small readers


def _json_object(content: bytes, *, source: str, url: str) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except ValueError as exc:
        head = content[:200].lstrip().lower()
        what = "an HTML page" if head.startswith((b"<!doctype", b"<html")) else "not JSON"
        raise ParseError(f"{what}: {exc}", source=source, url=url) from None
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object", source=source, url=url)
    return data


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _docket_ref(value: Any) -> Any:
    """A docket id from an int, a digit string or a `.../dockets/<id>/` URL."""
    if isinstance(value, str) and "/" in value:
        m = re.search(r"/dockets/(\d+)/?$", value)
        return m[1] if m else None
    return value


def _court_from_url(value: Any) -> str:
    m = re.search(r"/courts/([a-z0-9]+)/?$", str(value or ""))
    return m[1] if m else ""


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _absolute(site: str, path: Any) -> str:
    if not isinstance(path, str) or not path:
        return ""
    return urljoin(site + "/", path) if site else path


def _api_path(url: str, base_url: str) -> str:
    """The ledger's name of a request: its path under the API root (`dockets/12/`)."""
    path = urlsplit(url).path
    base_path = urlsplit(base_url).path
    return path[len(base_path):] if path.startswith(base_path) else path

