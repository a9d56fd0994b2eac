"""287(g) agreement snapshots -> changes (pure: no I/O, no clock; `now` comes in).

How the store uses it (one list snapshot of the `ice_287g` source, participating first)::

    known = the agreements of BOTH lists still current (with their absence counts)
    diff = diff_snapshot(known, snapshot, now=now, baseline=this list was never applied)
    if diff.quarantined: keep nothing, tell the operator once, wait for a normal snapshot
    else: store diff.rows, re-key renamed agreements, count absences, emit diff.changes

Rules (contracts.md, "287(g) snapshots"; identity in `sources.agreement_identity`):

- identity is (state, normalized agency, canonical model): cosmetic edits are the same agreement;
  a name that changed beyond case, whitespace and quotes is `renamed` (`how="normalized"`);
- rows that vanished and rows that appeared in the same list are matched by tiers
  (`monitor.agreement_matching`): a match is `renamed` (with `how`), a move to another body of
  the same county or a relabelled model is `changed` (`moved` / a `support_type` correction);
- a row absent from a good snapshot is `missing` (once), then counted; it is `removed` only when
  absent from `rules.confirm_absences` consecutive good snapshots spanning `rules.confirm_after`.
  A row that comes back before that is `returned` (no event);
- `changed` is one change per row listing every field that changed; a column that did not exist
  in the previous snapshot (or no longer exists) is not compared. A later SIGNED date for a known
  date is a `correction` (the store keeps the earliest as the signing date);
- the first snapshot of a list is a baseline: its events carry `baseline=True`;
- a snapshot without its header, below `rules.min_rows` (participating), or whose newly vanished
  rows (not renamed, not moved to the other list) are more than `rules.max_loss` of its list is
  `quarantined`: nothing of it is applied, however often it is fetched, until a normal one comes
  (or the operator accepts it: `snapshot.accepted`, whose absences then count as any other).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Literal

from monitor.agreement_matching import Match, match_vanished
from sources.agreement_identity import AgreementKey, county_key, display_key
from sources.agreement_identity import agreement_key as identity_key
from sources.base import AgreementRow, AgreementSnapshot, RejectedRow, SnapshotRules

__all__ = [
    "AgreementChange",
    "AgreementKey",
    "Absence",
    "FieldChange",
    "Known",
    "QUIET_EVENT_KINDS",
    "SnapshotDiff",
    "agreement_identity",
    "agreement_key",
    "diff_snapshot",
    "snapshot_from_payload",
    "snapshot_to_payload",
]

ListKind = Literal["participating", "pending"]

#: stored, shown by `events`, but neither alerted (unless a subscription lists the kind by its
#: exact name) nor put in feeds: an absence is not news until it is confirmed as an ending
QUIET_EVENT_KINDS = frozenset({"agreement.missing"})
ChangeKind = Literal["added", "changed", "removed", "pending", "renamed", "missing"]

#: the known fields compared between two versions of a row (identity fields are the key)
_COMPARED = ("county", "type", "signed", "moa_url", "addendum_url")
_URL_FIELDS = frozenset({"moa_url", "addendum_url"})


def agreement_key(row: AgreementRow) -> AgreementKey:
    """The identity of a row's agreement (`sources.agreement_identity.agreement_key`)."""
    return identity_key(row.state, row.agency, row.support_type)


def agreement_identity(row: AgreementRow) -> str:
    """`agreement_key` as one string (the store's `Agreement.identity` column)."""
    return "|".join(agreement_key(row))


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Known:
    """An agreement the store holds as current: its row as last published, and its absences."""

    row: AgreementRow
    absences: int = 0
    absent_since: datetime | None = None


@dataclass(frozen=True)
class FieldChange:
    """One field of one row that changed: a known field name or an extra column's header."""

    field: str
    before: str
    after: str
    #: a revision of a value ICE had published (SIGNED redated, model relabelled)
    correction: bool = False


