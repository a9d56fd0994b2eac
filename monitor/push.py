"""Pushed news (webhooks) as the core keeps it: whether push is possible, when each case last
got a push, which tracked dockets are pushed or polled, and a push channel gone quiet.

- `push_reachable(server)`: the endpoint is served at a public URL with a secret webhook path,
  so a source that `accepts_push` may subscribe (`sources.base.Runtime.push`).
- `note_push(...)`: after a pushed payload is stored, each case it named gets `last_push`; a
  channel reported silent is reported recovered (`source.recovered`).
- `check_silence(...)`: after a poll round, when polling found recent filings on pushed
  dockets that no push brought, and no push came for `SILENCE`, one `source.failing` event on
  the source's ``webhook`` target (reported once, until a push arrives again).
- `push_status(...)`: the `push` object of a source in `status --json`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from monitor.config import ServerConfig, SourceConfig
from monitor.db import read_session, write_session
from monitor.events import EventListener, emit
from monitor.models import Case, Entry, SourceState, WebhookReceipt
from monitor.views import iso_z
from sources import source_class
from sources.base import CaseObservation, Observation

__all__ = [
    "SILENCE",
    "WEBHOOK_TARGET",
    "check_silence",
    "note_push",
    "push_reachable",
    "push_status",
    "pushed_dockets",
]

#: no push for this long, while polling found what a push should have brought: silent
SILENCE = timedelta(days=1)
#: a filing polling found is only counted as missed by push once this old
GRACE = timedelta(hours=1)
#: the state row (and event subject) of a source's push channel
WEBHOOK_TARGET = "webhook"


def push_reachable(server: ServerConfig) -> bool:
    """The webhook endpoint is served, has a secret path and a public URL."""
    path_set = bool(server.webhook_path_env or server.webhook_path_file)
    return server.enabled and bool(server.public_url.strip()) and path_set


def pushed_dockets(engine: Engine, src: SourceConfig) -> frozenset[int]:
    """The docket ids the source keeps a push subscription for (its kept memory, read by its
    class: `Source.push_subscriptions`)."""
    with read_session(engine) as session:
        kept = dict(session.exec(
            select(SourceState.target, SourceState.cursor).where(
                SourceState.source_id == src.id, SourceState.cursor != "")).all())
    return source_class(src.kind).push_subscriptions(kept)


def note_push(engine: Engine, listeners: Sequence[EventListener],
              observations: Iterable[Observation], *, source_id: str, now: datetime) -> None:
    """Each case a stored push named gets `last_push = now`; a silent channel recovers."""
    ids = {o.cl_docket_id for o in observations
           if isinstance(o, CaseObservation) and o.cl_docket_id is not None}
    with write_session(engine) as session:
        if ids:
            for case in session.exec(select(Case).where(col(Case.cl_docket_id).in_(ids))):
                case.last_push = now
                session.add(case)
        row = _webhook_row(session, source_id)
        if row is not None and row.failing:
            row.failing, row.consecutive_failures, row.last_error = False, 0, ""
            row.last_success = now
            session.add(row)
            emit(session, listeners, kind="source.recovered", at=now,
                 subject=f"source:{source_id}/{WEBHOOK_TARGET}",
                 summary=f"{source_id}: pushed news (webhooks) arrives again",
                 dedupe_key=f"source.recovered:{source_id}:{WEBHOOK_TARGET}:{now.isoformat()}",
                 data={"source": source_id, "target": WEBHOOK_TARGET}, source_id=source_id)


def check_silence(engine: Engine, listeners: Sequence[EventListener], *, source_id: str,
                  pushed: frozenset[int], now: datetime) -> bool:
    """Report once (`source.failing` on the ``webhook`` target) a push channel gone quiet:
    no push for `SILENCE` while polling found recent filings on pushed dockets that no push
    brought. Returns whether it is silent now."""
    if not pushed:
        return False
    with read_session(engine) as session:  # most rounds end here, writing nothing
        last = _last_receipt(session, source_id)
        if last is not None and now - last < SILENCE:
            return False
        if not _missed_filings(session, pushed, now):
            return False
        known = _webhook_row(session, source_id)
        if known is not None and known.failing:
            return True
    with write_session(engine) as session:
        missed = _missed_filings(session, pushed, now)
        row = _webhook_row(session, source_id) or SourceState(
            source_id=source_id, target=WEBHOOK_TARGET, kind="")
        if row.failing:
            return True
        row.failing, row.last_poll = True, now
        row.consecutive_failures += 1
        since = iso_z(last) if last is not None else "never"
        row.last_error = (f"no webhook since {since}, though polling found {missed} filings "
                          "on dockets with alerts")
        session.add(row)
        emit(session, listeners, kind="source.failing", at=now,
             subject=f"source:{source_id}/{WEBHOOK_TARGET}",
             summary=f"{source_id}: pushed news stopped arriving ({row.last_error}); check the "
                     "webhook on the CourtListener website (court-monitor doctor courtlistener)",
             dedupe_key=f"source.failing:{source_id}:{WEBHOOK_TARGET}:{now.isoformat()}",
             data={"source": source_id, "target": WEBHOOK_TARGET, "error": row.last_error,
                   "missed": missed}, source_id=source_id)
        return True


def push_status(engine: Engine, src: SourceConfig, server: ServerConfig) -> dict[str, Any]:
    """`{enabled, last_push, silent, dockets: [{court, docket_number, mode, last_push}]}`:
    each tracked docket is "push" when its alert is live and push is enabled, else "poll"."""
    enabled = push_reachable(server) and bool(src.secrets.get("token"))
    pushed = pushed_dockets(engine, src) if enabled else frozenset()
    with read_session(engine) as session:
        rows = session.exec(select(Case).where(col(Case.tracked).is_(True))
                            .order_by(col(Case.court), col(Case.docket_number))).all()
        last = _last_receipt(session, src.id)
        webhook = _webhook_row(session, src.id)
    dockets = [{"court": c.court, "docket_number": c.docket_number,
                "mode": "push" if c.cl_docket_id in pushed else "poll",
                "last_push": iso_z(c.last_push)} for c in rows]
    return {"enabled": enabled, "last_push": iso_z(last),
            "silent": bool(webhook is not None and webhook.failing), "dockets": dockets}


def _webhook_row(session: Session, source_id: str) -> SourceState | None:
    return session.exec(select(SourceState).where(
        SourceState.source_id == source_id, SourceState.target == WEBHOOK_TARGET)).first()


def _last_receipt(session: Session, source_id: str) -> datetime | None:
    last = session.exec(select(func.max(WebhookReceipt.received_at)).where(
        WebhookReceipt.source_id == source_id)).first()
    return _aware(last) if isinstance(last, datetime) else None


def _missed_filings(session: Session, pushed: frozenset[int], now: datetime) -> int:
    """Recent filings (filed in the last days) first seen on pushed dockets, at least `GRACE`
    ago, after the case's last push: what a live alert should have pushed."""
    rows = session.exec(
        select(col(Entry.first_seen), col(Entry.date_filed), col(Case.last_push))
        .join(Case, col(Case.id) == col(Entry.case_id))
        .where(col(Case.cl_docket_id).in_(pushed), col(Case.tracked).is_(True),
               col(Entry.first_seen) > now - 2 * SILENCE,
               col(Entry.first_seen) <= now - GRACE)).all()
    recent = (now - 3 * SILENCE).date()
    return sum(1 for first_seen, filed, pushed_at in rows
               if filed is not None and filed >= recent
               and (pushed_at is None or _aware(pushed_at) < _aware(first_seen)))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
