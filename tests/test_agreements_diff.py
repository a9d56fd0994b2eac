"""The 287(g) snapshot diff, against later snapshots derived from the real May 2025 lists."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.agreements import (
    AgreementKey,
    Known,
    SnapshotDiff,
    agreement_key,
    snapshot_from_payload,
    snapshot_to_payload,
)
from monitor.agreements import diff_snapshot as _diff
from sources.base import AgreementRow, AgreementSnapshot, SnapshotRules
from sources.ice_287g import ListKind, parse_xlsx

pytestmark = pytest.mark.corpus

ICE = Path("agency") / "ice_287g"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def diff_snapshot(previous: Sequence[AgreementRow] | None, snapshot: AgreementSnapshot,
                  **kwargs: object) -> SnapshotDiff:
    """The diff against plain rows (None: the list's baseline)."""
    known = [Known(row) for row in previous or ()]
    return _diff(known, snapshot, now=NOW, baseline=previous is None, **kwargs)  # type: ignore[arg-type]


@functools.cache
def _load(path: Path, list_kind: ListKind) -> AgreementSnapshot:
    return parse_xlsx(path.read_bytes(), list_kind).snapshot(list_kind, path.name)


@pytest.fixture
def participating(corpus: Path) -> AgreementSnapshot:
    return _load(corpus / ICE / "participatingAgencies05162025am.xlsx", "participating")


@pytest.fixture
def pending(corpus: Path) -> AgreementSnapshot:
    return _load(corpus / ICE / "pendingAgencies05152025am.xlsx", "pending")


@pytest.fixture
def previous(participating: AgreementSnapshot, pending: AgreementSnapshot) -> list[AgreementRow]:
    return [*participating.rows, *pending.rows]


def _later(snapshot: AgreementSnapshot, rows: list[AgreementRow]) -> AgreementSnapshot:
    return dataclasses.replace(snapshot, rows=tuple(rows), url="later.xlsx")


def _keys(changes: tuple[object, ...]) -> set[AgreementKey]:
    return {change.key for change in changes}  # type: ignore[attr-defined]


def test_first_snapshot_is_a_baseline(participating: AgreementSnapshot) -> None:
    diff = diff_snapshot(None, participating)
    assert diff.baseline and not diff.quarantined
    assert len(diff.added) == len(participating.rows) > 500
    assert all(c.baseline and c.event_kind == "agreement.added" for c in diff.changes)
    assert not diff.changed and not diff.removed


def test_pending_baseline_gives_pending_events(pending: AgreementSnapshot) -> None:
    diff = diff_snapshot(None, pending)
    assert {c.event_kind for c in diff.changes} == {"agreement.pending"}
    assert len(diff.pending) == len(pending.rows)


def test_the_same_list_again_changes_nothing(
    previous: list[AgreementRow], participating: AgreementSnapshot
) -> None:
    diff = diff_snapshot(previous, participating)
    assert diff.changes == () and diff.moved == ()
    assert diff.unchanged == len(participating.rows)
    assert not diff.quarantined


def test_derived_later_snapshot(
    previous: list[AgreementRow], participating: AgreementSnapshot, pending: AgreementSnapshot
) -> None:
    rows = list(participating.rows)
    n = len(rows)
    redated = set(range(0, n, 37))
    no_link = [i for i, r in enumerate(rows) if not r.moa_url]
    linked = set(no_link[:10])
    assert redated & linked, "one row is both redated and linked"
    recounty = {5, 6}
    agencies = Counter((r.state, r.agency) for r in rows)
    single = [i for i, r in enumerate(rows) if agencies[(r.state, r.agency)] == 1]
    cosmetic = {1, 2} - redated - linked - recounty
    retyped = set([i for i in single if i not in redated | linked | recounty | cosmetic][:3])
    dropped = set(range(3, n, 25)) - redated - linked - recounty - retyped
    https = {i for i, r in enumerate(rows) if r.moa_url.startswith("http://")}
    assert https, "the May 2025 file links some MOAs over http"

    later: list[AgreementRow] = []
    expected_fields: dict[AgreementKey, set[str]] = {}
    retyped_new: set[AgreementKey] = set()
    for i, row in enumerate(rows):
        if i in dropped:
            continue
        new = dataclasses.replace(row, extra={"NOTES": f"note {i}"}, addendum_url=f"a{i}.pdf")
        fields: set[str] = set()
        if i in redated:
            new = dataclasses.replace(new, signed=(row.signed or date(2025, 1, 1)) + timedelta(1))
            fields.add("signed")
        if i in linked:
            new = dataclasses.replace(new, moa_url=f"https://www.ice.gov/doclib/287gMOA/{i}.pdf")
            fields.add("moa_url")
        if i in recounty:
            new = dataclasses.replace(new, county=row.county + " Annex")
            fields.add("county")
        if i in retyped:
            new = dataclasses.replace(new, support_type=_unused_model(rows, row))
            retyped_new.add(agreement_key(new))
            expected_fields[agreement_key(new)] = {"support_type"}
        if i in cosmetic:
            new = dataclasses.replace(
                new, agency=f" {row.agency.upper()}  ", county=row.county + " "
            )
        if i in https:
            new = dataclasses.replace(new, moa_url=new.moa_url.replace("http://", "https://"))
        if fields:
            expected_fields[agreement_key(row)] = fields
        later.append(new)
    brand_new = [
        AgreementRow("OHIO", f"Test Police Department {k}", "Task Force Model", "participating")
        for k in range(4)
    ]
    promoted = [
        dataclasses.replace(r, status="participating", signed=date(2025, 6, 1))
        for r in pending.rows[:3]
    ]
    later.extend(brand_new + promoted)

    diff = diff_snapshot(previous, _later(participating, later))

    print(
        f"\nderived: {n} rows, {len(diff.changed)} changed, {len(diff.added)} added, "
        f"{len(diff.removed)} removed, {diff.unchanged} unchanged"
    )
    assert not diff.quarantined and not diff.baseline
    # every changed row gives exactly one change, listing exactly the fields changed
    assert len(diff.changed) == len(_keys(diff.changed)) == len(expected_fields)
    assert {c.key: {f.field for f in c.fields} for c in diff.changed} == expected_fields
    assert any(len(c.fields) > 1 for c in diff.changed), "redated and linked: one change"
    # another model for the same agency on the same SIGNED date: a correction, not an ending
    assert all(c.how == "model" for c in diff.changed if c.key in retyped_new)
    assert len(retyped_new) == len(retyped) == 3
    # a dropped row is missing, not yet removed
    assert diff.removed == ()
    assert _keys(diff.missing) == {agreement_key(rows[i]) for i in dropped}
    added = {c.key: c for c in diff.added}
    assert set(added) == {agreement_key(r) for r in brand_new + promoted}
    assert all(added[agreement_key(r)].from_pending for r in promoted)
    assert not any(added[agreement_key(r)].from_pending for r in brand_new)
    # every other row: nothing (new NOTES and ADDENDUM columns, cosmetic edits, http->https)
    touched = len(expected_fields)
    assert diff.unchanged == n - len(dropped) - touched
    assert diff.pending == () and diff.moved == () and diff.renamed == ()


def _unused_model(rows: Sequence[AgreementRow], row: AgreementRow) -> str:
    """A 287(g) model this agency does not have yet (so the new identity collides with none)."""
    held = {r.support_type for r in rows if (r.state, r.agency) == (row.state, row.agency)}
    models = ["Jail Enforcement Model", "Task Force Model", "Warrant Service Officer"]
    return next(m for m in models if m not in held)


def test_a_column_that_exists_on_both_sides_is_compared(
    previous: list[AgreementRow], participating: AgreementSnapshot
) -> None:
    with_column = [
        dataclasses.replace(r, extra={"NOTES": "x"}, addendum_url="a.pdf")
        for r in participating.rows
    ]
    before = [*with_column]
    after = list(with_column)
    after[7] = dataclasses.replace(after[7], addendum_url="b.pdf", extra={"NOTES": "y"})
    diff = diff_snapshot(before, _later(participating, after))
    assert [(c.key, [(f.field, f.before, f.after) for f in c.fields]) for c in diff.changed] == [
        (agreement_key(after[7]), [("addendum_url", "a.pdf", "b.pdf"), ("NOTES", "x", "y")])
    ]
    # and a column that disappears is not a change either
    dropped_column = [dataclasses.replace(r, extra={}) for r in with_column]
    assert diff_snapshot(before, _later(participating, dropped_column)).changes == ()


def test_promotion_from_pending_reads_as_one_added(
    participating: AgreementSnapshot, pending: AgreementSnapshot
) -> None:
    previous = [*participating.rows, *pending.rows]
    moving = pending.rows[0]
    new_participating = _later(
        participating, [*participating.rows, dataclasses.replace(moving, status="participating")]
    )
    first = diff_snapshot(previous, new_participating)
    assert [(c.kind, c.from_pending) for c in first.changes] == [("added", True)]
    # the caller stores the participating rows, then diffs the pending list
    new_pending = _later(pending, [*pending.rows[1:], _newcomer()])
    second = diff_snapshot([*first.rows.values(), *pending.rows], new_pending)
    assert second.removed == () and second.missing == () and moving in second.moved
    assert [(c.kind, c.row.agency) for c in second.changes] == [("pending", _newcomer().agency)]


def _newcomer() -> AgreementRow:
    return AgreementRow(
        "IDAHO",
        "Canyon County Sheriff's Office",
        "Jail Enforcement Model",
        "pending",
        county="Canyon County",
        type="County",
    )


def test_a_row_leaving_pending_alone_is_missing(
    participating: AgreementSnapshot, pending: AgreementSnapshot
) -> None:
    previous = [*participating.rows, *pending.rows]
    diff = diff_snapshot(previous, _later(pending, list(pending.rows[1:])))
    assert [(c.kind, c.row) for c in diff.changes] == [("missing", pending.rows[0])]


def test_truncated_snapshot_is_quarantined_however_often_it_comes(
    previous: list[AgreementRow], participating: AgreementSnapshot
) -> None:
    rows = participating.rows
    truncated = _later(participating, list(rows[: int(len(rows) * 0.7)]))
    for _ in range(3):  # the same truncated file again is no confirmation
        diff = diff_snapshot(previous, truncated)
        assert diff.quarantined and diff.changes == () and not diff.rows
        assert "lost" in diff.reasons[0]
    assert diff_snapshot(previous, participating).changes == ()


def test_loss_threshold_is_more_than_the_configured_share(
    previous: list[AgreementRow], participating: AgreementSnapshot
) -> None:
    rows = participating.rows[: len(participating.rows) // 5 * 5]
    at_limit = len(rows) // 5  # exactly 20%
    sound = diff_snapshot(rows, _later(participating, list(rows[at_limit:])))
    assert not sound.quarantined and len(sound.missing) == at_limit
    over = diff_snapshot(rows, _later(participating, list(rows[at_limit + 1 :])))
    assert over.quarantined
    looser = dataclasses.replace(participating, rules=SnapshotRules(max_loss=0.5))
    assert not diff_snapshot(rows, dataclasses.replace(
        looser, rows=tuple(rows[at_limit + 1 :]))).quarantined


def test_row_count_floor_quarantines_even_a_baseline(participating: AgreementSnapshot) -> None:
    floor = dataclasses.replace(participating, rules=SnapshotRules(min_rows=1000))
    assert diff_snapshot(None, floor).quarantined
    assert "under the floor" in diff_snapshot(None, floor).reasons[0]
    assert not diff_snapshot(None, participating).quarantined


def test_lost_header_is_quarantined(
    previous: list[AgreementRow], participating: AgreementSnapshot
) -> None:
    headerless = dataclasses.replace(participating, rows=(), header_ok=False)
    diff = diff_snapshot(previous, headerless)
    assert diff.quarantined and "header row not found" in diff.reasons
    assert diff_snapshot(None, headerless).quarantined


def test_identity_normalization(participating: AgreementSnapshot) -> None:
    row = participating.rows[0]
    variant = dataclasses.replace(
        row, state=row.state.lower() + " ", agency="  " + row.agency.replace("'", "\u2019").upper()
    )
    assert agreement_key(variant) == agreement_key(row)


def test_payload_round_trip(participating: AgreementSnapshot) -> None:
    snapshot = dataclasses.replace(
        participating,
        rows=(
            *participating.rows[:5],
            dataclasses.replace(participating.rows[5], extra={"N": "1"}),
        ),
    )
    payload = json.loads(json.dumps(snapshot_to_payload(snapshot)))
    assert snapshot_from_payload(payload) == dataclasses.replace(
        snapshot, rules=SnapshotRules())
