"""The whole source contract: the `Source` ABC and the plain observation types it produces.

A source fetches (all I/O in `fetch`, through the shared httpx client it is given) and parses
(`parse`, pure: bytes in, observations out). It knows nothing of the database, alerts or other
sources. This module imports nothing from `monitor/` except `monitor.errors`.

Flow for one round::

    targets = source.targets(plan)                 # what to fetch now
    fetched = source.fetch(target, state)          # raises FetchError; may be not_modified
    observations = source.parse(fetched)           # raises ParseError; pure

Memory across rounds and processes. A source object lives as long as its process, and
`court-monitor poll --once` starts a new one each time, so whatever a source must remember between
rounds (an unfinished pagination, a lookup that found nothing) goes through the core:

- `Fetched.keep` is what the source asks the core to keep after this fetch: target key -> opaque
  text ("" forgets the key). The core saves it per (source id, key) only once the fetch's
  observations are stored, so a crash in between re-fetches rather than skips.
- `Plan.cursors` hands everything kept back at the next round (key -> text, never ""); it is None
  when no core keeps anything (a source used on its own then relies on its own memory).

Sources that keep nothing leave both alone.

Observations are frozen dataclasses; times are timezone-aware UTC datetimes, dates are `date`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

__all__ = [
    "AgreementRow",
    "AgreementSnapshot",
    "CaseGate",
    "SnapshotRules",
    "CaseObservation",
    "Clock",
    "EntryObservation",
    "Fetched",
    "ListItem",
    "ListRules",
    "ListSnapshot",
    "MailObservation",
    "Observation",
    "PageObservation",
    "Plan",
    "RecordsFile",
    "RequestCommunication",
    "RequestObservation",
    "QuotaLimits",
    "RejectedRow",
    "RequestGate",
    "Runtime",
    "Source",
    "SourceOptions",
    "Target",
    "TargetState",
    "TrackedCase",
]

#: A clock returns the current time, timezone-aware, in UTC.
Clock = Callable[[], datetime]


class SourceOptions(BaseModel):
    """Base of every source's own config keys. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- observations


@dataclass(frozen=True)
class EntryObservation:
    """One docket entry as a source saw it.

    Identity within a case (design.md): `entry_number`, else `pacer_doc_id` (compared with its
    fourth digit set to 0), else `pacer_seq_no`, else a hash of (date, short description).
    """

    entry_number: int | None
    date_filed: date | None
    short_description: str
    description: str = ""
    document_url: str = ""
    pacer_doc_id: str = ""
    pacer_seq_no: int | None = None
    published: datetime | None = None


@dataclass(frozen=True)
class CaseObservation:
    """A case seen by a source, with the entries seen with it (possibly none).

    `docket_number` is normalized (`sources.identity.normalize_docket_number`); the raw form is
    kept in `docket_number_raw`. Fields a source does not know stay empty / None: the matcher
    treats a missing field as neither matching nor vetoing.
    """

    court: str
    docket_number: str
    docket_number_raw: str
    case_name: str = ""
    pacer_case_id: str = ""
    cl_docket_id: int | None = None
    cause: str = ""
    nature_of_suit: str = ""
    date_filed: date | None = None
    date_terminated: date | None = None
    entries: tuple[EntryObservation, ...] = ()
    url: str = ""
    #: history fetched later for a known case (contracts.md: subscriptions skip it by default)
    backfill: bool = False
    #: CourtListener sync bookkeeping: this observation is a docket sync; the docket's
    #: `date_modified` once the sync is complete ("" while pages remain)
    cl_synced: bool = False
    cl_date_modified: str = ""


@dataclass(frozen=True)
class PageObservation:
    """The watched text of a page (after selector, capture and normalization)."""

    url: str
    text: str
    matter: str = ""


@dataclass(frozen=True)
class AgreementRow:
    """One row of an ICE 287(g) list. Identity: (state, agency, support_type)."""

    state: str
    agency: str
    support_type: str
    status: Literal["participating", "pending"]
    county: str = ""
    type: str = ""
    signed: date | None = None
    moa_url: str = ""
    addendum_url: str = ""
    #: other columns as published (header -> text), for columns added in later files
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RejectedRow:
    """A spreadsheet row that could not be used, and why."""

    row_number: int
    reason: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SnapshotRules:
    """How much evidence a list snapshot needs (the `ice_287g` source's settings, carried along).

    A row absent from `confirm_absences` consecutive good snapshots spanning at least
    `confirm_after` is ended (`agreement.removed`); until then it is only `agreement.missing`.
    A snapshot that lost more than `max_loss` of its list's rows, or has fewer than `min_rows`
    rows (participating list only), or no header, is quarantined until a normal one follows.
    """

    confirm_absences: int = 3
    confirm_after: timedelta = timedelta(days=2)
    max_loss: float = 0.2
    min_rows: int = 0


