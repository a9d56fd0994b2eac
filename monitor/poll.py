"""One polling round of one source: plan -> fetch -> parse -> store, with failures as data.

State is kept per (source id, target), so one dead court never fails the others. A target that
fails `fail_after` times in a row raises one `source.failing` event; its next success raises one
`source.recovered`. Nothing seen is ever deleted because a fetch failed. The ETag/Last-Modified
of a target, and what the source asked to keep across processes (`Fetched.keep`, handed back
as `Plan.cursors`, in `SourceState.cursor`), are saved only after its observations are stored, so
a crash re-fetches.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from monitor.config import Config, SourceConfig
from monitor.db import read_session, write_session
from monitor.errors import DeferredError, FetchError, MonitorError, SourceError
from monitor.events import emit
from monitor.fetch_pool import FETCH_WORKERS, HostLimiter, Outcome, fetch_in_order
from monitor.matters import sync_config_matters
from monitor.models import Case, Deadline
from monitor.parse_pool import (
    POOL_MIN_RESPONSES,
    Parsed,
    ParsePool,
    PooledRound,
    court_of,
    default_processes,
)
from monitor.push import check_silence, push_reachable
from monitor.quota import quota_for_source
from monitor.store import Store
from monitor.target_states import StateRow, read_states, snapshot, write_states
from sources import source_class
from sources.base import (
    CaseObservation,
    Clock,
    Fetched,
    Observation,
    Plan,
    Runtime,
    Source,
    Target,
    TargetState,
    TrackedCase,
)

__all__ = ["PollReport", "Runner", "source_runtime"]

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    """What one round of one source did."""

    source_id: str
    targets: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged: int = 0
    deferred: int = 0
    failed: int = 0
    observations: int = 0
    events: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    would_track: list[str] = field(default_factory=list)
    round_deferred: bool = False

    def line(self) -> str:
        """The one log line per poll."""
        return (
            f"poll {self.source_id}: {self.targets} targets, {self.fetched} fetched, "
            f"{self.not_modified} not modified, {self.unchanged} unchanged, "
            f"{self.failed} failed, {self.deferred} deferred, {self.observations} observations, "
            f"{len(self.events)} events"
        )


class Runner:
    """Builds the configured sources and runs their rounds."""

    def __init__(self, config: Config, engine: Engine, store: Store, client: httpx.Client,
                 clock: Clock, *, stop: threading.Event | None = None) -> None:
        self.config = config
        self.engine = engine
        self.store = store
        self.client = client
        self.clock = clock
        #: set when the process is stopping: no further target is fetched this round
        self.stop = stop or threading.Event()
        self.sources: dict[str, Source] = {}
        self._matters_synced = False
        #: one semaphore per host, shared by every source of this process
        self.limiter = HostLimiter(config.http.per_host_connections)
        processes = config.poll.parse_processes
        #: worker processes parsing big rounds of pure-parsing sources (started on first use)
        self.parse_pool = ParsePool(default_processes() if processes is None else processes,
                                    config.watches)
        for src in config.sources:
            if src.enabled:
                self.sources[src.id] = self._build(src)

    def close(self) -> None:
        """Stop the parse processes, if any were started."""
        self.parse_pool.close()

    def _build(self, src: SourceConfig) -> Source:
        cls = source_class(src.kind)
        return cls(src.id, src.options, self.client, self.clock,
                   runtime=source_runtime(src, self.engine, self.clock,
                                          push=push_reachable(self.config.server)))

    def plan(self, source_id: str, now: datetime,
             rows: Sequence[StateRow] | None = None) -> Plan:
        """What the core tells a source: tracked cases with their nearest deadline (only to a
        source that reads them), when each target last succeeded, and what the source asked to
        keep (`Plan.cursors`). `rows`: the source's state rows when already read."""
        source = self.sources.get(source_id)
        with read_session(self.engine) as session:
            tracked = _tracked_cases(session) if source is None or source.reads_tracked else ()
            if rows is None:
                rows = list(read_states(session.connection(), source_id).values())
        whole = next((r for r in rows if r.target == ""), None)
        fetched_at = {r.target: r.last_success for r in rows
                      if r.target and r.last_success is not None}
        cursors = {r.target: r.cursor for r in rows if r.target and r.cursor}
        return Plan(now=now, tracked=tracked, last_run=whole.last_success if whole else None,
                    fetched_at=fetched_at, cursors=cursors)

    def poll(self, source_id: str, *, dry_run: bool = False) -> PollReport:
        """One round of one source. Never raises for a source's own failure.

        The round's fetches run in parallel (when the source allows it) within the per-host
        limit; a source whose parse is pure is parsed on the fetch threads, or for a big round
        by the parse processes (`monitor.parse_pool`); the results are stored in target order,
        each fetch's observations in one transaction; what the round learnt about its targets
        (ETags, failures, cursors) is written at the end in one bookkeeping transaction.
        """
        source = self.sources[source_id]
        src_cfg = self.config.source(source_id)
        now = self.clock()
        report = PollReport(source_id)
        if not dry_run:
            self._sync_matters(now)
        with read_session(self.engine) as session:
            states = read_states(session.connection(), source_id)
        rows = list(states.values())
        try:
            targets = source.targets(self.plan(source_id, now, rows))
        except MonitorError as exc:
            report.errors.append(str(exc))
            targets = []
        report.targets = len(targets)
        round_failed = bool(report.errors)
        due = []
        for target in targets:
            state = states.get(target.key)
            if state is not None and state.retry_not_before and state.retry_not_before > now:
                report.deferred += 1
            else:
                due.append(target)
        pooled = self._pooled(source, due, dry_run)
        with self.parse_pool.lease() if pooled else nullcontext():
            self._run_round(source, src_cfg, now, due, states, report, dry_run, pooled,
                            round_failed)
        log.info(report.line())
        return report

    def _run_round(self, source: Source, src_cfg: SourceConfig, now: datetime,
                   due: Sequence[Target], states: Mapping[str, StateRow], report: PollReport,
                   dry_run: bool, pooled: PooledRound | None, round_failed: bool) -> None:
        """Fetch, parse and store the due targets, then write the round's bookkeeping."""
        book: list[_Booked] = []
        outcomes = fetch_in_order(
            due, lambda t: self._fetch(source, t, states), url=_target_url,
            limiter=self.limiter, workers=FETCH_WORKERS if source.parallel_fetch else 1,
            after=lambda t, r: _prepare(source, r, _previous(states.get(t.key)), dry_run,
                                        pooled.parser(source, t) if pooled else None),
            # a thread waiting on each parse process's answer holds no host slot
            after_busy=self.parse_pool.processes if pooled else 0)
        own: set[int] = set()
        try:
            for outcome in outcomes:
                if self.stop.is_set():
                    report.round_deferred = True
                elif not self._take(source, src_cfg, outcome, states, report, dry_run, book,
                                    own, pooled):
                    round_failed = True
                if report.round_deferred:
                    report.deferred += report.targets - report.fetched - report.failed \
                        - report.not_modified - report.deferred
                    break
        finally:
            outcomes.close()
        if pooled is not None:
            # What the screen dropped of a case another process stored meanwhile is parsed
            # again by the next round: those courts' content hashes are forgotten.
            gained = pooled.gained_elsewhere(self.engine, own)
            book = [replace(b, state=TargetState())
                    if b.error is None and court_of(b.target) in gained else b for b in book]
        if not dry_run:
            self._finish_round(src_cfg, now, round_failed, report, book)
            self._check_push(source, src_cfg, now, report)

    def _pooled(self, source: Source, due: Sequence[Target], dry_run: bool
                ) -> PooledRound | None:
        """A round whose responses the parse processes take (`monitor.parse_pool`), with the
        docket keys stored for its courts; None to parse them in this process."""
        if dry_run or not source.parse_in_fetch or not self.parse_pool.enabled \
                or len(due) < POOL_MIN_RESPONSES:
            return None
        pooled = PooledRound.begin(self.parse_pool, self.engine, due)
        self.parse_pool.warm()  # before this round's fetch threads
        return pooled

    def _check_push(self, source: Source, src_cfg: SourceConfig, now: datetime,
                    report: PollReport) -> None:
        """A source that is pushed to: is its push channel silent (reported once)?"""
        if not (source.accepts_push and source.runtime.push):
            return
        with read_session(self.engine) as session:
            kept = {key: r.cursor for key, r in read_states(session.connection(),
                                                            src_cfg.id).items() if r.cursor}
        if check_silence(self.engine, self.store.listeners, source_id=src_cfg.id,
                         pushed=source.push_subscriptions(kept), now=now):
            log.warning("%s: pushed news (webhooks) silent; see `status`", src_cfg.id)

    def _sync_matters(self, now: datetime) -> None:
        """The config's matters exist before the first round, so a status page bound to one
        is never dropped as "unknown matter" (once per process)."""
        if self._matters_synced:
            return
        sync_config_matters(self.engine, self.config, now=now, listeners=self.store.listeners)
        self._matters_synced = True

    def _fetch(self, source: Source, target: Target,
               states: Mapping[str, StateRow]) -> _Response:
        """One target's fetch, unless the process is stopping (then the round is deferred)."""
        if self.stop.is_set():
            raise DeferredError("stopping: the rest of the round waits for the next start",
                                source=source.source_id, url=target.url)
        return _Response(source.fetch(target, _previous(states.get(target.key))))

    def _take(self, source: Source, src_cfg: SourceConfig, outcome: Outcome[Target, _Response],
              states: Mapping[str, StateRow], report: PollReport, dry_run: bool,
              book: list[_Booked], own: set[int], pooled: PooledRound | None = None) -> bool:
        """Parse and store one fetch's outcome; note what to remember of its target (and in
        `own`, the ids of the cases it discovered). `pooled`: the round's docket keys."""
        now = self.clock()
        target = outcome.item
        previous = _previous(states.get(target.key))
        try:
            if outcome.error is not None:
                raise outcome.error
            response = outcome.value
            assert response is not None
            fetched = response.fetched
            if fetched.not_modified:
                report.not_modified += 1
                if not dry_run:
                    book.append(_Booked(target, now, previous, fetched.keep))
                return True
            report.fetched += 1
            digest = response.digest or _digest(fetched)
            if _unchanged(source, digest, previous, dry_run):
                report.unchanged += 1
                book.append(_Booked(target, now, previous, fetched.keep))
                return True
            if response.parse_error is not None:
                raise response.parse_error
            observations = response.observations
            if observations is None:
                observations = source.parse(fetched)
            parsed = len(observations) if response.parsed is None else response.parsed
        except DeferredError as exc:
            # The request budget is spent: the rest waits for the next round. Not a failure.
            log.info("%s: %s", src_cfg.id, exc.detail)
            report.round_deferred = True
            return True
        except SourceError as exc:
            report.failed += 1
            report.errors.append(str(exc))
            log.warning("%s", exc)
            if not dry_run:
                book.append(_Booked(target, now, error=exc))
            return False
        report.observations += parsed
        if dry_run:
            self._dry_run(observations, report)
            return True
        result = self.store.apply(observations, source_id=src_cfg.id, now=now,
                                  stored=pooled.stored_of(target) if pooled else None)
        report.events += [e.kind for e in result.events]
        own.update(e.case_id for e in result.events
                   if e.kind == "case.discovered" and e.case_id is not None)
        new_state = TargetState(
            etag=fetched.headers.get("etag", "") or fetched.headers.get("ETag", ""),
            last_modified=fetched.headers.get("last-modified", ""),
            content_hash=digest,
        )
        if result.held:
            # Held until the same content comes again: the next fetch must read it in full,
            # not stop at 304 or "unchanged" (that would hold it forever).
            new_state = TargetState()
        # What the source keeps across processes is saved only now that the fetch is stored.
        book.append(_Booked(target, now, new_state, fetched.keep))
        return True

    def _dry_run(self, observations: list[Observation], report: PollReport) -> None:
        for obs in observations:
            if isinstance(obs, CaseObservation) and self.store.matcher.match(obs):
                report.would_track.append(f"{obs.court}:{obs.docket_number} {obs.case_name}")

    def _finish_round(self, src_cfg: SourceConfig, now: datetime, failed: bool,
                      report: PollReport, book: Sequence[_Booked]) -> None:
        """The round's bookkeeping, every target's and the source's, in one transaction."""
        with write_session(self.engine) as session:
            connection = session.connection()
            rows = read_states(connection, src_cfg.id)
            before = {r.id: snapshot(r) for r in rows.values() if r.id is not None}
            for booked in book:
                if booked.error is None:
                    self._target_ok(session, rows, src_cfg, booked, report)
                else:
                    self._target_failed(session, rows, src_cfg, booked, booked.error, report)
            row = _row(rows, src_cfg, "")
            row.last_poll = now
            row.failing = any(r.failing for key, r in rows.items() if key)
            if failed:
                row.consecutive_failures += 1
                row.last_error = report.errors[-1][:500] if report.errors else row.last_error
            else:
                row.consecutive_failures = 0
                row.last_success = now
                row.last_error = ""
            write_states(connection, rows.values(), before)

    def _target_ok(self, session: Session, rows: dict[str, StateRow], src_cfg: SourceConfig,
                   booked: _Booked, report: PollReport) -> None:
        target, state, now = booked.target, booked.state, booked.at
        _save_cursors(rows, src_cfg, booked.keep)
        row = _row(rows, src_cfg, target.key)
        was_failing = row.failing
        if (row.etag, row.last_modified, row.content_hash) != (
                state.etag, state.last_modified, state.content_hash):
            row.etag, row.last_modified = state.etag, state.last_modified
            row.content_hash = state.content_hash
        row.last_poll = row.last_success = now
        row.consecutive_failures, row.failing, row.retry_not_before = 0, False, None
        row.last_error = ""
        if was_failing:
            event = emit(
                session, self.store.listeners, kind="source.recovered", at=now,
                subject=f"source:{src_cfg.id}/{target.key}",
                summary=f"{src_cfg.id} ({target.key}) works again",
                dedupe_key=f"source.recovered:{src_cfg.id}:{target.key}:{now.isoformat()}",
                data={"source": src_cfg.id, "target": target.key, "url": target.url},
                source_id=src_cfg.id,
            )
            if event is not None:
                report.events.append(event.kind)

    def _target_failed(self, session: Session, rows: dict[str, StateRow],
                       src_cfg: SourceConfig, booked: _Booked, exc: SourceError,
                       report: PollReport) -> None:
        target, now = booked.target, booked.at
        row = _row(rows, src_cfg, target.key)
        row.last_poll = now
        row.consecutive_failures += 1
        row.last_error = str(exc)[:500]
        if isinstance(exc, FetchError) and exc.retry_after:
            row.retry_not_before = now + timedelta(seconds=exc.retry_after)
        if row.consecutive_failures >= src_cfg.fail_after and not row.failing:
            row.failing = True
            event = emit(
                session, self.store.listeners, kind="source.failing", at=now,
                subject=f"source:{src_cfg.id}/{target.key}",
                summary=f"{src_cfg.id} ({target.key}) failed {row.consecutive_failures} "
                f"times in a row: {exc.detail}",
                dedupe_key=f"source.failing:{src_cfg.id}:{target.key}:{now.isoformat()}",
                data={"source": src_cfg.id, "target": target.key, "url": target.url,
                      "error": exc.detail, "failures": row.consecutive_failures},
                source_id=src_cfg.id,
            )
            if event is not None:
                report.events.append(event.kind)