@dataclass(frozen=True)
class AgreementChange:
    """One event-worthy change of one agreement (`event_kind` names the event)."""

    kind: ChangeKind
    key: AgreementKey
    #: the row as now published (for `removed`/`missing`: the row as last published)
    row: AgreementRow
    previous: AgreementRow | None = None
    fields: tuple[FieldChange, ...] = ()
    baseline: bool = False
    #: an `added` row that was in the pending list before
    from_pending: bool = False
    #: for renames and matched changes: the tier that matched (`normalized`, `edit distance`...)
    how: str = ""
    #: the key the agreement had before a rename or a move (else None)
    old_key: AgreementKey | None = None
    #: for `removed`: how many good snapshots it was absent from
    absences: int = 0

    @property
    def event_kind(self) -> str:
        """The event this change becomes: `agreement.added`, `.renamed`, `.missing`..."""
        return f"agreement.{self.kind}"


@dataclass(frozen=True)
class Absence:
    """A known agreement not in this snapshot, still waiting for its ending to be confirmed."""

    key: AgreementKey
    row: AgreementRow
    absences: int
    since: datetime


@dataclass(frozen=True)
class SnapshotDiff:
    """What one new list snapshot changes, or why it is quarantined."""

    list_kind: ListKind
    #: the rows of this list once the snapshot is applied (by identity)
    rows: Mapping[AgreementKey, AgreementRow] = field(default_factory=dict)
    added: tuple[AgreementChange, ...] = ()
    pending: tuple[AgreementChange, ...] = ()
    renamed: tuple[AgreementChange, ...] = ()
    changed: tuple[AgreementChange, ...] = ()
    missing: tuple[AgreementChange, ...] = ()
    removed: tuple[AgreementChange, ...] = ()
    #: absent again, ending not yet confirmed (no event)
    absent: tuple[Absence, ...] = ()
    #: back before their ending was confirmed (no event)
    returned: tuple[AgreementKey, ...] = ()
    #: previous rows of this list now found in the other list (no event here)
    moved: tuple[AgreementRow, ...] = ()
    #: pending rows now participating under another name (no event: participating spoke)
    promoted: tuple[AgreementRow, ...] = ()
    unchanged: int = 0
    baseline: bool = False
    quarantined: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[AgreementChange, ...]:
        """Every event-worthy change, in the order events are emitted."""
        return (self.added + self.pending + self.renamed + self.changed + self.missing
                + self.removed)


# ---------------------------------------------------------------------------- the diff


def diff_snapshot(
    previous: Sequence[Known],
    snapshot: AgreementSnapshot,
    *,
    now: datetime,
    baseline: bool = False,
) -> SnapshotDiff:
    """Diff one list snapshot against the current agreements of both lists.

    `baseline=True` for the first snapshot of a list. A pending row whose agreement is in the
    participating list is ignored there (ICE has listed an agency in both at once).
    """
    other = {agreement_key(k.row): k.row for k in previous if k.row.status != snapshot.list_kind}
    new = _index(snapshot.rows)
    if snapshot.list_kind == "pending":
        new = {key: row for key, row in new.items() if key not in other}
    if baseline:
        return _baseline(snapshot, new)
    same = {agreement_key(k.row): k for k in previous if k.row.status == snapshot.list_kind}
    vanished = [k.row for key, k in same.items() if key not in new and key not in other]
    if snapshot.list_kind == "pending":
        vanished, promoted = _promoted(vanished, other)
    else:
        promoted = []
    # a row that arrives from the other list is a promotion, never the end of a rename
    appeared = [row for key, row in new.items() if key not in same and key not in other]
    matches = match_vanished(vanished, appeared)
    matched_old = {agreement_key(m.old) for m in matches}
    matched_new = {agreement_key(m.new) for m in matches}
    newly_gone = [r for r in vanished if agreement_key(r) not in matched_old
                  and same[agreement_key(r)].absences == 0]
    reasons = _quarantine_reasons(snapshot, len(newly_gone), len(same))
    if reasons and not snapshot.accepted:
        return SnapshotDiff(snapshot.list_kind, quarantined=True, reasons=reasons)
    columns = _shared_columns((k.row for k in same.values()), new.values())
    added, pending = _arrivals(snapshot.list_kind, new, same, other, matched_new)
    renamed, changed = _continuations(new, same, matches, columns)
    missing, removed, absent = _departures(same, vanished, matched_old, snapshot, now)
    returned = tuple(key for key in new if key in same and same[key].absences > 0)
    touched = {c.key for c in (*renamed, *changed)}
    return SnapshotDiff(
        list_kind=snapshot.list_kind,
        rows=new,
        added=added,
        pending=pending,
        renamed=renamed,
        changed=changed,
        missing=missing,
        removed=removed,
        absent=absent,
        returned=returned,
        moved=tuple(same[key].row for key in same if key not in new and key in other),
        promoted=tuple(promoted),
        unchanged=len(new) - len(added) - len(pending) - len(touched),
    )