@dataclass(frozen=True)
class AgreementSnapshot:
    """A whole ICE list as fetched: the store diffs it against the previous one."""

    list_kind: Literal["participating", "pending"]
    url: str
    rows: tuple[AgreementRow, ...]
    rejected: tuple[RejectedRow, ...] = ()
    header_ok: bool = True
    #: data-quality notes worth keeping with the snapshot (duplicate rows merged...)
    notes: tuple[str, ...] = ()
    rules: SnapshotRules = field(default_factory=SnapshotRules)
    #: the operator accepted this (quarantined) snapshot as it is: it is applied regardless
    #: (`court-monitor agreements --accept-quarantined LIST`; sources never set it)
    accepted: bool = False


@dataclass(frozen=True)
class ListItem:
    """One row of a list watched row by row (`list_page`): its key, its fields, its link."""

    key: str
    #: field name -> text, as configured (the link included, resolved against the page)
    fields: Mapping[str, str]
    link: str = ""


@dataclass(frozen=True)
class ListRules:
    """How much evidence a list needs (the `list_page` source's settings, carried along).

    A row is removed once it is absent from `confirm_absences` consecutive good fetches (2: the
    fetch that missed it and the next one). A list with fewer than `min_rows` rows, or that lost
    more than `max_loss` of its rows since the last applied fetch, is held (nothing applied) until
    `confirm_absences` consecutive fetches show the same rows. `removals = false`: rows that leave
    the list are never removed (news lists whose old items scroll away).
    """

    confirm_absences: int = 2
    max_loss: float = 0.5
    min_rows: int = 1
    removals: bool = True


@dataclass(frozen=True)
class ListSnapshot:
    """A whole list as fetched (every page followed), its rows filtered: the store diffs it.

    `total_rows` counts the rows before the filters (what the short-list test looks at);
    `complete` is false when the page cap stopped the walk with pages left (absences are then
    not counted: a row past the cap cannot be told from a removed one). `watch` and `tags` bind
    the list's events to a watch's tags for subscriptions and feeds.
    """

    url: str
    items: tuple[ListItem, ...]
    total_rows: int
    complete: bool = True
    title: str = ""
    watch: str = ""
    tags: tuple[str, ...] = ()
    rules: ListRules = field(default_factory=ListRules)


@dataclass(frozen=True)
class MailObservation:
    """An email message as taken: a court notice (`taken`: its cases come as their own
    observations beside this one) or a message kept aside (`set_aside`: not proven to come
    from a court, or no notice; never turned into entries). The store keeps one row per
    `message_key`, and says so once when a message is set aside.

    `free_looks` are the notice's one-free-look document links, (court, docket number, entry
    number, url): kept in the store only, never in a feed, an alert or a calendar.
    """

    message_key: str
    status: Literal["taken", "set_aside"]
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    reason: str = ""
    sent_at: datetime | None = None
    cases: tuple[str, ...] = ()
    free_looks: tuple[tuple[str, str, int | None, str], ...] = ()
    #: the message itself, kept with a set-aside message for review
    raw: bytes = field(default=b"", repr=False)
    #: a court sent this notice to the mailbox's owner, who is on these cases: the store tracks
    #: them outright (as `track` does), whatever the watches say
    track_cases: bool = True


@dataclass(frozen=True)
class RecordsFile:
    """A file an agency released, linked (never downloaded) from where it is published."""

    title: str
    url: str
    pages: int | None = None
    doc_id: str = ""


@dataclass(frozen=True)
class RequestCommunication:
    """One message of a records request's thread. `response`: the agency wrote it."""

    id: str
    at: datetime | None
    response: bool
    subject: str = ""
    text: str = ""
    #: the request's status the message set, as the portal codes it ("" when none)
    status: str = ""
    url: str = ""
    files: tuple[RecordsFile, ...] = ()