@dataclass(frozen=True)
class _Response:
    """One target's fetch, with what was worked out from it on the fetch thread (`_prepare`):
    its digest, and its observations (or the parse's error) for a source that `parse_in_fetch`."""

    fetched: Fetched
    digest: str = ""
    observations: list[Observation] | None = None
    parse_error: MonitorError | None = None
    #: how many observations the parse gave, when `observations` holds only the screened ones
    parsed: int | None = None


def _digest(fetched: Fetched) -> str:
    return hashlib.sha256(fetched.content).hexdigest()


def _unchanged(source: Source, digest: str, previous: TargetState, dry_run: bool) -> bool:
    """Skip the parse: the bytes are the last ones stored (never in a dry run)."""
    return digest == previous.content_hash and not dry_run and source.skip_unchanged


def _prepare(source: Source, response: _Response, previous: TargetState, dry_run: bool,
             parser: Callable[[Fetched], Parsed] | None = None) -> _Response:
    """On the fetch thread, once the host's slot is free: the response's digest and, for a
    source whose `parse` is pure (`Source.parse_in_fetch`) and bytes that changed, its parse
    (by `parser`, a parse process, when the round has one), so the storing thread finds it
    done. Stored in target order all the same."""
    fetched = response.fetched
    if fetched.not_modified:
        return response
    digest = _digest(fetched)
    if not source.parse_in_fetch or _unchanged(source, digest, previous, dry_run):
        return _Response(fetched, digest)
    try:
        if parser is not None:
            parsed = parser(fetched)
            return _Response(fetched, digest, observations=parsed.observations,
                             parsed=parsed.parsed)
        return _Response(fetched, digest, observations=source.parse(fetched))
    except MonitorError as exc:  # raised where the main thread would have met it (`_take`)
        return _Response(fetched, digest, parse_error=exc)


