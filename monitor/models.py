"""The tables. Every change a source causes ends up as an append-only `Event` row.

Identity (design.md): a case is (court, docket_key); an entry is (case, identity) where identity
is `n:<entry number>`, else `d:<pacer doc id>`, else `s:<sequence>`, else `h:<fingerprint>`; an
agreement is (state, agency, support type). Times are stored in UTC (naive datetimes in SQLite
columns mean UTC); deadlines keep the court's time zone by name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "Agreement",
    "AgreementHold",
    "AgreementList",
    "AgreementSnapshotRecord",
    "AgreementVersion",
    "ApiRequest",
    "Case",
    "Deadline",
    "Delivery",
    "Entry",
    "Event",
    "Lease",
    "ListState",
    "ListedItem",
    "MailMessage",
    "Matter",
    "PageState",
    "SourceState",
    "WebhookReceipt",
]


def _json(default: Any = None) -> Any:
    return Field(default_factory=lambda: default() if callable(default) else default,
                 sa_column=Column(JSON, nullable=True))


class Case(SQLModel, table=True):
    """A court case we track (or tracked: `tracked=False` after `untrack`, history kept)."""

    __table_args__ = (UniqueConstraint("court", "docket_key", name="uq_case_identity"),
                      Index("ix_case_listing", "first_seen", "id"))

    id: int | None = Field(default=None, primary_key=True)
    court: str = Field(index=True)
    docket_number: str
    docket_key: str = Field(index=True)
    docket_number_raw: str = ""
    case_name: str = ""
    pacer_case_id: str = ""
    cl_docket_id: int | None = Field(default=None, index=True)
    cause: str = ""
    nature_of_suit: str = ""
    date_filed: date | None = None
    date_terminated: date | None = None
    tags: list[str] = _json(list)
    matched_by: list[dict[str, str]] = _json(list)
    tracked: bool = True
    first_seen: datetime
    last_activity: datetime | None = None
    #: CourtListener sync bookkeeping
    cl_last_synced: datetime | None = None
    cl_date_modified: str = ""
    #: when a pushed payload (webhook) last brought news of this case
    last_push: datetime | None = None
    #: how many entries the case has, kept by the store (`cases` never counts the entry table)
    entry_count: int = 0


class Entry(SQLModel, table=True):
    """One docket entry of a case; the same entry from two sources is one row."""

    __table_args__ = (UniqueConstraint("case_id", "identity", name="uq_entry_identity"),
                      Index("ix_entry_case_doc", "case_id", "doc_key"),
                      Index("ix_entry_case_fingerprint", "case_id", "fingerprint"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    identity: str
    entry_number: int | None = None
    pacer_doc_id: str = ""
    pacer_seq_no: int | None = None
    date_filed: date | None = None
    short_description: str = ""
    description: str = ""
    document_url: str = ""
    published: datetime | None = None
    sources: list[str] = _json(list)
    first_seen: datetime
    #: lookup keys kept by the store so an entry is found by index, never by loading its case:
    #: the normalized PACER document id ("" when none) and `entry_fingerprint(date, text)`
    doc_key: str = ""
    fingerprint: str = ""


class Event(SQLModel, table=True):
    """Append-only log. `dedupe_key` makes applying the same observation twice a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    at: datetime = Field(index=True)
    subject: str = Field(index=True)
    summary: str = ""
    data: dict[str, Any] = _json(dict)
    dedupe_key: str = Field(unique=True)
    case_id: int | None = Field(default=None, index=True)
    matter_id: str | None = Field(default=None, index=True)
    source_id: str = ""
    private: bool = False