@dataclass(frozen=True)
class RequestObservation:
    """A public-records request as a portal (MuckRock) shows it: it is a matter kept by the
    source. `matter` is its matter id; `status` the portal's words, `status_code` its code;
    `due` the portal's own due date (the statutory clock is the core's); `closed`: the portal
    marked it finished (done, rejected...); `paused`: the agency waits on the requester;
    `appealing`: the requester appealed the answer."""

    matter: str
    agency: str
    status: str
    status_code: str = ""
    title: str = ""
    jurisdiction: str = ""
    #: two-letter state of the jurisdiction ("" for a federal agency)
    state: str = ""
    reference: str = ""
    url: str = ""
    submitted: date | None = None
    done: date | None = None
    due: date | None = None
    updated: datetime | None = None
    closed: bool = False
    paused: bool = False
    #: the requester appealed the agency's answer (a finished request runs again)
    appealing: bool = False
    communications: tuple[RequestCommunication, ...] = ()
    tags: tuple[str, ...] = ()
    #: "COURT:DOCKET" of the lawsuit about it, when the operator linked one by hand
    case: str = ""
    #: first listing of its target: events carry `"baseline": true`
    baseline: bool = False


Observation = (CaseObservation | PageObservation | AgreementSnapshot | ListSnapshot
               | MailObservation | RequestObservation)


# ---------------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class TrackedCase:
    """What a source may know of a tracked case, handed over in the plan (never via the DB)."""

    court: str
    docket_number: str
    cl_docket_id: int | None = None
    #: earliest open deadline, if any (sources that budget requests spend them here first)
    next_due: date | None = None
    last_activity: datetime | None = None
    last_synced: datetime | None = None
    last_modified_seen: str = ""
    #: when a pushed payload (webhook) last brought news of this case (None: never)
    last_push: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """What the core tells a source before a round."""

    now: datetime
    tracked: tuple[TrackedCase, ...] = ()
    #: when this source last completed a round (None: never)
    last_run: datetime | None = None
    #: when each target (by key) was last fetched successfully, as the core remembers it across
    #: processes (a source's own memory ends with `poll --once`)
    fetched_at: Mapping[str, datetime] = field(default_factory=dict)
    #: what the source asked the core to keep (`Fetched.keep`), by target key; None: no core
    #: keeps anything for this source (standalone use), so its own memory is all there is
    cursors: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Target:
    """One thing to fetch. `key` is stable across rounds (state is kept per source and key)."""

    key: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    #: free-form context the source needs in `parse` (e.g. the court id of a feed)
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetState:
    """What was remembered of a target from the last successful fetch."""

    etag: str = ""
    last_modified: str = ""
    content_hash: str = ""


@dataclass(frozen=True)
class Fetched:
    """A fetched (or pushed) response. `not_modified` means a 304: nothing to parse."""

    target: Target
    content: bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    fetched_at: datetime | None = None
    not_modified: bool = False
    #: target key -> opaque text for the core to keep and hand back in `Plan.cursors` ("" forgets
    #: that key); saved only after this fetch's observations are stored. Any key of the source
    #: may be named, not only this target's (e.g. to forget one no longer wanted).
    keep: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------- run time


@dataclass(frozen=True)
class QuotaLimits:
    """Requests allowed per rolling minute, hour and day (a source's request budget)."""

    per_minute: int
    per_hour: int
    per_day: int

    def windows(self) -> tuple[tuple[str, timedelta, int], ...]:
        """(name, length, limit) of each rolling window."""
        return (
            ("minute", timedelta(minutes=1), self.per_minute),
            ("hour", timedelta(hours=1), self.per_hour),
            ("day", timedelta(days=1), self.per_day),
        )


class RequestGate(Protocol):
    """What a source with a request budget asks before every HTTP request."""

    def acquire(self, path: str) -> bool:
        """Record one request to `path` and return True, or return False (budget spent)."""
        ...

    def defer(self, until: datetime) -> None:
        """The server said (a 429's Retry-After) not to ask again before `until`."""
        ...


@dataclass(frozen=True)
class Runtime:
    """What the core hands a source at construction besides its options, as the source's class
    declared it: the core never names a source.

    - `secrets`: each `<name>_env` / `<name>_file` key of the source's config, resolved (name ->
      value; a name absent means not configured). Never logged.
    - `gate`: the request budget shared by every process on the database, when
      `Source.request_budget` gives one (None: no budget, or standalone use).
    - `push`: the daemon's webhook endpoint is served and reachable from outside (`[server]`
      enabled with a `public_url` and a webhook path), so a source that `accepts_push` may
      subscribe to pushes at its service (False: it polls only).
    """

    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    gate: RequestGate | None = None
    push: bool = False