@dataclass(frozen=True)
class _Booked:
    """What a round learnt about one target, written in the round's bookkeeping transaction."""

    target: Target
    at: datetime
    state: TargetState = TargetState()
    keep: Mapping[str, str] = field(default_factory=dict)
    error: SourceError | None = None


def _target_url(target: Target) -> str:
    return target.url


def _previous(row: StateRow | None) -> TargetState:
    """What was remembered of a target (empty when never fetched)."""
    if row is None:
        return TargetState()
    return TargetState(etag=row.etag, last_modified=row.last_modified,
                       content_hash=row.content_hash)


def _tracked_cases(session: Session) -> tuple[TrackedCase, ...]:
    """The tracked cases with their nearest open deadline, read as plain columns."""
    due = dict(
        session.exec(
            select(col(Deadline.case_id), func.min(Deadline.due_date))
            .where(Deadline.state == "open", col(Deadline.case_id).is_not(None))
            .group_by(col(Deadline.case_id))
        ).all()
    )
    rows = session.connection().execute(
        sa_select(col(Case.id), col(Case.court), col(Case.docket_number), col(Case.cl_docket_id),
                  col(Case.last_activity), col(Case.cl_last_synced), col(Case.cl_date_modified),
                  col(Case.last_push))
        .where(col(Case.tracked).is_(True))
    ).all()
    return tuple(
        TrackedCase(court=court, docket_number=number, cl_docket_id=cl_id,
                    next_due=due.get(case_id), last_activity=activity,
                    last_synced=synced, last_modified_seen=modified, last_push=pushed)
        for case_id, court, number, cl_id, activity, synced, modified, pushed in rows
    )


