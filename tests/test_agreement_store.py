"""287(g) snapshots through the store: baseline, one event per change, held truncations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from monitor.db import make_engine, read_session
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Agreement, AgreementSnapshotRecord, Event
from monitor.store import Store
from sources.base import AgreementRow, AgreementSnapshot
from tests.cli_helpers import run
from tests.conftest import FixedClock

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def rows(n: int) -> list[AgreementRow]:
    return [
        AgreementRow(
            state="FL",
            agency=f"Agency {i} Sheriff's Office",
            support_type="Task Force Model",
            status="participating",
            county=f"County {i}",
            type="Sheriff",
            signed=date(2025, 2, 1 + i % 27),
            moa_url=f"https://example.org/moa/{i}",
        )
        for i in range(n)
    ]


def snapshot(items: list[AgreementRow], kind: str = "participating") -> AgreementSnapshot:
    return AgreementSnapshot(
        list_kind=kind,
        url="http://127.0.0.1/p.xlsx",  # type: ignore[arg-type]
        rows=tuple(items),
    )


def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    return Store(engine, Matcher([]))


def test_baseline_then_one_event_per_change_and_held_truncation(tmp_path: Path) -> None:
    s = store(tmp_path)
    base = rows(20)
    first = s.apply([snapshot(base)], source_id="ice", now=NOW)
    assert first.count("agreement.added") == 20
    assert all(e.data["baseline"] for e in first.events)

    again = s.apply([snapshot(base)], source_id="ice", now=NOW.replace(hour=13))
    assert again.events == []

    changed = list(base)
    changed[3] = replace(changed[3], signed=date(2025, 6, 30))
    changed[7] = replace(changed[7], moa_url="https://example.org/moa/7-v2", county="Other")
    changed.append(
        AgreementRow(
            state="TX",
            agency="New County SO",
            support_type="Jail Enforcement Model",
            status="participating",
        )
    )
    result = s.apply([snapshot(changed)], source_id="ice", now=NOW.replace(hour=14))
    kinds = sorted(e.kind for e in result.events)
    assert kinds == ["agreement.added", "agreement.changed", "agreement.changed"]
    by_agency = {e.data["agency"]: e for e in result.events}
    assert {c["field"] for c in by_agency["Agency 7 Sheriff's Office"].data["changes"]} == {
        "moa_url",
        "county",
    }
    assert not any(e.data["baseline"] for e in result.events)

    truncated = changed[:10]  # lost half the rows: a truncated download must not fake removals
    held = s.apply([snapshot(truncated)], source_id="ice", now=NOW.replace(hour=15))
    assert [e.kind for e in held.events] == ["source.failing"]  # the operator, told once
    assert held.events[0].data["quarantine"] is True and held.held == 1
    again = s.apply([snapshot(truncated)], source_id="ice", now=NOW.replace(hour=16))
    assert again.events == [] and again.held == 1  # the same file again confirms nothing
    with read_session(s.engine) as session:
        current = session.exec(select(Agreement).where(Agreement.status == "participating"))
        assert len(current.all()) == 21
    normal = s.apply([snapshot(changed)], source_id="ice", now=NOW.replace(hour=17))
    assert [e.kind for e in normal.events] == ["source.recovered"] and normal.held == 0


def test_an_ending_needs_n_absences_over_d_days(tmp_path: Path) -> None:
    s = store(tmp_path)
    base = rows(20)
    s.apply([snapshot(base)], source_id="ice", now=NOW)
    ended, back = base[:2], base[2]
    without = base[3:]
    shown = {1: list(reversed(without)), 2: [*without, back], 3: without}
    kinds = []
    for hour, listed in shown.items():
        result = s.apply([snapshot(listed)], source_id="ice", now=NOW + timedelta(hours=hour))
        kinds.append(sorted(e.kind for e in result.events))
    # hour 1: three rows missing; hour 2: one comes back (silently); hour 3: it is missing again
    # (and the other two are absent a third time, but within hours, not two days: no ending)
    assert kinds == [["agreement.missing"] * 3, [], ["agreement.missing"]]
    late = s.apply([snapshot(without)], source_id="ice", now=NOW + timedelta(days=2, hours=1))
    assert sorted(e.data["agency"] for e in late.events) == sorted(r.agency for r in ended)
    assert {e.kind for e in late.events} == {"agreement.removed"}
    assert all(e.data["absences"] == 4 for e in late.events)
    # the row that came back counts afresh: its third absence over two days ends it
    last = s.apply([snapshot(without)], source_id="ice", now=NOW + timedelta(days=3, hours=3))
    assert [(e.kind, e.data["agency"]) for e in last.events] == [
        ("agreement.removed", back.agency)]


def test_a_rename_keeps_the_agreement_and_its_history(tmp_path: Path) -> None:
    s = store(tmp_path)
    base = rows(20)
    s.apply([snapshot(base)], source_id="ice", now=NOW)
    with read_session(s.engine) as session:
        before = session.exec(select(Agreement).where(Agreement.agency == base[4].agency)).one()
    renamed = list(base)
    renamed[4] = replace(base[4], agency="Agncy 4 Sheriff's Office")
    result = s.apply([snapshot(renamed)], source_id="ice", now=NOW + timedelta(hours=6))
    assert [(e.kind, e.data["old"], e.data["new"], e.data["how"]) for e in result.events] == [
        ("agreement.renamed", base[4].agency, "Agncy 4 Sheriff's Office", "edit distance")]
    with read_session(s.engine) as session:
        after = session.exec(select(Agreement).where(
            Agreement.agency == "Agncy 4 Sheriff's Office")).one()
        assert (after.id, after.first_seen) == (before.id, before.first_seen)


def test_pending_then_participating_is_added(tmp_path: Path) -> None:
    s = store(tmp_path)
    pending_row = AgreementRow(
        state="GA",
        agency="Hall County SO",
        support_type="Warrant Service Officer",
        status="pending",
    )
    s.apply([snapshot(rows(5)), snapshot([pending_row], "pending")], source_id="ice", now=NOW)
    later = NOW.replace(day=2)
    moved = replace(pending_row, status="participating", signed=date(2026, 4, 30))
    result = s.apply(
        [snapshot([*rows(5), moved]), snapshot([], "pending")], source_id="ice", now=later
    )
    assert [e.kind for e in result.events] == ["agreement.added"]
    assert result.events[0].data["from_pending"] is True
    with read_session(s.engine) as session:
        row = session.exec(select(Agreement).where(Agreement.agency == "Hall County SO")).one()
        assert row.status == "participating"
        assert len(session.exec(select(Event)).all()) == 7


def test_a_pending_row_promoted_under_another_name_is_no_ending(tmp_path: Path) -> None:
    s = store(tmp_path)
    pending_row = AgreementRow(state="GEORGIA", agency="City of Dalton Police Department",
                               support_type="Task Force Model", status="pending",
                               county="Whitfield County")
    s.apply([snapshot(rows(5)), snapshot([pending_row], "pending")], source_id="ice", now=NOW)
    signed = AgreementRow(state="GEORGIA", agency="Dalton Police Dept (Whitfield Co.)",
                          support_type="Task Force Model", status="participating",
                          county="Whitfield County", signed=date(2026, 4, 30))
    kinds = []
    for day in (2, 4, 6, 8):
        result = s.apply([snapshot([*rows(5), signed]), snapshot([], "pending")],
                         source_id="ice", now=NOW.replace(day=day))
        kinds += [e.kind for e in result.events]
    assert kinds == ["agreement.added"]  # never missing, never removed
    with read_session(s.engine) as session:
        statuses = {a.agency: a.status for a in session.exec(select(Agreement)).all()}
    assert statuses[pending_row.agency] == "promoted"
    assert statuses[signed.agency] == "participating"


def test_the_operator_can_accept_a_quarantined_list(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    s = store(tmp_path)
    base = rows(20)
    s.apply([snapshot(base)], source_id="ice", now=NOW)
    shrunk = base[:12]  # ICE really ended 8 of 20: more than 20% at once
    held = s.apply([snapshot(shrunk)], source_id="ice", now=NOW + timedelta(hours=6))
    assert [e.kind for e in held.events] == ["source.failing"]
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n')
    clock = FixedClock(NOW + timedelta(hours=7))
    assert run(["--config", str(cfg), "agreements", "--accept-quarantined", "pending"],
               clock) == 1  # nothing quarantined there
    assert run(["--config", str(cfg), "agreements", "--accept-quarantined", "participating"],
               clock) == 0
    assert "applied the quarantined participating list (12 rows)" in capsys.readouterr().out
    with read_session(s.engine) as session:
        events = session.exec(select(Event).where(Event.id > (held.events[0].id or 0))).all()
        assert sorted(e.kind for e in events) == ["agreement.missing"] * 8 + [
            "source.recovered"]
        statuses = [r.status for r in session.exec(select(AgreementSnapshotRecord)).all()]
        assert statuses == ["baseline", "quarantined", "accepted"]
    # from here on, the shrunk list is the normal one: its endings follow the usual evidence
    later = s.apply([snapshot(shrunk)], source_id="ice", now=NOW + timedelta(days=3))
    assert later.events == [] and later.held == 0
