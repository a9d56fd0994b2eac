"""Lists watched row by row -> `ListedItem` rows and `item.*` events (in Store.apply).

The pure diff lives in `monitor.list_diff`; this module is the I/O around it. One fetched list:

- too short (fewer than `min_rows` rows, or a drop of more than `max_loss`): held, nothing
  applied. The operator hears of it once: one `source.failing` (data `quarantine: true`, the
  reasons) when the hold starts. When `confirm_absences` consecutive fetches show the same
  short list it is applied after all (a real shrink), with one `source.recovered`
  (`confirmed: true`); a normal list ends the hold the same way.
- otherwise applied: `item.added` per new row (the first fetch of a list is the baseline: its
  events carry `"baseline": true`), `item.changed` per changed row naming its fields,
  `item.removed` per row absent from `confirm_absences` consecutive complete fetches.

Every event carries the list's `tags` (its own and its watch's) and `watches`, so subscriptions
route them as they route a case's events, and the feeds file them under the list and its tags.
`apply_list` returns whether something is held (a short list, or an absence not yet confirmed):
the next fetch must then be read in full, never skipped as unchanged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from monitor.events import EventListener, emit
from monitor.list_diff import (
    FieldChange,
    KnownItem,
    diff_items,
    keys_digest,
    short_list_reasons,
)
from monitor.models import ListedItem, ListState
from monitor.views import iso_z
from sources.base import ListItem, ListSnapshot

__all__ = ["apply_list", "item_json", "list_items"]

log = logging.getLogger(__name__)


def apply_list(session: Session, listeners: Sequence[EventListener], obs: ListSnapshot, *,
               source_id: str, now: datetime, tags: Sequence[str]) -> bool:
    """Apply one fetched list (or hold it); True when something waits for a later fetch."""
    state = session.get(ListState, source_id)
    if state is None:
        state = ListState(source_id=source_id)
    baseline = state.applied_at is None
    state.url, state.title, state.watch, state.tags = obs.url, obs.title, obs.watch, list(tags)
    session.add(state)
    context = _Context(source_id, obs, now, list(tags), baseline)
    reasons = [] if baseline else short_list_reasons(state.total_rows, obs)
    if reasons and _hold(session, listeners, state, context, reasons):
        return True
    _end_hold(session, listeners, state, context, confirmed=bool(reasons))
    rows = {r.key: r for r in session.exec(
        select(ListedItem).where(ListedItem.source_id == source_id)).all()}
    known = {key: KnownItem(key, dict(r.fields or {}), r.absences, r.absent_since,
                            r.removed_at is not None) for key, r in rows.items()}
    diff = diff_items(known, obs, now=now)
    for item in diff.added:
        row = rows.get(item.key) or ListedItem(source_id=source_id, key=item.key,
                                                first_seen=now, last_seen=now)
        _write(row, item, now)
        row.removed_at = None
        session.add(row)
        _emit(session, listeners, "item.added", context, item, {})
    for item in diff.seen:
        _write(rows[item.key], item, now)
        session.add(rows[item.key])
    for item, changes in diff.changed:
        _emit(session, listeners, "item.changed", context, item, {"changes": changes})
    for absence in diff.absent:
        row = rows[absence.key]
        row.absences, row.absent_since = absence.absences, absence.since
        if absence.removed:
            row.removed_at = now
            _emit(session, listeners, "item.removed", context,
                  ListItem(row.key, dict(row.fields or {}), row.link),
                  {"absences": absence.absences, "absent_since": iso_z(absence.since)})
        session.add(row)
    state.applied_at, state.total_rows = now, obs.total_rows
    session.add(state)
    return diff.pending


def _write(row: ListedItem, item: ListItem, now: datetime) -> None:
    """The row as now listed (a field it did not have is added, never dropped)."""
    row.fields = {**(row.fields or {}), **item.fields}
    row.link = item.link or row.link
    row.last_seen, row.absences, row.absent_since = now, 0, None


# ---------------------------------------------------------------------------- holds


class _Context:
    """What every event of one applied list shares."""

    def __init__(self, source_id: str, obs: ListSnapshot, now: datetime, tags: list[str],
                 baseline: bool) -> None:
        self.source_id, self.obs, self.now, self.tags = source_id, obs, now, tags
        self.baseline = baseline
        self.label = obs.title or source_id


def _hold(session: Session, listeners: Sequence[EventListener], state: ListState,
          context: _Context, reasons: list[str]) -> bool:
    """Hold a short list; False once enough fetches showed the same list (then apply it)."""
    digest = keys_digest(context.obs.items)
    state.held_fetches = state.held_fetches + 1 if state.held_digest == digest else 1
    state.held_digest, state.held_reasons = digest, reasons
    if state.held_fetches >= context.obs.rules.confirm_absences:
        log.warning("%s: the short list came %d times in a row: applied", context.source_id,
                    state.held_fetches)
        return False
    session.add(state)
    if state.held_since is not None:
        log.info("%s: list still held: %s", context.source_id, "; ".join(reasons))
        return True
    state.held_since = context.now
    log.warning("%s: list held until a later fetch confirms it: %s", context.source_id,
                "; ".join(reasons))
    _source_event(session, listeners, "source.failing", context,
                  f"{context.label}: a short list held, nothing applied: {'; '.join(reasons)}",
                  {"reasons": reasons, "rows": context.obs.total_rows})
    return True


def _end_hold(session: Session, listeners: Sequence[EventListener], state: ListState,
              context: _Context, *, confirmed: bool) -> None:
    if state.held_since is None:
        return
    state.held_since, state.held_fetches, state.held_digest = None, 0, ""
    state.held_reasons = []
    session.add(state)
    how = "the short list confirmed and applied" if confirmed else "a normal list again"
    _source_event(session, listeners, "source.recovered", context, f"{context.label}: {how}",
                  {"confirmed": confirmed, "rows": context.obs.total_rows})


def _source_event(session: Session, listeners: Sequence[EventListener], kind: str,
                  context: _Context, summary: str, extra: dict[str, Any]) -> None:
    source_id, now = context.source_id, context.now
    emit(session, listeners, kind=kind, at=now, subject=f"source:{source_id}/list",
         summary=summary,
         dedupe_key=f"{kind}:{source_id}:list:quarantine:{now.isoformat()}",
         data={"source": source_id, "target": "list", "url": context.obs.url,
               "quarantine": True, **extra},
         source_id=source_id)


# ---------------------------------------------------------------------------- events


def _text(fields: Mapping[str, str]) -> str:
    """The words that name a row: its title, else its first non-empty field."""
    for name in ("title", "name", "case_name", "caption"):
        if fields.get(name):
            return fields[name]
    return next((v for v in fields.values() if v), "")


def _emit(session: Session, listeners: Sequence[EventListener], kind: str, context: _Context,
          item: ListItem, extra: dict[str, Any]) -> None:
    obs, now = context.obs, context.now
    changes: list[FieldChange] = extra.pop("changes", [])
    text = _text(item.fields)
    if kind == "item.added":
        summary = f"{context.label}: {text}"
    elif kind == "item.changed":
        summary = f"{context.label}: {text} ({', '.join(c.field for c in changes)} changed)"
    else:
        summary = f"{context.label}: {text} no longer listed"
    data: dict[str, Any] = {
        "list": context.source_id, "list_title": obs.title, "list_url": obs.url,
        "key": item.key, "fields": dict(item.fields), "url": item.link or obs.url,
        "link": item.link, "tags": context.tags, "watches": [obs.watch] if obs.watch else [],
        "baseline": context.baseline and kind == "item.added", **extra,
    }
    if changes:
        data["changes"] = {c.field: {"before": c.before, "after": c.after} for c in changes}
        data["changed"] = [c.field for c in changes]
    digest = hashlib.sha256(repr((kind, item.key, sorted(item.fields.items()))).encode()
                            ).hexdigest()[:12]
    emit(session, listeners, kind=kind, at=now, subject=f"list:{context.source_id}",
         summary=summary[:300],
         dedupe_key=f"{kind}:{context.source_id}:{digest}:{now.isoformat()}", data=data,
         source_id=context.source_id)


# ---------------------------------------------------------------------------- reading


def item_json(row: ListedItem) -> dict[str, Any]:
    """The `--json` shape of a stored row."""
    return {"list": row.source_id, "key": row.key, "link": row.link or None,
            "fields": dict(row.fields or {}), "first_seen": iso_z(row.first_seen),
            "last_seen": iso_z(row.last_seen), "absences": row.absences,
            "absent_since": iso_z(row.absent_since), "removed_at": iso_z(row.removed_at)}


def list_items(session: Session, source_id: str | None = None, *,
               removed: bool = False) -> list[dict[str, Any]]:
    """The stored rows (of one list), oldest first; removed ones only with `removed`."""
    query = select(ListedItem).order_by(col(ListedItem.source_id), col(ListedItem.id))
    if source_id:
        query = query.where(ListedItem.source_id == source_id)
    return [item_json(r) for r in session.exec(query).all()
            if removed or r.removed_at is None]