def _row(rows: dict[str, StateRow], src_cfg: SourceConfig, key: str) -> StateRow:
    """The state row of a target ("" is the source as a whole), created when missing."""
    row = rows.get(key)
    if row is None:
        row = rows[key] = StateRow(source_id=src_cfg.id, target=key, kind=src_cfg.kind)
    return row


def _save_cursors(rows: dict[str, StateRow], src_cfg: SourceConfig,
                  keep: Mapping[str, str]) -> None:
    """Keep what a source asked to keep (`Fetched.keep`), by target key; "" forgets a key."""
    for key, text in keep.items():
        if not key:
            continue  # "" is the source as a whole, not a target
        if key not in rows and not text:
            continue
        _row(rows, src_cfg, key).cursor = text


def source_runtime(src: SourceConfig, engine: Engine, clock: Clock, *,
                   push: bool = False) -> Runtime:
    """The `runtime` a source is constructed with: its resolved secrets, a gate on the
    shared request budget when its kind declares one (`Source.request_budget`), and whether
    the webhook endpoint is reachable (`push`, for a source that `accepts_push`)."""
    quota = quota_for_source(engine, src)
    gate = quota.gate(clock) if quota is not None else None
    pushable = push and source_class(src.kind).accepts_push
    return Runtime(secrets=dict(src.secrets), gate=gate, push=pushable)
