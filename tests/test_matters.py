"""Matters on statutory clocks: FOIA due on the right working day, overdue, escalated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from monitor.config import load_config
from monitor.db import make_engine, read_session, write_session
from monitor.jobs import run_clocks
from monitor.matching import Matcher
from monitor.matters import pause_matter, set_matter_status, sync_config_matters
from monitor.migrate import upgrade
from monitor.models import Deadline, Event
from monitor.store import Store
from sources.base import PageObservation


def setup(tmp_path: Path, matter: str) -> tuple[Store, object]:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'm.db'}"

[escalation]
ladder = [30, 90, 180]

{matter}
""")
    config = load_config(str(path), {})
    engine = make_engine(config.database_url)
    upgrade(engine)
    return Store(engine, Matcher([])), config


FOIA = """
[[matter]]
id = "ice-foia-1"
kind = "foia"
agency = "ICE"
reference = "2025-ICFO-12345"
received = 2025-11-20
tags = ["287g"]
"""


def clock_row(store: Store, matter_id: str) -> Deadline:
    with read_session(store.engine) as session:
        return session.exec(select(Deadline).where(
            Deadline.key == f"matter:{matter_id}:clock")).one()


def test_foia_clock_due_overdue_and_escalation_on_the_right_days(tmp_path: Path) -> None:
    store, config = setup(tmp_path, FOIA)
    start = datetime(2025, 11, 21, 12, tzinfo=UTC)
    events = sync_config_matters(store.engine, config, now=start, listeners=store.listeners)
    assert [e.kind for e in events] == ["matter.added", "deadline.set"]
    # 20 working days from receipt 2025-11-20, Thanksgiving skipped -> Fri 2025-12-19
    assert clock_row(store, "ice-foia-1").due_date == date(2025, 12, 19)
    assert sync_config_matters(store.engine, config, now=start, listeners=store.listeners) == []

    seen: dict[date, list[str]] = {}
    now = datetime(2025, 12, 18, tzinfo=UTC)
    while now < datetime(2026, 7, 1, tzinfo=UTC):
        for event in run_clocks(store.engine, config, now=now, listeners=store.listeners):
            day = now.astimezone(ZoneInfo("America/New_York")).date()
            label = event.kind
            if event.kind == "matter.escalated":
                label += f":{event.data['step']}:{event.data['days_overdue']}"
            seen.setdefault(day, []).append(label)
        now += timedelta(hours=6)
    overdue_day = date(2025, 12, 20)
    assert seen[overdue_day] == ["deadline.overdue"]
    assert seen[date(2025, 12, 19)] == ["deadline.due_soon"]
    escalations = {d: v for d, v in seen.items() if any("escalated" in x for x in v)}
    assert escalations == {
        date(2026, 1, 18): ["matter.escalated:1:30"],
        date(2026, 3, 19): ["matter.escalated:2:90"],
        date(2026, 6, 17): ["matter.escalated:3:180"],
    }
    with read_session(store.engine) as session:
        last = session.exec(select(Event).where(Event.kind == "matter.escalated")).all()[-1]
    assert last.data["rule"] == "foia-552a6Ai" and last.data["days_elapsed"] > 180


def test_pause_extends_the_clock_by_the_working_days_paused(tmp_path: Path) -> None:
    store, config = setup(tmp_path, FOIA)
    now = datetime(2025, 11, 21, 12, tzinfo=UTC)
    sync_config_matters(store.engine, config, now=now, listeners=store.listeners)
    pause_matter(store.engine, config, "ice-foia-1", on=date(2025, 12, 1), resume=False,
                 now=now, listeners=store.listeners)
    events = pause_matter(store.engine, config, "ice-foia-1", on=date(2025, 12, 8), resume=True,
                          now=now, listeners=store.listeners)
    # Paused Mon 12-01 .. Mon 12-08: 5 working days -> due moves from 12-19 to 12-29
    # (12-22..12-26 holds Christmas: 22, 23, 24, 26, 29 are the five working days).
    assert [e.kind for e in events] == ["deadline.changed"]
    assert clock_row(store, "ice-foia-1").due_date == date(2025, 12, 29)


def test_status_page_updates_the_matter_once_per_change(tmp_path: Path) -> None:
    store, config = setup(tmp_path, FOIA)
    now = datetime(2025, 11, 21, 12, tzinfo=UTC)
    sync_config_matters(store.engine, config, now=now, listeners=store.listeners)
    first = store.apply([PageObservation("http://127.0.0.1/s", "Received", "ice-foia-1")],
                        source_id="page", now=now)
    assert [e.kind for e in first.events] == ["page.changed", "matter.status_changed"]
    assert first.events[0].data["baseline"] is True
    same = store.apply([PageObservation("http://127.0.0.1/s", "Received", "ice-foia-1")],
                       source_id="page", now=now + timedelta(hours=1))
    assert same.events == []
    moved = store.apply([PageObservation("http://127.0.0.1/s", "In process", "ice-foia-1")],
                        source_id="page", now=now + timedelta(hours=2))
    assert [e.kind for e in moved.events] == ["page.changed", "matter.status_changed"]
    assert moved.events[1].data["before"] == "Received"
    assert moved.events[0].data["before"] == "Received"
    with write_session(store.engine) as session:
        assert set_matter_status(session, store.listeners, "ice-foia-1", "In process",
                                 now=now) == []


def test_matter_clocks_read_the_rule_table_operator_rows_included(tmp_path: Path) -> None:
    """The FOIA and 1447(b) periods come from the rule table: an operator's `[[deadline_rule]]`
    with a built-in id reaches a matter's clock, and `semantics` shapes its label."""
    application = """
[[matter]]
id = "n400-1"
kind = "application"
agency = "USCIS"
received = 2025-11-20
"""
    store, config = setup(tmp_path, FOIA + application)
    start = datetime(2025, 11, 21, 12, tzinfo=UTC)
    sync_config_matters(store.engine, config, now=start, listeners=store.listeners)
    n400 = clock_row(store, "n400-1")
    assert n400.due_date == date(2026, 3, 20)  # 120 calendar days after 2025-11-20
    assert n400.label == "Naturalization decision due (suit may be filed the day after)"
    assert n400.citation == "8 U.S.C. 1447(b)"

    rules = """
[[deadline_rule]]
id = "foia-552a6Ai"
citation = "5 U.S.C. 552(a)(6)(A)(i), as the agency's regulation reads it"
trigger = "receipt of a FOIA request"
period = 15
unit = "working_days"
label = "FOIA determination due"
trigger_date = "entry"

[[deadline_rule]]
id = "ina-1447b"
citation = "8 U.S.C. 1447(b)"
trigger = "naturalization examination"
period = 90
unit = "calendar_days"
label = "Decision due"
semantics = "deadline"
"""
    (tmp_path / "operator").mkdir()
    store, config = setup(tmp_path / "operator", FOIA + application + rules)
    sync_config_matters(store.engine, config, now=start, listeners=store.listeners)
    foia = clock_row(store, "ice-foia-1")
    # 15 working days from 2025-11-20, Thanksgiving skipped -> Fri 2025-12-12
    assert foia.due_date == date(2025, 12, 12)
    assert foia.citation.endswith("as the agency's regulation reads it")
    n400 = clock_row(store, "n400-1")
    assert (n400.due_date, n400.label) == (date(2026, 2, 18), "Decision due")
