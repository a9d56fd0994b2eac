"""Observations -> rows + events, idempotently (design.md, flow step 4).

`Store.apply` runs in one write transaction: new rows, their events, and whatever the event
listeners add (outbox deliveries, derived deadlines) commit together or not at all. Applying the
same observations twice yields no new row and no new event: every event has a unique dedupe key.
An item that vanishes from a feed means nothing: nothing is ever deleted here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from monitor.agreement_store import apply_snapshot
from monitor.config import Config
from monitor.db import held_rows, stored_row, update_columns, write_session
from monitor.errors import StoreError
from monitor.events import EventListener, emit, emitted
from monitor.list_store import apply_list
from monitor.mail_store import apply_mail
from monitor.matching import Matcher, MatchReason
from monitor.matter_requests import apply_request
from monitor.matters import set_matter_status
from monitor.models import AgreementHold, Case, Entry, Event, Matter, PageState
from sources.base import (
    CaseObservation,
    EntryObservation,
    ListSnapshot,
    MailObservation,
    Observation,
    PageObservation,
    RequestObservation,
)
from sources.identity import docket_key, entry_fingerprint, normalize_pacer_doc_id

__all__ = ["COURT_NOTICE", "ApplyResult", "Store", "StoredKeys", "case_subject", "entry_identity",
           "entry_values", "known_cases", "noticed_cases"]

log = logging.getLogger(__name__)

#: case ids per lookup query (well under every database's parameter limit)
_KEY_BATCH = 500

#: the stored cases of a court, as plain (id, docket key) columns
_KEYS_OF_COURT = sa_select(col(Case.id), col(Case.docket_key)).where(
    col(Case.court) == bindparam("court"))


@dataclass
class ApplyResult:
    """What one `apply` changed."""

    events: list[Event] = field(default_factory=list)
    dropped: int = 0
    #: list snapshots held until a later fetch confirms them (see `agreement_store`)
    held: int = 0
    #: the entries of each case created in this apply, oldest first (looked up in memory)
    fresh: dict[int, list[Entry]] = field(default_factory=dict, repr=False)

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)


#: why a case no watch matched is tracked: a court sent its notice to the mailbox's owner
COURT_NOTICE = MatchReason("court-notice", "notice", "a court's notice to this mailbox")


def noticed_cases(observations: Sequence[Observation]) -> frozenset[tuple[str, str]]:
    """(court, docket key) of the cases that trusted court notices among `observations` ask to
    track outright (`MailObservation.track_cases`): the mailbox's owner is on them."""
    noticed: set[tuple[str, str]] = set()
    for obs in observations:
        if isinstance(obs, MailObservation) and obs.status == "taken" and obs.track_cases:
            for spec in obs.cases:
                court, _, docket = spec.partition(":")
                if court and docket:
                    noticed.add((court, docket_key(docket)))
    return frozenset(noticed)


def case_subject(court: str, docket_number: str) -> str:
    """The subject string of a case's events (`dcd:1:25-cv-01234`)."""
    return f"{court}:{docket_number}"


def entry_identity(entry: EntryObservation) -> str:
    """The identity of an entry within its case (design.md, "Identity")."""
    if entry.entry_number is not None:
        return f"n:{entry.entry_number}"
    if entry.pacer_doc_id:
        return f"d:{normalize_pacer_doc_id(entry.pacer_doc_id)}"
    if entry.pacer_seq_no is not None:
        return f"s:{entry.pacer_seq_no}"
    return f"h:{entry_fingerprint(entry.date_filed, entry.short_description)}"


