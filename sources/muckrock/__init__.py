"""MuckRock: public-records requests followed through MuckRock's API, each request a matter.

What is followed (each a target, keyed so its state survives across rounds):

- ``request:<id>``: one request, ``foia/<id>/``;
- ``user:<username>``: every request a user filed, ``foia/?user=<username>``;
- ``agency:<id>``: every request sent to an agency, ``foia/?agency=<id>``;
- ``multirequest:<name>``: one user's requests whose title starts with the multirequest's title
  (MuckRock titles each request of a multirequest "<title> (<agency>)");
- ``search:<name>``: any listing of ``foia/`` by the API's filters (``status``, ``tags``,
  ``jurisdiction``, ``title``...).

Listings are paginated (``next`` links, followed on the API's own host only, where the token
goes). A request names its agency and jurisdiction by id: each is looked up once
(``agency/<id>/``, ``jurisdiction/<id>/`` and a local jurisdiction's state) and remembered
across processes through `Fetched.keep` (keys ``lookup:agency:<id>``,
``lookup:jurisdiction:<id>``).

Budget (`sources.request_budget`): every HTTP request is first asked of the request gate (the
shared ledger the core keeps, per `request_budget`); a refusal, or an HTTP 429 (its Retry-After
stored in the gate), defers the rest: a listing cut short keeps what it has, and requests whose
agency could not be looked up yet wait for the next round. Files are linked, never downloaded.

A target's first complete listing is its baseline (`RequestObservation.baseline`): requests
already there are recorded without alerting anyone; a request that appears later is news.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from monitor.errors import FetchError
from sources.api_requests import gated_get
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
)
from sources.muckrock._json import json_payload, parse_requests
from sources.muckrock._options import MuckRockOptions
from sources.request_budget import MemoryGate, QuotaDeferred

__all__ = ["MuckRock"]

#: at most this many pages of one listing in one fetch
MAX_PAGES_PER_FETCH = 20
_COMPLETE = json.dumps({"complete": True})


class MuckRock(Source):
    """Follows MuckRock requests (by id, user, agency, multirequest, search) as matters."""

    kind: ClassVar[str] = "muckrock"
    Options: ClassVar[type[MuckRockOptions]] = MuckRockOptions
    options: MuckRockOptions
    reads_tracked: ClassVar[bool] = False

    def __init__(self, source_id: str, options: SourceOptions, client: httpx.Client,
                 clock: Clock, *, runtime: Runtime | None = None) -> None:
        super().__init__(source_id, options, client, clock, runtime=runtime)
        token = self.runtime.secrets.get("token")
        self._token = SecretStr(token) if token else None
        self.gate: RequestGate = self.runtime.gate or MemoryGate(self.options.limits(), clock)
        self.runtime = Runtime(gate=self.runtime.gate)  # the token lives only in `_token`
        #: "agency:<id>" / "jurisdiction:<id>" -> the API's object
        self._lookups: dict[str, Any] = {}
        self._complete: set[str] = set()
        self._deferred = False

    @classmethod
    def request_budget(cls, options: SourceOptions) -> QuotaLimits | None:
        """The configured (or default) quota."""
        assert isinstance(options, MuckRockOptions)
        return options.limits()

    def __repr__(self) -> str:
        auth = "token" if self._token else "anonymous"
        return f"MuckRock(id={self.source_id!r}, {auth}, base_url={self.options.base_url!r})"

    # ------------------------------------------------------------------ targets

    def targets(self, plan: Plan) -> list[Target]:
        """Every followed request, user, agency, multirequest and search."""
        self._deferred = False
        self._recall(plan)
        o, base = self.options, self.options.base_url
        listing = {"page_size": str(o.page_size)}
        targets = [Target(key=f"request:{i}", url=f"{base}foia/{i}/") for i in o.requests]
        targets += [Target(key=f"user:{u}", url=f"{base}foia/", params={**listing, "user": u})
                    for u in o.users]
        targets += [Target(key=f"agency:{a}", url=f"{base}foia/",
                           params={**listing, "agency": str(a)}) for a in o.agencies]
        targets += [Target(key=f"multirequest:{m.name}", url=f"{base}foia/",
                           params={**listing, "user": m.user}, context={"title": m.title})
                    for m in o.multirequest]
        targets += [Target(key=f"search:{s.name}", url=f"{base}foia/",
                           params={**listing, **s.params}) for s in o.search]
        return [Target(key=t.key, url=t.url, params=t.params,
                       context={**t.context, "baseline": t.key not in self._complete})
                for t in targets]

    def _recall(self, plan: Plan) -> None:
        """What the core kept: lookups done and listings completed (a new process of
        `poll --once` repeats neither)."""
        if plan.cursors is None:
            return
        for key, text in plan.cursors.items():
            if key.startswith("lookup:"):
                try:
                    self._lookups[key.removeprefix("lookup:")] = json.loads(text)
                except ValueError:
                    continue
            elif text == _COMPLETE:
                self._complete.add(key)

    # ------------------------------------------------------------------ fetch

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """The listing (or the one request) and the lookups its requests need."""
        if target.key.split(":", 1)[0] not in (
                "request", "user", "agency", "multirequest", "search"):
            raise FetchError(f"unknown target {target.key!r}", source=self.source_id,
                             url=target.url)
        results, complete = self._listing(target)
        prefix = str(target.context.get("title") or "").casefold().strip()
        if prefix:  # a multirequest: only its requests are worth a lookup
            results = [r for r in results if isinstance(r, Mapping) and str(
                r.get("title") or "").casefold().strip().startswith(prefix)]
        before = set(self._lookups)
        complete = self._look_up(target, results) and complete
        keep = {f"lookup:{k}": json.dumps(self._lookups[k], sort_keys=True)
                for k in sorted(set(self._lookups) - before)}
        if complete:
            keep[target.key] = _COMPLETE
            self._complete.add(target.key)
        payload = {"results": results, "complete": complete,
                   "agencies": self._table("agency"), "jurisdictions": self._table("jurisdiction")}
        return Fetched(target=target, content=json.dumps(payload, sort_keys=True).encode(),
                       fetched_at=self.clock(), keep=keep)

    def _table(self, kind: str) -> dict[str, Any]:
        return {k.split(":", 1)[1]: v for k, v in self._lookups.items()
                if k.startswith(f"{kind}:")}

    def _listing(self, target: Target) -> tuple[list[Any], bool]:
        """The requests of a target: all pages the budget allows (complete or not)."""
        if target.key.startswith("request:"):
            return [self._get_json(target.url, {})], True
        results: list[Any] = []
        next_url: str | None = target.url
        pages = 0
        while next_url and pages < MAX_PAGES_PER_FETCH:
            try:
                page = self._get_json(next_url, dict(target.params) if pages == 0 else {})
            except QuotaDeferred:
                if pages == 0:
                    raise
                return results, False
            pages += 1
            found = page.get("results")
            results.extend(found if isinstance(found, list) else [])
            next_url = same_api_host(page.get("next"), self.options.base_url)
        return results, next_url is None

    def _look_up(self, target: Target, results: list[Any]) -> bool:
        """Fetch the agencies and jurisdictions the requests name and are not known yet
        (False when the budget cut it short)."""
        wanted = _ids(results, "agency")
        try:
            self._fetch_lookups("agency", wanted)
            jurisdictions = _ids(results, "jurisdiction") | {
                str(self._lookups[f"agency:{a}"].get("jurisdiction"))
                for a in wanted if f"agency:{a}" in self._lookups}
            self._fetch_lookups("jurisdiction", jurisdictions)
            parents = {str(self._lookups[f"jurisdiction:{j}"].get("parent"))
                       for j in jurisdictions if f"jurisdiction:{j}" in self._lookups}
            self._fetch_lookups("jurisdiction", parents)
        except QuotaDeferred:
            return False
        return True

    def _fetch_lookups(self, kind: str, ids: set[str]) -> None:
        for ident in sorted(i for i in ids if i.isdigit()):
            if f"{kind}:{ident}" not in self._lookups:
                self._lookups[f"{kind}:{ident}"] = _lookup_fields(
                    self._get_json(f"{self.options.base_url}{kind}/{ident}/", {}))

    def _get_json(self, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One gated GET returning a JSON object (nothing more is asked once one is deferred)."""
        if self._deferred:
            raise QuotaDeferred("request budget spent; deferred to a later round",
                                source=self.source_id, url=url)
        try:
            content = gated_get(self.client, self.gate, url, params, key="get",
                                base_url=self.options.base_url, source_id=self.source_id,
                                clock=self.clock, token=self._token)
        except QuotaDeferred:
            self._deferred = True
            raise
        return json_payload(content, source=self.source_id, url=url)

    # ------------------------------------------------------------------ parse

    def parse(self, fetched: Fetched) -> list[Observation]:
        """The requests of a fetched listing, as matter observations. Pure."""
        if fetched.not_modified:
            return []
        target = fetched.target
        payload = json_payload(fetched.content, source=self.source_id, url=target.url)
        links = {link.request: link.case for link in self.options.link}
        return list(parse_requests(
            payload, site=site_of(target.url) or "https://www.muckrock.com", links=links,
            tags=self.options.tags, title_prefix=str(target.context.get("title") or ""),
            baseline=bool(target.context.get("baseline"))))


def _ids(results: list[Any], name: str) -> set[str]:
    return {str(r.get(name)) for r in results
            if isinstance(r, Mapping) and isinstance(r.get(name), int)}


def _lookup_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of an agency or jurisdiction (its name and how it nests)."""
    return {k: obj.get(k) for k in ("id", "name", "slug", "abbrev", "level", "parent",
                                    "jurisdiction") if k in obj}


