"""The pure side of lists watched row by row: is a fetched list too short to apply, and what
changed against the rows known (`monitor.list_store` is the I/O around it).

- `short_list_reasons`: a list with fewer rows than `min_rows`, or that lost more than `max_loss`
  of the rows of the last applied fetch, is held (a truncated or half-rendered page must not
  fake removals).
- `diff_items`: new rows (and rows back after a confirmed removal) are added; a row whose fields
  differ is changed, naming the fields (a field the row did not have before is not a change);
  a row absent from `confirm_absences` consecutive complete fetches is removed, and only
  absent until then; an absent row that comes back before that is simply listed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sources.base import ListItem, ListRules, ListSnapshot

__all__ = ["FieldChange", "ItemDiff", "KnownItem", "diff_items", "keys_digest",
           "short_list_reasons"]


@dataclass(frozen=True)
class KnownItem:
    """A stored row, as the diff needs it."""

    key: str
    fields: Mapping[str, str]
    absences: int = 0
    absent_since: datetime | None = None
    removed: bool = False


@dataclass(frozen=True)
class FieldChange:
    """One field of a row that changed."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Absence:
    """A row missing from this fetch: how many fetches in a row, since when; `removed` once
    that is enough (`ListRules.confirm_absences`)."""

    key: str
    absences: int
    since: datetime
    removed: bool


@dataclass
class ItemDiff:
    """What one applied fetch changes."""

    added: list[ListItem] = field(default_factory=list)
    changed: list[tuple[ListItem, list[FieldChange]]] = field(default_factory=list)
    absent: list[Absence] = field(default_factory=list)
    #: rows seen again (listed as they are, absences reset), changed or not
    seen: list[ListItem] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """Some absence still waits for a later fetch to confirm it."""
        return any(not a.removed for a in self.absent)


def keys_digest(items: Iterable[ListItem]) -> str:
    """A digest of the rows' keys and fields (two fetches showing the same list match)."""
    rows = sorted((i.key, sorted(i.fields.items())) for i in items)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:20]


def short_list_reasons(previous_rows: int, obs: ListSnapshot) -> list[str]:
    """Why a fetched list looks too short to apply (empty: it does not)."""
    rules = obs.rules
    reasons = []
    if obs.total_rows < rules.min_rows:
        reasons.append(f"{obs.total_rows} rows, fewer than min_rows = {rules.min_rows}")
    if previous_rows and obs.total_rows < previous_rows * (1 - rules.max_loss):
        lost = previous_rows - obs.total_rows
        reasons.append(f"{lost} of {previous_rows} rows gone (more than max_loss = "
                       f"{rules.max_loss:g})")
    return reasons


def _changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[FieldChange]:
    return [FieldChange(name, before[name], value) for name, value in after.items()
            if name in before and before[name] != value]


def diff_items(known: Mapping[str, KnownItem], obs: ListSnapshot, *, now: datetime) -> ItemDiff:
    """The differences between the stored rows and a fetched (applicable) list."""
    diff = ItemDiff()
    listed = {item.key for item in obs.items}
    for item in obs.items:
        row = known.get(item.key)
        if row is None or row.removed:
            diff.added.append(item)
            continue
        diff.seen.append(item)
        changes = _changes(row.fields, item.fields)
        if changes:
            diff.changed.append((item, changes))
    if obs.complete and obs.rules.removals:
        diff.absent = _absences(known, listed, obs.rules, now)
    return diff


def _absences(known: Mapping[str, KnownItem], listed: set[str], rules: ListRules,
              now: datetime) -> list[Absence]:
    out = []
    for key, row in known.items():
        if row.removed or key in listed:
            continue
        count = row.absences + 1
        since = row.absent_since or now
        out.append(Absence(key, count, since, removed=count >= rules.confirm_absences))
    return out