class Store:
    """Applies observations; `listeners` see each new event inside the same transaction."""

    def __init__(self, engine: Engine, matcher: Matcher,
                 listeners: Iterable[EventListener] = (), *, config: Config | None = None
                 ) -> None:
        self.engine = engine
        self.matcher = matcher
        self.listeners: list[EventListener] = list(listeners)
        #: what matters kept by a source need (their clocks' rules and time zone)
        self.config = config
        #: matters whose clock was computed in this process (see `apply_request`)
        self._clocked: set[str] = set()

    def apply(self, observations: Sequence[Observation], *, source_id: str,
              now: datetime, stored: StoredKeys | None = None) -> ApplyResult:
        """Apply observations in one transaction; return the new events. No observation
        opens no transaction (most feeds of a round hand the store none to keep). `stored`:
        the docket keys stored for some courts when the round began (`known_cases`)."""
        result = ApplyResult()
        if not observations:
            return result
        with write_session(self.engine) as session, held_rows(session):
            known = known_cases(session, [o for o in observations
                                          if isinstance(o, CaseObservation)], stored)
            noticed = noticed_cases(observations)
            for obs in observations:
                if isinstance(obs, CaseObservation):
                    self._apply_case(session, obs, source_id, now, result, known, noticed)
                elif isinstance(obs, PageObservation):
                    self._apply_page(session, obs, source_id, now, result)
                elif isinstance(obs, ListSnapshot):
                    tags = [*obs.tags, *self.matcher.tags_for([obs.watch] if obs.watch else [])]
                    result.held += apply_list(session, self.listeners, obs, source_id=source_id,
                                              now=now, tags=list(dict.fromkeys(tags)))
                elif isinstance(obs, MailObservation):
                    apply_mail(session, obs, source_id=source_id, now=now)
                elif isinstance(obs, RequestObservation):
                    if self.config is None:
                        raise StoreError("a store without a config cannot keep matters")
                    apply_request(session, self.listeners, obs, self.config,
                                  source_id=source_id, now=now, clocked=self._clocked)
                else:
                    self._apply_other(session, obs, source_id, now, result)
            # Every event of the transaction, listeners' (derived deadlines) included.
            result.events = emitted(session)
        return result

    def _apply_other(self, session: Session, obs: Observation, source_id: str, now: datetime,
                     result: ApplyResult) -> None:
        apply_snapshot(session, self.listeners, obs, source_id=source_id, now=now)
        list_kind = getattr(obs, "list_kind", None)
        hold = session.get(AgreementHold, list_kind) if list_kind is not None else None
        if hold is not None and hold not in session.deleted:
            result.held += 1

    def _emit(self, session: Session, result: ApplyResult, **kwargs: Any) -> Event | None:
        return emit(session, self.listeners, **kwargs)

    # ------------------------------------------------------------------ cases and entries

    def _apply_case(self, session: Session, obs: CaseObservation, source_id: str, now: datetime,
                    result: ApplyResult, known: dict[tuple[str, str], Case],
                    noticed: frozenset[tuple[str, str]] = frozenset()) -> None:
        if not obs.docket_number:
            # A pushed docket alert names only CourtListener's docket id: ours or nothing.
            case = session.exec(select(Case).where(Case.cl_docket_id == obs.cl_docket_id)).first() \
                if obs.cl_docket_id else None
            if case is None:
                result.dropped += 1
                return
            key = case.docket_key
        else:
            # Looked up in bulk for the whole batch (`known_cases`): no query per observation.
            key = docket_key(obs.docket_number)
            case = known.get((obs.court, key))
        discovered = None
        if case is None:
            reasons = self.matcher.match(obs)
            if not reasons and (obs.court, key) in noticed:
                reasons = [COURT_NOTICE]
            if not reasons:
                result.dropped += 1
                return
            discovered = self._discover(session, obs, key, reasons, source_id, now, result)
            # None: stored after the round's keys were read (`known_cases`), as found now.
            case = discovered if discovered is not None else _stored_case(session, obs.court,
                                                                            key)
            known[(case.court, key)] = case
        if discovered is not None:
            # A case new in this transaction has no entry but those added below: they are
            # looked up in memory, not in the table.
            result.fresh[discovered.id or 0] = []
            backfill = False
        elif not case.tracked:
            result.dropped += 1
            return
        else:
            self._update_case(session, case, obs, source_id, now, result)
            backfill = obs.backfill
        added = sum(self._apply_entry(session, case, entry, source_id, now, backfill, result)
                    for entry in obs.entries)
        if added:
            # Once per case, after its entries, as one plain UPDATE: the listeners' reads in
            # between find no changed case row to flush first, and the commit none to flush.
            update_columns(session, case, entry_count=(case.entry_count or 0) + added,
                           **({} if backfill else {"last_activity": now}))

    def _discover(self, session: Session, obs: CaseObservation, key: str, reasons: list[Any],
                  source_id: str, now: datetime, result: ApplyResult) -> Case | None:
        """Store a new case and emit its `case.discovered`; None when the case is stored
        already (the unique (court, docket key) turns the INSERT away)."""
        watches = list(dict.fromkeys(r.watch for r in reasons))
        case = stored_row(session, Case, dict(
            court=obs.court, docket_number=obs.docket_number, docket_key=key,
            docket_number_raw=obs.docket_number_raw, case_name=obs.case_name,
            pacer_case_id=obs.pacer_case_id, cl_docket_id=obs.cl_docket_id, cause=obs.cause,
            nature_of_suit=obs.nature_of_suit, date_filed=obs.date_filed,
            date_terminated=obs.date_terminated, tags=self.matcher.tags_for(watches),
            matched_by=[r.as_dict() for r in reasons], tracked=True, first_seen=now,
            last_activity=now if obs.entries else None,
            cl_last_synced=now if obs.cl_synced else None,
            cl_date_modified=obs.cl_date_modified,
        ), unless=("court", "docket_key"))
        if case is None:
            return None
        self._emit(
            session, result, kind="case.discovered", at=now,
            subject=case_subject(case.court, case.docket_number),
            summary=f"New case {case.docket_number} {case.case_name}".strip(),
            dedupe_key=f"case.discovered:{case.court}:{key}",
            data={**_case_data(case), "matched_by": case.matched_by, "watches": watches},
            case_id=case.id, source_id=source_id,
        )
        return case

    def track(self, court: str, docket_number: str, *, tags: Sequence[str], now: datetime,
              reason: str = "manual") -> tuple[Case, bool]:
        """Track a case by hand (re-tracks an untracked one). Returns (case, created)."""
        key = docket_key(docket_number)
        result = ApplyResult()
        with write_session(self.engine) as session:
            case = session.exec(
                select(Case).where(Case.court == court, Case.docket_key == key)
            ).first()
            if case is not None:
                case.tracked = True
                case.tags = list(dict.fromkeys([*case.tags, *tags]))
                session.add(case)
                return case, False
            case = Case(court=court, docket_number=docket_number, docket_key=key,
                        docket_number_raw=docket_number, tags=list(tags), first_seen=now,
                        matched_by=[{"watch": reason, "field": "docket",
                                     "pattern": f"{court}:{docket_number}"}])
            session.add(case)
            session.flush()
            self._emit(session, result, kind="case.discovered", at=now,
                       subject=case_subject(court, docket_number),
                       summary=f"Tracking {docket_number} by hand",
                       dedupe_key=f"case.discovered:{court}:{key}", data=_case_data(case),
                       case_id=case.id, source_id="cli")
            return case, True

    def untrack(self, court: str, docket_number: str) -> bool:
        """Stop tracking a case; its history stays. False when unknown."""
        key = docket_key(docket_number)
        with write_session(self.engine) as session:
            case = session.exec(
                select(Case).where(Case.court == court, Case.docket_key == key)
            ).first()
            if case is None:
                return False
            case.tracked = False
            session.add(case)
            return True

    def _update_case(self, session: Session, case: Case, obs: CaseObservation, source_id: str,
                     now: datetime, result: ApplyResult) -> None:
        changed: dict[str, dict[str, Any]] = {}
        for name in ("cause", "nature_of_suit", "date_filed"):
            new, old = getattr(obs, name), getattr(case, name)
            if new and new != old:
                if old:
                    changed[name] = {"before": _jsonable(old), "after": _jsonable(new)}
                setattr(case, name, new)
        if obs.case_name and _better_name(case.case_name, obs.case_name):
            # Sources spell names differently (PACER "USA v. Doe", CourtListener "United
            # States v. Doe"): a name is filled or completed, never flipped, and is no event.
            case.case_name = obs.case_name
        for name in ("pacer_case_id", "cl_docket_id", "docket_number_raw"):
            if getattr(obs, name) and not getattr(case, name):
                setattr(case, name, getattr(obs, name))
        if obs.cl_synced:
            case.cl_last_synced = now
            if obs.cl_date_modified:
                case.cl_date_modified = obs.cl_date_modified
        subject = case_subject(case.court, case.docket_number)
        if changed:
            digest = _digest(sorted((k, str(v["after"])) for k, v in changed.items()))
            self._emit(session, result, kind="case.updated", at=now, subject=subject,
                       summary=f"{case.docket_number}: {', '.join(changed)} changed",
                       dedupe_key=f"case.updated:{case.id}:{digest}",
                       data={**_case_data(case), "changes": changed}, case_id=case.id,
                       source_id=source_id)
        if obs.date_terminated and case.date_terminated != obs.date_terminated:
            case.date_terminated = obs.date_terminated
            self._emit(session, result, kind="case.closed", at=now, subject=subject,
                       summary=f"{case.docket_number} terminated {obs.date_terminated}",
                       dedupe_key=f"case.closed:{case.id}:{obs.date_terminated.isoformat()}",
                       data=_case_data(case), case_id=case.id, source_id=source_id)
        session.add(case)

    def _find_entry(self, session: Session, case: Case, obs: EntryObservation,
                    fresh: dict[int, list[Entry]] | None = None) -> Entry | None:
        """The stored entry `obs` is, found by index (identity, document id, fingerprint);
        for a case created in this transaction (`fresh`: its entries so far), in memory."""
        added = fresh.get(case.id or 0) if fresh is not None else None
        if added is not None:
            return _find_added(added, obs)
        in_case = Entry.case_id == case.id
        row = session.exec(
            select(Entry).where(in_case, Entry.identity == entry_identity(obs))).first()
        if row is not None:
            return row
        doc = normalize_pacer_doc_id(obs.pacer_doc_id) if obs.pacer_doc_id else ""
        if doc:
            row = session.exec(select(Entry).where(in_case, Entry.doc_key == doc)
                               .order_by(col(Entry.id))).first()
            if row is not None:
                return row
        # An entry seen first without a number merges with the numbered one of the same case,
        # day and text when the number arrives (contracts.md).
        query = select(Entry).where(
            in_case, Entry.fingerprint == entry_fingerprint(obs.date_filed,
                                                            obs.short_description))
        if obs.entry_number is not None:
            query = query.where(col(Entry.entry_number).is_(None))
        return session.exec(query.order_by(col(Entry.id))).first()

    def _apply_entry(self, session: Session, case: Case, obs: EntryObservation, source_id: str,
                     now: datetime, backfill: bool, result: ApplyResult) -> bool:
        """Store one entry of `case`; True when it is new (its `entry.added` emitted)."""
        row = self._find_entry(session, case, obs, result.fresh)
        if row is not None:
            _enrich(row, obs, source_id)
            session.add(row)
            return False
        row = stored_row(session, Entry, entry_values(case.id or 0, obs, source_id, now))
        added = result.fresh.get(case.id or 0)
        if added is not None:
            added.append(row)
        text = obs.description or obs.short_description
        number = f"#{obs.entry_number} " if obs.entry_number is not None else ""
        self._emit(
            session, result, kind="entry.added", at=now,
            subject=case_subject(case.court, case.docket_number),
            summary=f"{case.docket_number} {number}{text}".strip()[:300],
            dedupe_key=f"entry.added:{case.id}:{row.id}",
            data={**_case_data(case), **_entry_data(row), "backfill": backfill},
            case_id=case.id, source_id=source_id,
        )
        return True

    # ------------------------------------------------------------------ pages

    def _apply_page(self, session: Session, obs: PageObservation, source_id: str, now: datetime,
                    result: ApplyResult) -> None:
        state = session.get(PageState, source_id)
        if state is not None and state.text == obs.text:
            return
        before = state.text if state is not None else None
        if state is None:
            state = PageState(source_id=source_id, url=obs.url, text=obs.text, updated_at=now)
        else:
            state.text, state.url, state.updated_at = obs.text, obs.url, now
        session.add(state)
        # A page bound to a matter speaks for it: in its timeline, and private when it is.
        matter = session.get(Matter, obs.matter) if obs.matter else None
        self._emit(
            session, result, kind="page.changed", at=now, subject=f"page:{source_id}",
            summary=f"{obs.url}: {obs.text[:200]}",
            dedupe_key=f"page.changed:{source_id}:{_digest([obs.text])}:{now.isoformat()}",
            data={"url": obs.url, "before": before, "after": obs.text,
                  "baseline": before is None, "matter": obs.matter or None},
            source_id=source_id, matter_id=matter.id if matter else None,
            private=matter.private if matter else False,
        )
        if obs.matter:
            set_matter_status(session, self.listeners, obs.matter, obs.text, now=now,
                              source_id=source_id, baseline=before is None)


