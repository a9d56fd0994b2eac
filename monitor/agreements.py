"""287(g) agreement snapshots -> changes (pure: no I/O, no clock).

How the caller uses it (one round of the `ice_287g` source)::

    for snapshot in (participating_snapshot, pending_snapshot):      # participating first
        previous = current rows of BOTH lists, or None if this list was never applied
        decision = confirm_or_hold(previous, held.get(list_kind), snapshot)
        if decision.action == "apply":
            store decision.diff.rows as the list's rows; emit decision.diff.changes as events
        held[list_kind] = decision.held                              # None clears the hold

Rules (contracts.md, "287(g) snapshots"):

- identity is (state, agency, support type), compared casefolded with whitespace collapsed and
  curly quotes straightened (`agreement_key`); a support-type change is therefore a removal
  plus an addition, never a `changed`;
- `diff_snapshot` compares one new list (`snapshot.list_kind`) with the previous rows of the
  same list, and looks at the other list's previous rows only to recognise moves: a row new in
  participating that was pending is `added` with `from_pending=True`; a row that leaves a list
  and is found in the other list moved there (`moved`, no event: the other list's diff spoke);
- `changed` is one change per row listing every field that changed; a column that did not exist
  in the previous snapshot (or no longer exists) is not compared. A known column (county, type,
  signed, MOA, addendum) "exists" when any row of the list has a value in it; an extra column
  exists when its header is in any row's `extra`. (Heuristic: a column that existed but was empty
  in every row counts as absent. `AgreementSnapshot` carrying its header would make it exact.)
- the first snapshot of a list (`previous is None`) is a baseline: all its rows are `added` (or
  `pending`) with `baseline=True`;
- a snapshot that lost its header row, or more than 20% of the previous rows of its list, is
  `suspicious`: `confirm_or_hold` holds it (no event, nothing stored) until the next fetch
  brings the same content; a different, sound fetch replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Literal

from sources.base import AgreementRow, AgreementSnapshot, RejectedRow

__all__ = [
    "LOSS_THRESHOLD",
    "AgreementChange",
    "AgreementKey",
    "Decision",
    "FieldChange",
    "SnapshotDiff",
    "agreement_identity",
    "agreement_key",
    "confirm_or_hold",
    "diff_snapshot",
    "same_content",
    "snapshot_from_payload",
    "snapshot_to_payload",
]

#: a snapshot that lost more than this share of the previous rows of its list is suspicious
LOSS_THRESHOLD = 0.2

AgreementKey = tuple[str, str, str]
ListKind = Literal["participating", "pending"]
ChangeKind = Literal["added", "changed", "removed", "pending"]

#: the known fields compared between two versions of a row (identity fields are the key)
_COMPARED = ("county", "type", "signed", "moa_url", "addendum_url")
_URL_FIELDS = frozenset({"moa_url", "addendum_url"})
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


# ---------------------------------------------------------------------------- identity


def _normalize(text: str) -> str:
    return " ".join(text.translate(_QUOTES).split()).casefold()


def agreement_key(row: AgreementRow) -> AgreementKey:
    """The identity of an agreement: (state, agency, support type), normalized."""
    return _normalize(row.state), _normalize(row.agency), _normalize(row.support_type)


def agreement_identity(row: AgreementRow) -> str:
    """`agreement_key` as one string (the store's `Agreement.identity` column)."""
    return "|".join(agreement_key(row))


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FieldChange:
    """One field of one row that changed: a known field name or an extra column's header."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AgreementChange:
    """One event-worthy change of one agreement (`event_kind` names the event)."""

    kind: ChangeKind
    key: AgreementKey
    #: the row as now published (for `removed`: the row as last published)
    row: AgreementRow
    previous: AgreementRow | None = None
    fields: tuple[FieldChange, ...] = ()
    baseline: bool = False
    #: an `added` row that was in the pending list before
    from_pending: bool = False

    @property
    def event_kind(self) -> str:
        """The event this change becomes: `agreement.added`, `.changed`, `.removed`, `.pending`."""
        return f"agreement.{self.kind}"


@dataclass(frozen=True)
class SnapshotDiff:
    """What one new list snapshot changes, and whether it looks broken."""

    list_kind: ListKind
    #: the rows of this list once the snapshot is applied
    rows: tuple[AgreementRow, ...]
    added: tuple[AgreementChange, ...] = ()
    changed: tuple[AgreementChange, ...] = ()
    removed: tuple[AgreementChange, ...] = ()
    pending: tuple[AgreementChange, ...] = ()
    #: previous rows of this list now found in the other list (no event here)
    moved: tuple[AgreementRow, ...] = ()
    unchanged: int = 0
    baseline: bool = False
    suspicious: bool = False
    reasons: tuple[str, ...] = ()
    #: suspicious and not yet confirmed: the caller must hold it, not apply it
    hold: bool = False

    @property
    def changes(self) -> tuple[AgreementChange, ...]:
        """Every event-worthy change: added, pending, changed, removed."""
        return self.added + self.pending + self.changed + self.removed


@dataclass(frozen=True)
class Decision:
    """What to do with a fetched snapshot: apply `diff`, or keep `held` for the next fetch."""

    action: Literal["apply", "hold"]
    #: the diff to apply (None when holding: nothing is stored and no event is emitted)
    diff: SnapshotDiff | None
    #: the snapshot the caller keeps held after this decision (None: clear the hold)
    held: AgreementSnapshot | None = None
    reasons: tuple[str, ...] = ()
    #: a held snapshot dropped because the new fetch differs from it
    discarded: AgreementSnapshot | None = None
    #: True when this fetch confirmed a held snapshot
    confirmed: bool = False


# ---------------------------------------------------------------------------- the diff


def diff_snapshot(
    previous: Sequence[AgreementRow] | None,
    snapshot: AgreementSnapshot,
    *,
    held: bool = False,
) -> SnapshotDiff:
    """Diff one new list snapshot against the previous rows of both lists (None: baseline).

    `held=True` says the snapshot was held and a later fetch confirmed it: it is applied even if
    suspicious (`hold` stays False).
    """
    new = _index(snapshot.rows)
    if previous is None:
        return _baseline(snapshot, new)
    same = _index(row for row in previous if row.status == snapshot.list_kind)
    other = _index(row for row in previous if row.status != snapshot.list_kind)
    columns = _shared_columns(same.values(), new.values())
    added, pending, changed = _appearances(snapshot.list_kind, new, same, other, columns)
    removed, moved = _departures(same, new, other)
    reasons = _suspicions(snapshot, len(removed), len(same))
    return SnapshotDiff(
        list_kind=snapshot.list_kind,
        rows=tuple(new.values()),
        added=added,
        changed=changed,
        removed=removed,
        pending=pending,
        moved=moved,
        unchanged=len(new) - len(added) - len(pending) - len(changed),
        suspicious=bool(reasons),
        reasons=reasons,
        hold=bool(reasons) and not held,
    )


def _baseline(
    snapshot: AgreementSnapshot, new: Mapping[AgreementKey, AgreementRow]
) -> SnapshotDiff:
    kind: ChangeKind = "pending" if snapshot.list_kind == "pending" else "added"
    changes = tuple(AgreementChange(kind, key, row, baseline=True) for key, row in new.items())
    reasons = _suspicions(snapshot, 0, 0)
    return SnapshotDiff(
        list_kind=snapshot.list_kind,
        rows=tuple(new.values()),
        added=changes if kind == "added" else (),
        pending=changes if kind == "pending" else (),
        baseline=True,
        suspicious=bool(reasons),
        reasons=reasons,
        hold=bool(reasons),
    )


def _index(rows: Iterable[AgreementRow]) -> dict[AgreementKey, AgreementRow]:
    return {agreement_key(row): row for row in rows}


def _appearances(
    list_kind: ListKind,
    new: Mapping[AgreementKey, AgreementRow],
    same: Mapping[AgreementKey, AgreementRow],
    other: Mapping[AgreementKey, AgreementRow],
    columns: frozenset[str],
) -> tuple[tuple[AgreementChange, ...], tuple[AgreementChange, ...], tuple[AgreementChange, ...]]:
    """Rows of the new snapshot: (added, pending, changed)."""
    added: list[AgreementChange] = []
    pending: list[AgreementChange] = []
    changed: list[AgreementChange] = []
    for key, row in new.items():
        before = same.get(key)
        if before is not None:
            diffs = _field_changes(before, row, columns)
            if diffs:
                changed.append(AgreementChange("changed", key, row, before, diffs))
        elif list_kind == "pending":
            pending.append(AgreementChange("pending", key, row, other.get(key)))
        else:
            was = other.get(key)
            added.append(AgreementChange("added", key, row, was, from_pending=was is not None))
    return tuple(added), tuple(pending), tuple(changed)


def _departures(
    same: Mapping[AgreementKey, AgreementRow],
    new: Mapping[AgreementKey, AgreementRow],
    other: Mapping[AgreementKey, AgreementRow],
) -> tuple[tuple[AgreementChange, ...], tuple[AgreementRow, ...]]:
    """Previous rows missing from the new snapshot: (removed, moved to the other list)."""
    removed: list[AgreementChange] = []
    moved: list[AgreementRow] = []
    for key, row in same.items():
        if key in new:
            continue
        if key in other:
            moved.append(row)
        else:
            removed.append(AgreementChange("removed", key, row, row))
    return tuple(removed), tuple(moved)


def _suspicions(snapshot: AgreementSnapshot, lost: int, before: int) -> tuple[str, ...]:
    reasons = []
    if not snapshot.header_ok:
        reasons.append("header row not found")
    if before and lost > LOSS_THRESHOLD * before:
        reasons.append(f"lost {lost} of {before} rows ({lost / before:.0%})")
    return tuple(reasons)


# ---------------------------------------------------------------------------- fields


def _columns(rows: Iterable[AgreementRow]) -> frozenset[str]:
    """The columns a list has: known fields with a value in some row, and every extra header."""
    present: set[str] = set()
    for row in rows:
        present.update(name for name in _COMPARED if getattr(row, name))
        present.update(row.extra)
    return frozenset(present)


def _shared_columns(
    before: Iterable[AgreementRow], after: Iterable[AgreementRow]
) -> frozenset[str]:
    return _columns(before) & _columns(after)


def _field_changes(
    before: AgreementRow, after: AgreementRow, columns: frozenset[str]
) -> tuple[FieldChange, ...]:
    """Every compared field whose value differs, known fields first, then extra columns."""
    changes = []
    for name in _COMPARED:
        if name in columns:
            old, new = getattr(before, name), getattr(after, name)
            if _comparable(name, old) != _comparable(name, new):
                changes.append(FieldChange(name, _render(old), _render(new)))
    for header in sorted(columns.difference(_COMPARED)):
        old_text, new_text = before.extra.get(header, ""), after.extra.get(header, "")
        if _normalize(old_text) != _normalize(new_text):
            changes.append(FieldChange(header, old_text, new_text))
    return tuple(changes)


def _comparable(name: str, value: str | date | None) -> str:
    text = _render(value)
    if name in _URL_FIELDS:
        # ICE links the same PDF over http and https; that is not a change of the agreement
        stripped = text.strip()
        return "https://" + stripped[7:] if stripped.lower().startswith("http://") else stripped
    return _normalize(text)


def _render(value: str | date | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else value


# ---------------------------------------------------------------------------- holding


def same_content(first: AgreementSnapshot, second: AgreementSnapshot) -> bool:
    """Two fetches of a list hold the same rows (in any order) and the same header state."""
    return (
        first.list_kind == second.list_kind
        and first.header_ok == second.header_ok
        and _index(first.rows) == _index(second.rows)
    )


def confirm_or_hold(
    previous_rows: Sequence[AgreementRow] | None,
    held_snapshot: AgreementSnapshot | None,
    new_snapshot: AgreementSnapshot,
) -> Decision:
    """Apply a sound snapshot; hold a suspicious one until a second fetch brings the same rows.

    - a new snapshot equal to the held one confirms it: applied (`confirmed=True`);
    - otherwise the new snapshot is judged alone: sound -> applied (the held one is discarded),
      suspicious -> held in place of the old hold.
    """
    if held_snapshot is not None and same_content(held_snapshot, new_snapshot):
        diff = diff_snapshot(previous_rows, new_snapshot, held=True)
        return Decision("apply", diff, None, diff.reasons, confirmed=True)
    diff = diff_snapshot(previous_rows, new_snapshot)
    if diff.hold:
        return Decision("hold", None, new_snapshot, diff.reasons, discarded=held_snapshot)
    return Decision("apply", diff, None, diff.reasons, discarded=held_snapshot)


# ---------------------------------------------------------------------------- held payloads


def snapshot_to_payload(snapshot: AgreementSnapshot) -> dict[str, Any]:
    """A JSON-ready form of a snapshot (for `AgreementHold.payload`)."""
    return {
        "list_kind": snapshot.list_kind,
        "url": snapshot.url,
        "header_ok": snapshot.header_ok,
        "rows": [_row_payload(row) for row in snapshot.rows],
        "rejected": [
            {"row_number": r.row_number, "reason": r.reason, "values": list(r.values)}
            for r in snapshot.rejected
        ],
    }


def _row_payload(row: AgreementRow) -> dict[str, Any]:
    payload = {f.name: getattr(row, f.name) for f in fields(row)}
    payload["signed"] = row.signed.isoformat() if row.signed else None
    payload["extra"] = dict(row.extra)
    return payload


def snapshot_from_payload(payload: Mapping[str, Any]) -> AgreementSnapshot:
    """The snapshot `snapshot_to_payload` wrote."""
    rows = tuple(
        AgreementRow(
            **{
                **row,
                "signed": date.fromisoformat(row["signed"]) if row.get("signed") else None,
                "extra": dict(row.get("extra", {})),
            }
        )
        for row in payload["rows"]
    )
    rejected = tuple(
        RejectedRow(r["row_number"], r["reason"], tuple(r.get("values", ())))
        for r in payload.get("rejected", ())
    )
    return AgreementSnapshot(
        list_kind=payload["list_kind"],
        url=payload.get("url", ""),
        rows=rows,
        rejected=rejected,
        header_ok=bool(payload.get("header_ok", True)),
    )
