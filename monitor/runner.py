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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from monitor.config import Config, SourceConfig
from monitor.db import read_session, write_session
from monitor.errors import DeferredError, FetchError, MonitorError, SourceError
from monitor.models import Case, Deadline, SourceState
from monitor.store import ApplyResult, Store, emit
from sources import source_class
from sources.base import Clock, Observation, Plan, Source, Target, TargetState, TrackedCase

__all__ = ["PollReport", "Runner"]

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
        #: set when the process is stopping: no further target is fetched this round
        self.stop = stop or threading.Event()
        self.engine = engine
        self.store = store
        self.client = client
        self.clock = clock
        self.sources: dict[str, Source] = {}
        self._matters_synced = False
        for src in config.sources:
            if src.enabled:
                self.sources[src.id] = self._build(src)

    def _build(self, src: SourceConfig) -> Source:
        from monitor.wiring import source_runtime

        cls = source_class(src.kind)
        extra = source_runtime(src, self.engine, self.clock)
        return cls(src.id, src.options, self.client, self.clock, **extra)

    def poll_all(self, *, dry_run: bool = False) -> list[PollReport]:
        """One round of every enabled source (for `poll --once`)."""
        return [self.poll(source_id, dry_run=dry_run) for source_id in self.sources]

    def plan(self, source_id: str, now: datetime) -> Plan:
        """What the core tells a source: tracked cases with their nearest deadline, when each
        target last succeeded, and what the source asked to keep (`Plan.cursors`)."""
        with read_session(self.engine) as session:
            due = dict(
                session.exec(
                    select(col(Deadline.case_id), func.min(Deadline.due_date))
                    .where(Deadline.state == "open", col(Deadline.case_id).is_not(None))
                    .group_by(col(Deadline.case_id))
                ).all()
            )
            cases = session.exec(select(Case).where(Case.tracked == True)).all()  # noqa: E712
            tracked = tuple(
                TrackedCase(
                    court=c.court, docket_number=c.docket_number, cl_docket_id=c.cl_docket_id,
                    next_due=due.get(c.id), last_activity=c.last_activity,
                    last_synced=c.cl_last_synced, last_modified_seen=c.cl_date_modified,
                )
                for c in cases
            )
            rows = session.exec(
                select(SourceState).where(SourceState.source_id == source_id)).all()
        whole = next((r for r in rows if r.target == ""), None)
        fetched_at = {r.target: r.last_success for r in rows
                      if r.target and r.last_success is not None}
        cursors = {r.target: r.cursor for r in rows if r.target and r.cursor}
        return Plan(now=now, tracked=tracked, last_run=whole.last_success if whole else None,
                    fetched_at=fetched_at, cursors=cursors)

    def poll(self, source_id: str, *, dry_run: bool = False) -> PollReport:
        """One round of one source. Never raises for a source's own failure."""
        source = self.sources[source_id]
        src_cfg = self.config.source(source_id)
        now = self.clock()
        report = PollReport(source_id)
        if not dry_run:
            self._sync_matters(now)
        try:
            targets = source.targets(self.plan(source_id, now))
        except MonitorError as exc:
            report.errors.append(str(exc))
            targets = []
        report.targets = len(targets)
        round_failed = bool(report.errors)
        for target in targets:
            if self.stop.is_set():
                report.round_deferred = True
            elif not self._poll_target(source, src_cfg, target, report, dry_run):
                round_failed = True
            if report.round_deferred:
                report.deferred += report.targets - report.fetched - report.failed \
                    - report.not_modified - report.deferred
                break
        if not dry_run:
            self._finish_round(source_id, src_cfg.kind, now, round_failed, report)
        log.info(report.line())
        return report

    def _sync_matters(self, now: datetime) -> None:
        """The config's matters exist before the first round, so a status page bound to one
        is never dropped as "unknown matter" (once per process)."""
        if self._matters_synced:
            return
        from monitor.matters import sync_config_matters

        sync_config_matters(self.engine, self.config, now=now, listeners=self.store.listeners)
        self._matters_synced = True

    def _poll_target(self, source: Source, src_cfg: SourceConfig, target: Target,
                     report: PollReport, dry_run: bool) -> bool:
        now = self.clock()
        state = self._target_state(src_cfg.id, target.key)
        if state is not None and state.retry_not_before and state.retry_not_before > now:
            report.deferred += 1
            return True
        previous = TargetState(
            etag=state.etag if state else "",
            last_modified=state.last_modified if state else "",
            content_hash=state.content_hash if state else "",
        )
        try:
            fetched = source.fetch(target, previous)
            if fetched.not_modified:
                report.not_modified += 1
                if not dry_run:
                    self._target_ok(src_cfg, target, previous, now, report, fetched.keep)
                return True
            report.fetched += 1
            digest = hashlib.sha256(fetched.content).hexdigest()
            if digest == previous.content_hash and not dry_run and source.skip_unchanged:
                report.unchanged += 1
                self._target_ok(src_cfg, target, previous, now, report, fetched.keep)
                return True
            observations = source.parse(fetched)
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
                self._target_failed(src_cfg, target, exc, now, report)
            return False
        report.observations += len(observations)
        if dry_run:
            self._dry_run(observations, report)
            return True
        result = self.store.apply(observations, source_id=src_cfg.id, now=now)
        report.events += [e.kind for e in result.events]
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
        self._target_ok(src_cfg, target, new_state, now, report, fetched.keep)
        return True

    def _dry_run(self, observations: list[Observation], report: PollReport) -> None:
        from sources.base import CaseObservation

        for obs in observations:
            if isinstance(obs, CaseObservation) and self.store.matcher.match(obs):
                report.would_track.append(f"{obs.court}:{obs.docket_number} {obs.case_name}")

    def _target_state(self, source_id: str, key: str) -> SourceState | None:
        with read_session(self.engine) as session:
            return _state_row(session, source_id, key)

    def _target_ok(self, src_cfg: SourceConfig, target: Target, state: TargetState,
                   now: datetime, report: PollReport, keep: Mapping[str, str]) -> None:
        with write_session(self.engine) as session:
            _save_cursors(session, src_cfg, keep)
            row = _state_row(session, src_cfg.id, target.key) or SourceState(
                source_id=src_cfg.id, target=target.key, kind=src_cfg.kind
            )
            was_failing = row.failing
            row.etag, row.last_modified = state.etag, state.last_modified
            row.content_hash = state.content_hash
            row.last_poll = row.last_success = now
            row.consecutive_failures, row.failing, row.retry_not_before = 0, False, None
            row.last_error = ""
            session.add(row)
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

    def _target_failed(self, src_cfg: SourceConfig, target: Target, exc: SourceError,
                       now: datetime, report: PollReport) -> None:
        with write_session(self.engine) as session:
            row = _state_row(session, src_cfg.id, target.key) or SourceState(
                source_id=src_cfg.id, target=target.key, kind=src_cfg.kind
            )
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
            session.add(row)

    def _finish_round(self, source_id: str, kind: str, now: datetime, failed: bool,
                      report: PollReport) -> None:
        with write_session(self.engine) as session:
            row = _state_row(session, source_id, "") or SourceState(
                source_id=source_id, target="", kind=kind
            )
            row.last_poll = now
            failing_targets = session.exec(
                select(func.count()).select_from(SourceState).where(
                    SourceState.source_id == source_id, SourceState.target != "",
                    SourceState.failing == True,  # noqa: E712
                )
            ).one()
            row.failing = failing_targets > 0
            if failed:
                row.consecutive_failures += 1
                row.last_error = report.errors[-1][:500] if report.errors else row.last_error
            else:
                row.consecutive_failures = 0
                row.last_success = now
                row.last_error = ""
            session.add(row)


def _save_cursors(session: Session, src_cfg: SourceConfig, keep: Mapping[str, str]) -> None:
    """Keep what a source asked to keep (`Fetched.keep`), by target key; "" forgets a key."""
    for key, text in keep.items():
        if not key:
            continue  # "" is the source as a whole, not a target
        row = _state_row(session, src_cfg.id, key)
        if row is None and not text:
            continue
        row = row or SourceState(source_id=src_cfg.id, target=key, kind=src_cfg.kind)
        if row.cursor != text:
            row.cursor = text
            session.add(row)
            session.flush()


def _state_row(session: Session, source_id: str, key: str) -> SourceState | None:
    return session.exec(
        select(SourceState).where(SourceState.source_id == source_id, SourceState.target == key)
    ).first()


def summarize(results: list[ApplyResult]) -> dict[str, int]:
    """Count events by kind over several apply results."""
    counts: dict[str, int] = {}
    for result in results:
        for event in result.events:
            counts[event.kind] = counts.get(event.kind, 0) + 1
    return counts