class StoredKeys(Protocol):
    """The docket keys stored for some courts when a poll round began, complete for those
    courts (`monitor.parse_pool.Screen`)."""

    @property
    def courts(self) -> frozenset[str]: ...

    @property
    def keys(self) -> frozenset[tuple[str, str]]: ...


def known_cases(session: Session, observations: Sequence[CaseObservation],
                stored: StoredKeys | None = None) -> dict[tuple[str, str], Case]:
    """The stored cases the observations name, by (court, docket key). Per court, one indexed
    read of the docket keys stored for it (plain columns, one statement whatever the feed
    holds), then the rows of the named ones only: an untracked item costs no round trip of its
    own, and a feed of new cases loads no row. A court of `stored` none of whose named keys
    were stored when its round began is not read (a first poll's feeds of new cases): a case
    of it stored since is found when its INSERT is turned away (`Store._discover`)."""
    by_court: dict[str, list[str]] = {}
    for obs in observations:
        if obs.docket_number:
            by_court.setdefault(obs.court, []).append(obs.docket_number)
    if stored is not None:
        by_court = {court: numbers for court, numbers in by_court.items()
                    if court not in stored.courts
                    or any((court, docket_key(n)) in stored.keys for n in numbers)}
    ids: list[int | None] = []
    for court, numbers in by_court.items():
        rows = session.connection().execute(_KEYS_OF_COURT, {"court": court}).all()
        if rows:  # a court with no stored case (a first poll) needs no key worked out here
            keys = {docket_key(number) for number in numbers}
            ids += [case_id for case_id, key in rows if key in keys]
    found: dict[tuple[str, str], Case] = {}
    for start in range(0, len(ids), _KEY_BATCH):
        for case in session.exec(select(Case).where(
                col(Case.id).in_(ids[start:start + _KEY_BATCH]))):
            found[(case.court, case.docket_key)] = case
    return found