class Delivery(SQLModel, table=True):
    """The outbox: one row per (event, subscription, channel). `channel` is a hash, never a URL."""

    __table_args__ = (
        UniqueConstraint("event_id", "subscription", "channel", name="uq_delivery"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    subscription: str = Field(index=True)
    channel: str
    #: "immediate" or "digest"
    mode: str = "immediate"
    status: str = Field(default="pending", index=True)  # pending | sent | failed
    attempts: int = 0
    next_try: datetime | None = Field(default=None, index=True)
    last_error: str = ""
    created_at: datetime
    sent_at: datetime | None = None
    #: who is sending it now (`monitor.leases` owner token; "" when nobody) and until when
    claimed_by: str = ""
    claimed_until: datetime | None = None


class SourceState(SQLModel, table=True):
    """Per (source id, target): conditional-request state and failure counting.

    The row with `target == ""` is the source as a whole (what `status` shows).
    """

    __table_args__ = (UniqueConstraint("source_id", "target", name="uq_source_target"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    target: str = ""
    kind: str = ""
    etag: str = ""
    last_modified: str = ""
    content_hash: str = ""
    last_poll: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    last_error: str = ""
    failing: bool = False
    retry_not_before: datetime | None = None
    cursor: str = ""


class ApiRequest(SQLModel, table=True):
    """The ledger of rate-limited API requests (rolling windows, shared across processes)."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    at: datetime = Field(index=True)
    path: str = ""
    status: int | None = None


class Deadline(SQLModel, table=True):
    """A deadline of a case or a matter, with its reasoning."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    subject: str = Field(index=True)
    case_id: int | None = Field(default=None, index=True)
    matter_id: str | None = Field(default=None, index=True)
    label: str = ""
    rule_id: str = ""
    citation: str = ""
    origin: str = "computed"  # court-set | computed | manual
    state: str = Field(default="open", index=True)
    # open | overdue | unverified | met | vacated | suspended | waiting
    trigger_date: date | None = None
    trigger_text: str = ""
    trigger_estimated: bool = False
    due_date: date
    due_at: datetime | None = None
    timezone: str = "UTC"
    steps: list[str] = _json(list)
    alternative: dict[str, Any] | None = _json(None)
    computed_due: date | None = None
    sequence: int = 0
    reminders_sent: list[int] = _json(list)
    private: bool = False
    created_at: datetime
    updated_at: datetime
    #: the obligation, by kind ("respond-complaint", "oppose", "reply", "serve", "order", ...)
    obligation: str = ""
    #: the party bound, when the docket names one ("AOL", "USA")
    party: str = ""
    #: the entry that met it: {entry_number, date_filed, text}
    met_by: dict[str, Any] | None = _json(None)
    #: the entry asking for more time, while the court has not ruled
    extension_requested: dict[str, Any] | None = _json(None)
    #: a relative period waiting for its anchor or paused by a stay: {days, unit, anchor, ...}
    pending: dict[str, Any] | None = _json(None)


class Matter(SQLModel, table=True):
    """An agency matter: a FOIA request or appeal, a complaint, an application."""

    id: str = Field(primary_key=True)
    kind: str
    agency: str = ""
    reference: str = ""
    filed: date | None = None
    received: date | None = None
    expect_response_days: int | None = None
    unusual_circumstances: bool = False
    status: str = ""
    status_history: list[dict[str, Any]] = _json(list)
    pauses: list[dict[str, Any]] = _json(list)
    tags: list[str] = _json(list)
    private: bool = False
    case_ref: str = ""
    escalation_step: int = 0
    closed: bool = False
    created_at: datetime
    #: the source that keeps it ("" for a matter typed in: config or CLI)
    origin: str = Field(default="", index=True)
    title: str = ""
    jurisdiction: str = ""
    #: two-letter state of the jurisdiction (its public-records rule, when the table has one)
    state: str = ""
    url: str = ""
    #: the portal's own status code (MuckRock `ack`, `done`...) beside `status` in words
    status_code: str = ""
    #: the portal's own due date, shown beside the statutory clock
    portal_due: date | None = None
    done: date | None = None
    #: the thread as the portal shows it: [{id, at, response, subject, text, status, url,
    #: files: [{title, url, pages}]}], oldest first
    communications: list[dict[str, Any]] = _json(list)


class Agreement(SQLModel, table=True):
    """A 287(g) agreement row as last published by ICE."""

    __table_args__ = (UniqueConstraint("identity", name="uq_agreement_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    identity: str
    state: str = Field(index=True)
    agency: str
    county: str = ""
    type: str = ""
    support_type: str = ""
    signed: date | None = None
    moa_url: str = ""
    addendum_url: str = ""
    status: str = "participating"  # participating | pending | removed
    extra: dict[str, str] = _json(dict)
    first_seen: datetime
    last_seen: datetime
    #: SIGNED as last published (`signed` keeps the earliest: the signing date)
    signed_published: date | None = None
    #: consecutive good snapshots of its list without it, since `absent_since`
    absences: int = 0
    absent_since: datetime | None = None


class AgreementHold(SQLModel, table=True):
    """A suspicious snapshot held until the next fetch confirms it."""

    list_kind: str = Field(primary_key=True)
    payload: dict[str, Any] = _json(dict)
    held_at: datetime


class PageState(SQLModel, table=True):
    """The last text seen of a watched page."""

    source_id: str = Field(primary_key=True)
    url: str = ""
    text: str = ""
    updated_at: datetime


class WebhookReceipt(SQLModel, table=True):
    """Pushed payloads already taken, by Idempotency-Key."""

    idempotency_key: str = Field(primary_key=True)
    source_id: str = ""
    received_at: datetime


class AgreementList(SQLModel, table=True):
    """That a 287(g) list was applied at least once (its first snapshot was the baseline)."""

    list_kind: str = Field(primary_key=True)
    applied_at: datetime
    row_count: int = 0
    rejected_count: int = 0
    url: str = ""


class AgreementSnapshotRecord(SQLModel, table=True):
    """One fetched 287(g) list file: applied, the baseline, or quarantined (and why)."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = ""
    list_kind: str = Field(index=True)
    url: str = ""
    fetched_at: datetime
    status: str = "applied"  # baseline | applied | quarantined
    row_count: int = 0
    rejected_count: int = 0
    #: data-quality notes (duplicate rows merged, dates repaired) and quarantine reasons
    notes: list[str] = _json(list)


class AgreementVersion(SQLModel, table=True):
    """A run of snapshots in which an agreement looked the same (or was absent: `kind`)."""

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(index=True)
    kind: str = "seen"  # seen | absent
    list_kind: str = ""
    agency: str = ""
    support_type: str = ""
    county: str = ""
    signed: date | None = None
    moa_url: str = ""
    first_snapshot_id: int
    last_snapshot_id: int
    snapshots: int = 1


class Lease(SQLModel, table=True):
    """A named lease held by one process (`monitor.leases`): a source it polls, a daemon alive.

    `owner` is a process token (host, boot id, pid, start time); a lease is free when its owner
    is "", it has expired, or its owner is a process on this host that no longer runs.
    """

    name: str = Field(primary_key=True)
    owner: str = ""
    expires_at: datetime | None = None
    acquired_at: datetime | None = None


class ListState(SQLModel, table=True):
    """A list watched row by row (`list_page`): what was last applied, and a hold on a short one.

    `held_since` is set while a short list (too few rows, or a big drop) is held; `held_fetches`
    counts the consecutive fetches that showed the same held rows (`held_digest`).
    """

    __tablename__ = "list_state"

    source_id: str = Field(primary_key=True)
    url: str = ""
    title: str = ""
    watch: str = ""
    tags: list[str] = _json(list)
    applied_at: datetime | None = None
    total_rows: int = 0
    held_since: datetime | None = None
    held_fetches: int = 0
    held_digest: str = ""
    held_reasons: list[str] = _json(list)


class ListedItem(SQLModel, table=True):
    """One row of a list watched row by row, by (source id, key); removed rows are kept."""

    __tablename__ = "list_item"
    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_list_item"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    key: str
    link: str = ""
    fields: dict[str, str] = _json(dict)
    first_seen: datetime
    last_seen: datetime
    #: consecutive good fetches without it, since `absent_since`
    absences: int = 0
    absent_since: datetime | None = None
    #: when its removal was confirmed (None: listed)
    removed_at: datetime | None = None
class MailMessage(SQLModel, table=True):
    """An email taken in (a court notice: `taken`, with its free-look links, which never leave
    the store) or kept aside (`set_aside`: not proven to come from a court, or no notice, with
    the reason and the message itself for review). One row per message (`message_key`)."""

    __tablename__ = "mail_message"

    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(sa_column=Column(String, unique=True, nullable=False))
    source_id: str = ""
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    status: str = Field(default="taken", index=True)
    reason: str = ""
    sent_at: datetime | None = None
    received_at: datetime
    #: "court:docket_number" of each case the notice named
    cases: list[str] = _json(list)
    #: [{court, docket_number, entry_number, url}]: the free looks, for the store only
    free_looks: list[dict[str, Any]] = _json(list)
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
