"""The real May 2025 lists and the lists derived from them (tests/agreement_scenario.py), through
the parser and the store: zero false endings, zero false new agreements, every rename once,
every real ending reported once confirmed, a broken file quarantined for as long as it lasts."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from monitor.agreements import Known, agreement_key, diff_snapshot
from monitor.db import make_engine, read_session
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Agreement, AgreementSnapshotRecord, Event
from monitor.store import Store
from sources.base import AgreementRow, AgreementSnapshot, SnapshotRules
from sources.ice_287g import Cell, ListKind, parse_sheet, parse_xlsx
from tests.agreement_scenario import Scenario, Step, build

ICE = Path("agency") / "ice_287g"
START = datetime(2026, 3, 2, 12, tzinfo=UTC)
HEADER = ("STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA")
RULES = SnapshotRules(min_rows=100)


def grid(rows: list[AgreementRow]) -> list[list[Cell]]:
    """The rows as an ICE sheet (title row, header, data), for `parse_sheet`."""
    def cell(value: Any, link: str = "") -> Cell:
        text = value.isoformat() if isinstance(value, date) else str(value or "")
        return Cell(value=value, text=" ".join(text.split()), link=link)

    out = [[cell("287(g) agreements")], [cell(h) for h in HEADER]]
    for r in rows:
        out.append([cell(r.state), cell(r.agency), cell(r.type), cell(r.county),
                    cell(r.support_type), cell(r.signed),
                    cell("link" if r.moa_url else "link pending", r.moa_url)])
    return out


def real_rows(corpus: Path) -> tuple[list[AgreementRow], list[AgreementRow]]:
    part = parse_xlsx((corpus / ICE / "participatingAgencies05162025am.xlsx").read_bytes(),
                      "participating")
    pend = parse_xlsx((corpus / ICE / "pendingAgencies05152025am.xlsx").read_bytes(), "pending")
    return list(part.rows), list(pend.rows)


def apply_step(store: Store, step: Step) -> list[Event]:
    events: list[Event] = []
    for kind, rows in (("participating", step.participating), ("pending", step.pending)):
        list_kind: ListKind = "participating" if kind == "participating" else "pending"
        snapshot = parse_sheet(grid(rows), list_kind).snapshot(
            list_kind, f"http://127.0.0.1/{kind}-{step.hours}.xlsx", RULES)
        result = store.apply([snapshot], source_id="ice-287g",
                             now=START + timedelta(hours=step.hours))
        events += result.events
    return events


def run_scenario(tmp_path: Path, scenario: Scenario) -> tuple[Store, list[list[Event]]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine, Matcher([]))
    return store, [apply_step(store, step) for step in scenario.steps]


def of(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


@pytest.mark.corpus
def test_derived_lists_give_no_phantom_events(tmp_path: Path, corpus: Path) -> None:
    participating, pending = real_rows(corpus)
    scenario = build(participating, pending)
    store, by_step = run_scenario(tmp_path, scenario)
    every = [e for events in by_step for e in events]

    baseline = by_step[0]
    assert baseline and all(e.data.get("baseline") for e in baseline)
    later = [e for events in by_step[1:] for e in events]
    assert not any(e.data.get("baseline") for e in later)

    renamed = [(i, e.data["old"], e.data["new"]) for i, events in enumerate(by_step)
               for e in of(events, "agreement.renamed")]
    removed = [e.data["agency"] for e in of(later, "agreement.removed")]
    added = [e.data["agency"] for e in of(later, "agreement.added")]
    missing = [e.data["agency"] for e in of(later, "agreement.missing")]
    changed = of(later, "agreement.changed")
    false_endings = [a for a in removed if a not in scenario.endings]
    false_new = [a for a in added if a not in scenario.new]
    hows = Counter(e.data["how"] for e in of(later, "agreement.renamed"))
    print(f"\nscenario over {len(participating)} real rows, {len(scenario.steps)} snapshots: "
          f"events {dict(Counter(e.kind for e in later))}; renames {len(renamed)} "
          f"(expected {len(scenario.renames)}; by tier {dict(hows)}); endings {len(removed)} "
          f"(expected {len(scenario.endings)}); false endings {len(false_endings)}; new "
          f"{len(added)} (expected {len(scenario.new)}); false new {len(false_new)}")

    assert false_endings == [] and false_new == []
    assert sorted(removed) == sorted(scenario.endings)
    assert sorted(added) == sorted(scenario.new)
    assert sorted(renamed) == sorted(scenario.renames)  # each once, in its own snapshot
    assert sorted(missing) == sorted(scenario.endings + scenario.dropped_by_mistake)
    # endings are told only once confirmed: three good snapshots over two days (step 5)
    assert [len(of(events, "agreement.removed")) for events in by_step] == [0, 0, 0, 0, 0, 3, 0]
    # the move and the SIGNED revisions are changes of an agreement, said as such
    moves = [(e.data["changes"][0]["before"], e.data["agency"]) for e in changed
             if e.data.get("moved")]
    assert moves == scenario.moved
    corrections = sorted(e.data["agency"] for e in changed
                         if any(c.get("correction") for c in e.data["changes"]))
    assert corrections == sorted(scenario.corrected)
    assert len(changed) == len(moves) + len(corrections)
    # the broken file: one operator notice, nothing applied, twice; then one recovery
    assert [e.kind for e in by_step[2]] == ["source.failing"]
    assert by_step[2][0].data["quarantine"] is True
    assert by_step[3] == []
    assert [e.kind for e in by_step[4]] == ["source.recovered", "agreement.renamed"]
    assert [e.kind for e in by_step[6]] == ["agreement.renamed"]  # the typo flipping back
    assert not of(every, "agreement.pending")[len(pending):]  # pending: baseline only

    with read_session(store.engine) as session:
        records = session.exec(select(AgreementSnapshotRecord).where(
            AgreementSnapshotRecord.list_kind == "participating")).all()
        assert [r.status for r in records] == ["baseline", "applied", "quarantined",
                                               "quarantined", "applied", "applied", "applied"]
        assert any("duplicate" in note for note in records[1].notes)
        signed = {a.agency: a for a in session.exec(select(Agreement)).all()}
        for agency in scenario.corrected:  # the earliest date kept, the revision beside it
            row = signed[agency]
            assert row.signed is not None and row.signed_published is not None
            assert row.signed_published - row.signed in (timedelta(3), timedelta(7))
        ended = {a.status for a in signed.values() if a.agency in scenario.endings}
        assert ended == {"removed"}


# ---------------------------------------------------------------------------- random edits


def _edits() -> list[Callable[[str, random.Random], str]]:
    def typo(a: str, rng: random.Random) -> str:
        j = rng.randrange(1, len(a) - 1)
        return a[:j] + a[j + 1:]

    def swap(a: str, rng: random.Random) -> str:
        j = rng.randrange(1, len(a) - 2)
        return a[:j] + a[j + 1] + a[j] + a[j + 2:]

    simple: list[Callable[[str, random.Random], str]] = [
        typo, swap,
        lambda a, rng: a[: int(len(a) * 0.85)],
        lambda a, rng: a[8:] if a.startswith("City of ") else "City of " + a,
        lambda a, rng: a.replace("Department", "Dept.").replace("County", "Co."),
        lambda a, rng: "  " + a.upper(),
        lambda a, rng: a.replace("'", "\u2019"),
        lambda a, rng: a.replace("Sheriff's Office", "Sheriff's Department"),
        lambda a, rng: a.replace(" County", "", 1),
        lambda a, rng: a.replace("'", "").replace(".", "").replace(",", ""),
        lambda a, rng: a + " (TFM)",
        lambda a, rng: a.replace(" ", "", 1),
    ]

    def two(a: str, rng: random.Random) -> str:
        return rng.choice(simple)(rng.choice(simple)(a, rng), rng)

    return [*simple, two, two, two]


@pytest.mark.corpus
@pytest.mark.parametrize("seed", range(8))
def test_random_edits_of_the_real_list_are_never_endings(corpus: Path, seed: int) -> None:
    """30 rows renamed by ICE-style edits (one or two at once), 10 real endings, 5 agreements
    really new on the same days and models as the ended ones, named like agencies elsewhere."""
    participating, _ = real_rows(corpus)
    rows = list({agreement_key(r): r for r in participating}.values())
    rng = random.Random(seed)
    edits = _edits()
    order = list(range(len(rows)))
    rng.shuffle(order)
    renamed, ended = set(order[:30]), order[30:40]
    later = [replace(r, agency=rng.choice(edits)(r.agency, rng)) if i in renamed else r
             for i, r in enumerate(rows) if i not in ended]
    fresh = []
    for i in ended[:5]:
        other = rng.choice([x for x in participating
                            if x.state != rows[i].state and x.type == rows[i].type])
        fresh.append(replace(rows[i], agency=other.agency, county=other.county))
    later += fresh
    rng.shuffle(later)
    diff = diff_snapshot([Known(r) for r in rows],
                         AgreementSnapshot("participating", "x", tuple(later)), now=START)
    ended_keys = {agreement_key(rows[i]) for i in ended}
    false_missing = [c.row.agency for c in diff.missing if c.key not in ended_keys]
    false_new = [c.row.agency for c in diff.added if c.row not in fresh]
    wrong = [c.row.agency for c in diff.renamed if c.old_key in ended_keys]
    print(f"\nseed {seed}: {len(diff.renamed)} renamed, {len(diff.changed)} changed, "
          f"{len(diff.missing)} missing (10 real), {len(diff.added)} added (5 real)")
    assert (false_missing, false_new, wrong) == ([], [], [])
    assert len(diff.missing) == 10 and len(diff.added) == len(fresh)