def _stored_case(session: Session, court: str, key: str) -> Case:
    """The stored case of (court, docket key), which must exist."""
    case = session.exec(select(Case).where(Case.court == court, Case.docket_key == key)).first()
    if case is None:
        raise StoreError(f"the case {court}:{key} is neither new nor stored")
    return case


def _find_added(added: Sequence[Entry], obs: EntryObservation) -> Entry | None:
    """`Store._find_entry` over the entries of a case added in this transaction (in id
    order): the same keys, in the same order of precedence."""
    identity = entry_identity(obs)
    for row in added:
        if row.identity == identity:
            return row
    doc = normalize_pacer_doc_id(obs.pacer_doc_id) if obs.pacer_doc_id else ""
    if doc:
        for row in added:
            if row.doc_key == doc:
                return row
    fingerprint = entry_fingerprint(obs.date_filed, obs.short_description)
    for row in added:
        if row.fingerprint == fingerprint and (obs.entry_number is None
                                               or row.entry_number is None):
            return row
    return None


def entry_values(case_id: int, obs: EntryObservation, source_id: str, now: datetime
                 ) -> dict[str, Any]:
    """The column values of a new entry's row (what bulk loaders must write too)."""
    return dict(
        case_id=case_id, identity=entry_identity(obs), entry_number=obs.entry_number,
        pacer_doc_id=obs.pacer_doc_id, pacer_seq_no=obs.pacer_seq_no,
        date_filed=obs.date_filed, short_description=obs.short_description,
        description=obs.description, document_url=obs.document_url,
        published=obs.published, sources=[source_id], first_seen=now,
        doc_key=normalize_pacer_doc_id(obs.pacer_doc_id) if obs.pacer_doc_id else "",
        fingerprint=entry_fingerprint(obs.date_filed, obs.short_description),
    )