def _promoted(vanished: list[AgreementRow], participating: Mapping[AgreementKey, AgreementRow]
              ) -> tuple[list[AgreementRow], list[AgreementRow]]:
    """Pending rows that left under one name and are participating under another (a rename
    on promotion): (still vanished, promoted)."""
    matches = [m for m in match_vanished(vanished, list(participating.values()))
               if m.how not in ("moved", "model")]
    gone = {agreement_key(m.old) for m in matches}
    return ([r for r in vanished if agreement_key(r) not in gone],
            [m.old for m in matches])


def _baseline(snapshot: AgreementSnapshot,
              new: Mapping[AgreementKey, AgreementRow]) -> SnapshotDiff:
    reasons = _quarantine_reasons(snapshot, 0, 0)
    if reasons and not snapshot.accepted:
        return SnapshotDiff(snapshot.list_kind, quarantined=True, reasons=reasons, baseline=True)
    kind: ChangeKind = "pending" if snapshot.list_kind == "pending" else "added"
    changes = tuple(AgreementChange(kind, key, row, baseline=True) for key, row in new.items())
    return SnapshotDiff(
        list_kind=snapshot.list_kind,
        rows=new,
        added=changes if kind == "added" else (),
        pending=changes if kind == "pending" else (),
        baseline=True,
    )


def _index(rows: Iterable[AgreementRow]) -> dict[AgreementKey, AgreementRow]:
    indexed: dict[AgreementKey, AgreementRow] = {}
    for row in rows:
        indexed.setdefault(agreement_key(row), row)
    return indexed


def _quarantine_reasons(snapshot: AgreementSnapshot, newly_gone: int,
                        before: int) -> tuple[str, ...]:
    rules = snapshot.rules
    reasons = []
    if not snapshot.header_ok:
        reasons.append("header row not found")
    count = len(snapshot.rows)
    if snapshot.list_kind == "participating" and count < rules.min_rows:
        reasons.append(f"{count} rows, under the floor of {rules.min_rows}")
    if before and newly_gone > rules.max_loss * before:
        reasons.append(f"lost {newly_gone} of {before} rows ({newly_gone / before:.0%})")
    return tuple(reasons)


def _arrivals(
    list_kind: ListKind,
    new: Mapping[AgreementKey, AgreementRow],
    same: Mapping[AgreementKey, Known],
    other: Mapping[AgreementKey, AgreementRow],
    matched_new: set[AgreementKey],
) -> tuple[tuple[AgreementChange, ...], tuple[AgreementChange, ...]]:
    """Rows no agreement of this list continues: (added, pending)."""
    added: list[AgreementChange] = []
    pending: list[AgreementChange] = []
    for key, row in new.items():
        if key in same or key in matched_new:
            continue
        if list_kind == "pending":
            pending.append(AgreementChange("pending", key, row, other.get(key)))
        else:
            was = other.get(key)
            added.append(AgreementChange("added", key, row, was, from_pending=was is not None))
    return tuple(added), tuple(pending)


def _continuations(
    new: Mapping[AgreementKey, AgreementRow],
    same: Mapping[AgreementKey, Known],
    matches: Sequence[Match],
    columns: frozenset[str],
) -> tuple[tuple[AgreementChange, ...], tuple[AgreementChange, ...]]:
    """Rows that continue a known agreement: (renamed, changed), one of each at most per row."""
    renamed: list[AgreementChange] = []
    changed: list[AgreementChange] = []
    pairs = [(same[key].row, row, "normalized") for key, row in new.items() if key in same]
    pairs += [(m.old, m.new, m.how) for m in matches]
    for before, row, how in pairs:
        key, old_key = agreement_key(row), agreement_key(before)
        moved_key = old_key if old_key != key else None
        diffs = _field_changes(before, row, columns)
        if how == "moved":
            diffs = (FieldChange("agency", before.agency, row.agency), *diffs)
        elif how == "model":
            diffs = (FieldChange("support_type", before.support_type, row.support_type,
                                 correction=True), *diffs)
        elif display_key(before.agency) != display_key(row.agency):
            renamed.append(AgreementChange("renamed", key, row, before, how=how,
                                           old_key=moved_key))
            moved_key = None  # the rename carries the re-keying
        if diffs:
            changed.append(AgreementChange("changed", key, row, before, diffs,
                                           how=how if how in ("moved", "model") else "",
                                           old_key=moved_key))
    return tuple(renamed), tuple(changed)