# ---------------------------------------------------------------------------- the contract


class CaseGate(Protocol):
    """What the core could keep of a feed's cases, asked by `Source.parse_gated` before it
    builds a case with no cause and no nature of suit (what an RSS item gives): each answer
    may be True for a case the core then drops, never False for one it keeps (a gate only
    spares work). A source whose cases carry a cause or a nature of suit does not gate."""

    #: words one of which every entry text some watch matches holds, as written and ASCII
    #: lower-cased (compared with an ASCII text lower-cased): `(exact, folded)`. None: any
    #: text may match; `((), ())`: no text can
    text_words: tuple[tuple[str, ...], tuple[str, ...]] | None

    def keeps(self, court: str, docket_number: str) -> bool:
        """The case is kept whatever its texts say (stored, listed by a watch, no docket
        number, a court the core knows nothing of)."""

    def name_may_match(self, case_name: str) -> bool:
        """Some watch may match this case name."""


class Source(ABC):
    """A kind of data source. Subclass once per kind, in a module named after `kind`.

    - `kind` equals the module name and the config's `kind = "..."`.
    - `Options` is a `SourceOptions` subclass holding the source's own config keys.
    - The constructor receives the validated options, the source id, the shared httpx client,
      a clock and the `Runtime` (secrets, a request gate); it does no I/O.
    - `request_budget(options)`: the requests per minute, hour and day the source may make
      (None: unlimited). The core then keeps the budget in the database, hands the source a
      gate on it, and shows what is used and left as `quota` in `status`.
    - `accepts_push`: the daemon's webhook endpoint hands pushed payloads to this source,
      wrapped as `Fetched` with target key ``"webhook"``, through the same `parse`.
    - `push_subscriptions(kept)`: which tracked cases (by CourtListener docket id) have a live
      push subscription, read from what the source kept (`Fetched.keep`); `status` shows each
      tracked case as push or poll from it.
    """

    #: pushed payloads (webhooks) go to this source's `parse` (one such source per config)
    accepts_push: ClassVar[bool] = False
    kind: ClassVar[str]
    Options: ClassVar[type[SourceOptions]]
    #: skip `parse` when a response's bytes equal the last ones (false: always parse)
    skip_unchanged: ClassVar[bool] = True
    #: the core may run this source's fetches of one round in parallel (within the per-host
    #: limit); false for a source whose fetches depend on one another (a request budget)
    parallel_fetch: ClassVar[bool] = False
    #: the source reads `Plan.tracked` (false spares the core loading every tracked case)
    reads_tracked: ClassVar[bool] = True
    #: `parse` reads only the `Fetched` it is given and changes no state, so the core may run it
    #: on the fetch thread as soon as a response arrives (parsing overlaps the storing of the
    #: targets before it); false: parsed on the storing thread, in target order
    parse_in_fetch: ClassVar[bool] = False

    def __init__(
        self, source_id: str, options: SourceOptions, client: httpx.Client, clock: Clock, *,
        runtime: Runtime | None = None,
    ) -> None:
        self.source_id = source_id
        self.options = options
        self.client = client
        self.clock = clock
        self.runtime = runtime or Runtime()

    @classmethod
    def request_budget(cls, options: SourceOptions) -> QuotaLimits | None:
        """The request budget these options give (None: this kind of source has none)."""
        return None

    @classmethod
    def push_subscriptions(cls, kept: Mapping[str, str]) -> frozenset[int]:
        """The docket ids with a live push subscription, given what the source kept (target
        key -> text, as `Plan.cursors`); none for a source that takes no pushes."""
        return frozenset()

    @abstractmethod
    def targets(self, plan: Plan) -> list[Target]:
        """What to fetch this round."""

    @abstractmethod
    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """Fetch one target (all I/O happens here). Raises `FetchError`."""

    @abstractmethod
    def parse(self, fetched: Fetched) -> list[Observation]:
        """Turn a response into observations. Pure; raises `ParseError`."""

    def parse_gated(self, fetched: Fetched, gate: CaseGate) -> tuple[list[Observation], int]:
        """`parse`, free to leave out the cases `gate` rules out (what it returns is still
        screened by the core), and how many observations the whole `parse` gives. By default
        the whole parse: a source whose parse can skip a case's work cheaply overrides it."""
        observations = self.parse(fetched)
        return observations, len(observations)