def _index_keys(row: Entry) -> None:
    """Keep the lookup columns `_find_entry` searches in step with the row's fields."""
    row.doc_key = normalize_pacer_doc_id(row.pacer_doc_id) if row.pacer_doc_id else ""
    row.fingerprint = entry_fingerprint(row.date_filed, row.short_description)


def _enrich(row: Entry, obs: EntryObservation, source_id: str) -> None:
    """Fill what a second sighting adds (a number, a longer text, a link); never an event."""
    if row.entry_number is None and obs.entry_number is not None:
        row.entry_number = obs.entry_number
        row.identity = f"n:{obs.entry_number}"
    if len(obs.description) > len(row.description):
        row.description = obs.description
    if len(obs.short_description) > len(row.short_description):
        row.short_description = obs.short_description
    for name in ("document_url", "pacer_doc_id"):
        if getattr(obs, name) and not getattr(row, name):
            setattr(row, name, getattr(obs, name))
    if obs.pacer_seq_no is not None and row.pacer_seq_no is None:
        row.pacer_seq_no = obs.pacer_seq_no
    if row.date_filed is None and obs.date_filed is not None:
        row.date_filed = obs.date_filed
    if source_id not in row.sources:
        row.sources = [*row.sources, source_id]
    _index_keys(row)


