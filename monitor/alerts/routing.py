"""Routing: each new event -> one outbox `Delivery` per matching (subscription, channel).

Runs as a store listener inside the store's transaction, so an event and its deliveries commit
together or not at all. Filters of a subscription combine with AND; the values inside one filter
with OR. A filter on something the event does not carry (`courts` on a 287(g) agreement event)
excludes the event: a subscription narrowed to D.D.C. hears nothing else.

- `events`: fnmatch globs on the kind (`deadline.*`).
- `watches`: the case was matched by that watch (`Case.matched_by`, or the event's own
  `watches` for `case.discovered`); for events without a case row (matters), the event's tags
  holding every tag of the watch.
- `tags`, `courts`, `cases` (`court:docket`, compared normalized), `states` (agreement events).
- `mute`: regexes over the entry text (or the summary): the event is stored, never sent.
- backfill, baseline and private events are skipped unless the subscription includes them.
- urgent kinds (`urgent`, `urgent_due_within`) are routed with mode "urgent": they go at once
  whatever the subscription's mode and quiet hours (`monitor.alerts.schedule`).
- quiet kinds (`agreement.missing`) are skipped unless `events` names them exactly (a glob such
  as `*` or `agreement.*` does not).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from sqlmodel import Session

from monitor.agreements import QUIET_EVENT_KINDS
from monitor.alerts.schedule import is_urgent
from monitor.config import SubscriptionConfig
from monitor.db import insert_rows
from monitor.events import EventListener
from monitor.models import Case, Delivery, Event, Matter
from sources.agreement_identity import county_key, state_code
from sources.identity import docket_key, parse_tracked_docket

__all__ = [
    "URGENT",
    "EventFacts",
    "channel_id",
    "event_facts",
    "make_router",
    "subscription_channels",
]


#: `Delivery.mode` of an urgent delivery: it goes at once whatever the subscription's mode and
#: quiet hours (the others carry the subscription's mode, "immediate" or "digest")
URGENT = "urgent"


def subscription_channels(sub: SubscriptionConfig) -> tuple[str, ...]:
    """The subscription's channel URLs, resolved (`channels`) or as written (`urls`), once each."""
    return tuple(dict.fromkeys(sub.channels or sub.urls))


def channel_id(url: str) -> str:
    """The stable id of a channel URL stored in the outbox (a hash: URLs hold secrets)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class EventFacts:
    """What the filters look at, gathered from the event and its case or matter row."""

    kind: str
    court: str
    docket_key: str
    tags: frozenset[str]
    watches: frozenset[str]
    state: str
    county: str
    agency: str
    text: str
    backfill: bool
    baseline: bool
    private: bool


def _watches_of(data: Mapping[str, Any], case: Case | None) -> set[str]:
    watches = {str(w) for w in data.get("watches") or []}
    matched = case.matched_by if case is not None else data.get("matched_by") or []
    watches |= {str(m["watch"]) for m in matched if isinstance(m, Mapping) and m.get("watch")}
    return watches


def event_facts(session: Session, event: Event) -> EventFacts:
    """Gather the routing facts of an event (reads its case or matter row when it has one)."""
    data: Mapping[str, Any] = event.data or {}
    case = session.get(Case, event.case_id) if event.case_id is not None else None
    matter = session.get(Matter, event.matter_id) if event.matter_id else None
    court = str(data.get("court") or (case.court if case else ""))
    docket = str(data.get("docket_number") or (case.docket_number if case else ""))
    tags = {str(t) for t in data.get("tags") or []}
    tags |= set(case.tags if case else []) | set(matter.tags if matter else [])
    text = str(data.get("description") or data.get("short_description") or event.summary)
    return EventFacts(
        kind=event.kind,
        court=court.lower(),
        docket_key=docket_key(docket) if docket else "",
        tags=frozenset(tags),
        watches=frozenset(_watches_of(data, case)),
        state=state_code(str(data.get("state") or "")) if data.get("state") else "",
        county=county_key(str(data.get("county") or "")),
        agency=str(data.get("agency") or (matter.agency if matter else "")).casefold(),
        text=text,
        backfill=bool(data.get("backfill")),
        baseline=bool(data.get("baseline")),
        private=bool(event.private or (matter.private if matter else False)),
    )


@dataclass(frozen=True)
class _Rule:
    """A subscription's filters in the form `_wants` compares, worked out once per router."""

    subscription: SubscriptionConfig
    cases: frozenset[tuple[str, str]]
    mute: tuple[re.Pattern[str], ...]
    watch_tags: Mapping[str, frozenset[str]]
    tags: frozenset[str]
    courts: frozenset[str]
    states: frozenset[str]
    counties: frozenset[str]
    #: the outbox ids of its channels (`channel_id`), once each
    channels: tuple[str, ...]