def _departures(
    same: Mapping[AgreementKey, Known],
    vanished: Sequence[AgreementRow],
    matched_old: set[AgreementKey],
    snapshot: AgreementSnapshot,
    now: datetime,
) -> tuple[tuple[AgreementChange, ...], tuple[AgreementChange, ...], tuple[Absence, ...]]:
    """Known rows absent from this good snapshot: (missing, removed, still absent)."""
    rules = snapshot.rules
    missing: list[AgreementChange] = []
    removed: list[AgreementChange] = []
    absent: list[Absence] = []
    for row in vanished:
        key = agreement_key(row)
        if key in matched_old:
            continue
        known = same[key]
        count = known.absences + 1
        since = known.absent_since or now
        if count >= rules.confirm_absences and now - since >= rules.confirm_after:
            removed.append(AgreementChange("removed", key, row, row, absences=count))
            continue
        if known.absences == 0:
            missing.append(AgreementChange("missing", key, row, row))
        absent.append(Absence(key, row, count, since))
    return tuple(missing), tuple(removed), tuple(absent)


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
            if name == "county" and not (old and new):
                continue  # a COUNTY cell left blank (or filled in) says nothing new
            if _comparable(name, old) != _comparable(name, new):
                correction = name == "signed" and old is not None and new is not None
                changes.append(FieldChange(name, _render(old), _render(new), correction))
    for header in sorted(columns.difference(_COMPARED)):
        old_text, new_text = before.extra.get(header, ""), after.extra.get(header, "")
        if display_key(old_text) != display_key(new_text):
            changes.append(FieldChange(header, old_text, new_text))
    return tuple(changes)


def _comparable(name: str, value: str | date | None) -> str:
    text = _render(value)
    if name in _URL_FIELDS:
        # ICE links the same PDF over http and https; that is not a change of the agreement
        stripped = text.strip()
        return "https://" + stripped[7:] if stripped.lower().startswith("http://") else stripped
    if name == "county":
        return county_key(text)
    return display_key(text)


def _render(value: str | date | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else value


# ---------------------------------------------------------------------------- payloads


def snapshot_to_payload(snapshot: AgreementSnapshot) -> dict[str, Any]:
    """A JSON-ready form of a snapshot (for `AgreementHold.payload`: the quarantined one)."""
    return {
        "list_kind": snapshot.list_kind,
        "url": snapshot.url,
        "header_ok": snapshot.header_ok,
        "rows": [_row_payload(row) for row in snapshot.rows],
        "rejected": [
            {"row_number": r.row_number, "reason": r.reason, "values": list(r.values)}
            for r in snapshot.rejected
        ],
        "notes": list(snapshot.notes),
        "rules": {"confirm_absences": snapshot.rules.confirm_absences,
                  "confirm_after_s": snapshot.rules.confirm_after.total_seconds(),
                  "max_loss": snapshot.rules.max_loss, "min_rows": snapshot.rules.min_rows},
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
        notes=tuple(payload.get("notes", ())),
        rules=_rules(payload.get("rules") or {}),
    )


def _rules(saved: Mapping[str, Any]) -> SnapshotRules:
    default = SnapshotRules()
    return SnapshotRules(
        confirm_absences=int(saved.get("confirm_absences", default.confirm_absences)),
        confirm_after=timedelta(seconds=float(saved.get(
            "confirm_after_s", default.confirm_after.total_seconds()))),
        max_loss=float(saved.get("max_loss", default.max_loss)),
        min_rows=int(saved.get("min_rows", default.min_rows)),
    )
