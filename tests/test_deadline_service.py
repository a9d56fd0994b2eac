"""Deadlines in the database: derived from docket entries, reminded on the right days, moved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from monitor.config import WatchConfig, load_config
from monitor.db import make_engine, read_session, write_session
from monitor.deadlines.service import make_deadline_listener, run_reminders
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Deadline, Event, SourceState
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation

WATCH = WatchConfig(name="w", tags=["mandamus"], case_name=["(?i)citizenship"])
CASE = dict(
    court="dcd",
    docket_number="1:26-cv-00412",
    docket_number_raw="1:26-cv-00412",
    case_name="Doe v. U.S. Citizenship and Immigration Services",
)


def setup(tmp_path: Path) -> tuple[Store, object]:
    config = load_config(None, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine, Matcher([WATCH]), [make_deadline_listener(config)])
    return store, config


def entry(number: int, day: date, text: str) -> EntryObservation:
    return EntryObservation(number, day, text)


def deadlines(store: Store) -> dict[str, Deadline]:
    with read_session(store.engine) as session:
        return {d.key.split(":", 2)[2]: d for d in session.exec(select(Deadline)).all()}


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_summons_on_us_attorney_sets_the_60_day_answer_deadline(tmp_path: Path) -> None:
    store, _ = setup(tmp_path)
    now = datetime(2026, 3, 27, 15, tzinfo=UTC)
    text = (
        "SUMMONS Returned Executed as to United States Attorney. Date of Service Upon "
        "United States Attorney on 3/26/2026. Answer due for ALL FEDERAL DEFENDANTS"
    )
    result = store.apply(
        [CaseObservation(**CASE, entries=(entry(5, date(2026, 3, 27), text),))],
        source_id="t",
        now=now,
    )
    assert "deadline.set" in kinds(result.events)
    answer = deadlines(store)["respond-complaint"]
    # Thu 2026-03-26 + 60 = Mon 2026-05-25 (Memorial Day) -> Tue 2026-05-26
    assert answer.due_date == date(2026, 5, 26)
    assert answer.trigger_date == date(2026, 3, 26) and not answer.trigger_estimated
    assert any("Memorial Day" in step for step in answer.steps)
    assert answer.citation == "FRCP 12(a)(2)"
    assert answer.timezone == "America/New_York"


def test_service_date_missing_runs_from_entry_date_and_says_estimated(tmp_path: Path) -> None:
    store, _ = setup(tmp_path)
    now = datetime(2026, 3, 27, 15, tzinfo=UTC)
    text = "SUMMONS Returned Executed as to United States Attorney"
    store.apply(
        [CaseObservation(**CASE, entries=(entry(5, date(2026, 3, 27), text),))],
        source_id="t",
        now=now,
    )
    answer = deadlines(store)["respond-complaint"]
    assert answer.trigger_estimated and answer.trigger_date == date(2026, 3, 27)


def test_court_set_date_outranks_and_both_are_shown(tmp_path: Path) -> None:
    store, _ = setup(tmp_path)
    now = datetime(2026, 3, 20, 15, tzinfo=UTC)
    store.apply(
        [
            CaseObservation(
                **CASE,
                entries=(
                    entry(6, date(2026, 3, 20), "MOTION to Dismiss by all defendants"),
                    entry(
                        7,
                        date(2026, 3, 20),
                        "MINUTE ORDER: Plaintiff's Opposition due by 4/10/2026.",
                    ),
                ),
            )
        ],
        source_id="t",
        now=now,
    )
    rows = deadlines(store)
    # one obligation, one deadline: the court's date, the rule's kept beside it
    opposition = [d for k, d in rows.items() if k.startswith("oppose")]
    assert [d.key.split(":", 2)[2] for d in opposition] == ["oppose:6"]
    court = opposition[0]
    assert court.origin == "court-set" and court.due_date == date(2026, 4, 10)
    assert court.computed_due == date(2026, 4, 3) and court.rule_id == "dcd-lcvr7b"
    assert court.label == "Opposition to motion to dismiss [6]"


def test_reminders_fire_on_the_right_days_once_each_then_overdue(tmp_path: Path) -> None:
    store, config = setup(tmp_path)
    start = datetime(2026, 3, 27, 15, tzinfo=UTC)
    text = "SUMMONS Returned Executed as to United States Attorney. Served on 3/26/2026."
    store.apply(
        [CaseObservation(**CASE, entries=(entry(5, date(2026, 3, 27), text),))],
        source_id="t",
        now=start,
    )
    due = deadlines(store)["respond-complaint"].due_date
    fired: dict[date, list[tuple[str, int | None]]] = {}
    # Every 15 minutes for the whole run-up: what fires, on which local day. Nobody reads the
    # docket until 05-28: the day after the due date is "unverified", then "overdue".
    now = datetime(2026, 5, 15, 0, tzinfo=UTC)
    while now < datetime(2026, 5, 29, tzinfo=UTC):
        if now == datetime(2026, 5, 28, 14, tzinfo=UTC):
            with write_session(store.engine) as session:
                session.add(SourceState(source_id="rss", target="dcd", kind="pacer_rss",
                                        last_success=now))
        for event in run_reminders(store.engine, config, now=now, listeners=store.listeners):
            day = now.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).date()
            fired.setdefault(day, []).append(
                (event.kind, event.data.get("days_left", event.data.get("days_overdue")))
            )
        now += timedelta(minutes=15)
    # 12(a)(2) answer deadline: 2026-05-26; leads 7, 3, 1, 0; overdue from 05-27.
    assert due == date(2026, 5, 26)
    assert fired == {
        date(2026, 5, 19): [("deadline.due_soon", 7)],
        date(2026, 5, 23): [("deadline.due_soon", 3)],
        date(2026, 5, 25): [("deadline.due_soon", 1)],
        date(2026, 5, 26): [("deadline.due_soon", 0)],
        date(2026, 5, 27): [("deadline.unverified", 1)],
        date(2026, 5, 28): [("deadline.overdue", 2)],
    }


def test_moved_deadline_is_changed_with_a_higher_sequence(tmp_path: Path) -> None:
    store, _ = setup(tmp_path)
    now = datetime(2026, 3, 20, 15, tzinfo=UTC)
    store.apply(
        [
            CaseObservation(
                **CASE,
                entries=(entry(7, date(2026, 3, 20), "MINUTE ORDER: Answer due by 4/10/2026."),),
            )
        ],
        source_id="t",
        now=now,
    )
    result = store.apply(
        [
            CaseObservation(
                **CASE,
                entries=(
                    entry(
                        9,
                        date(2026, 3, 25),
                        "MINUTE ORDER granting extension: Answer due by 4/24/2026.",
                    ),
                ),
            )
        ],
        source_id="t",
        now=now + timedelta(days=5),
    )
    assert kinds(result.events) == ["entry.added", "deadline.changed"]
    row = deadlines(store)["respond-complaint"]
    assert row.due_date == date(2026, 4, 24) and row.sequence == 1
    assert result.events[1].data["before"] == "2026-04-10"