def _norm_name(name: str) -> str:
    return " ".join(name.lower().split())


def _same_name(a: str, b: str) -> bool:
    a, b = _norm_name(a), _norm_name(b)
    return a == b or a.startswith(b) or b.startswith(a)


def _better_name(old: str, new: str) -> bool:
    """Fill an empty name, or complete one RSS truncated; keep the first spelling otherwise."""
    if not old:
        return True
    return _same_name(old, new) and len(new.strip()) > len(old.strip())


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _digest(parts: Iterable[Any]) -> str:
    return hashlib.sha256(repr(list(parts)).encode()).hexdigest()[:16]


def _case_data(case: Case) -> dict[str, Any]:
    return {
        "court": case.court,
        "docket_number": case.docket_number,
        "case_name": case.case_name,
        "tags": list(case.tags),
        "pacer_case_id": case.pacer_case_id,
        "cl_docket_id": case.cl_docket_id,
        "cause": case.cause,
        "nature_of_suit": case.nature_of_suit,
        "date_filed": case.date_filed.isoformat() if case.date_filed else None,
    }


def _entry_data(row: Entry) -> dict[str, Any]:
    return {
        "entry_number": row.entry_number,
        "date_filed": row.date_filed.isoformat() if row.date_filed else None,
        "description": row.description or row.short_description,
        "short_description": row.short_description,
        "document_url": row.document_url,
        "entry_id": row.id,
    }