def _compile(sub: SubscriptionConfig, watch_tags: Mapping[str, Sequence[str]]) -> _Rule:
    cases = set()
    for spec in sub.cases:
        court, number = parse_tracked_docket(spec)
        cases.add((court, docket_key(number)))
    return _Rule(
        subscription=sub,
        cases=frozenset(cases),
        mute=tuple(re.compile(p) for p in sub.mute),
        watch_tags={w: frozenset(t) for w, t in watch_tags.items()},
        tags=frozenset(sub.tags),
        courts=frozenset(c.lower() for c in sub.courts),
        states=frozenset(state_code(s) for s in sub.states),
        counties=frozenset(county_key(c) for c in sub.counties),
        channels=tuple(channel_id(url) for url in subscription_channels(sub)),
    )


def _watch_ok(rule: _Rule, facts: EventFacts) -> bool:
    for watch in rule.subscription.watches:
        if watch in facts.watches:
            return True
        tags = rule.watch_tags.get(watch)
        if not facts.watches and tags and tags <= facts.tags:
            return True
    return False


def _wants(rule: _Rule, facts: EventFacts) -> bool:
    sub = rule.subscription
    checks = (
        (facts.backfill and not sub.include_backfill)
        or (facts.baseline and not sub.include_baseline)
        or (facts.private and not sub.include_private)
    )
    if checks:
        return False
    if facts.kind in QUIET_EVENT_KINDS and facts.kind not in sub.events:
        return False
    if not any(fnmatchcase(facts.kind, glob) for glob in sub.events):
        return False
    if sub.watches and not _watch_ok(rule, facts):
        return False
    if sub.tags and not facts.tags & rule.tags:
        return False
    if sub.courts and facts.court not in rule.courts:
        return False
    if rule.cases and (facts.court, facts.docket_key) not in rule.cases:
        return False
    if sub.states and facts.state not in rule.states:
        return False
    if sub.counties and facts.county not in rule.counties:
        return False
    if sub.agencies and not any(a.casefold() in facts.agency for a in sub.agencies if a):
        return False
    return not any(p.search(facts.text) for p in rule.mute)


def make_router(
    subscriptions: Sequence[SubscriptionConfig],
    *,
    watch_tags: Mapping[str, list[str]],
) -> EventListener:
    """A store listener writing one pending `Delivery` per matching (subscription, channel).

    It adds rows to the caller's session and never commits (the store does).
    """
    rules = [_compile(sub, watch_tags) for sub in subscriptions]

    def route(session: Session, event: Event) -> None:
        if event.id is None:
            session.flush()
        facts = event_facts(session, event)
        for rule in rules:
            if not _wants(rule, facts):
                continue
            sub = rule.subscription
            mode = URGENT if is_urgent(sub, event.kind, event.data or {}) else sub.mode
            # Written at once as plain rows, one statement for all channels, no objects:
            # nothing left pending for the next read's autoflush (the listeners read between
            # events), nothing in the transaction reads them back.
            insert_rows(session, Delivery, [dict(
                event_id=event.id or 0, subscription=sub.name, channel=channel,
                mode=mode, status="pending", created_at=event.at,
            ) for channel in rule.channels])

    return route
