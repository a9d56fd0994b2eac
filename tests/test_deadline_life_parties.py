"""Whose deadline an order moves or sets: the motion it grants, the parties it names, the other
names of a party (d/b/a), and the date by which a denied motion may be renewed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from monitor.config import WatchConfig, load_config
from monitor.db import make_engine, read_session
from monitor.deadlines.docket_text import with_party_aliases
from monitor.deadlines.service import make_deadline_listener, run_reminders
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Deadline, Event
from monitor.replay_input import party_aliases
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation

NY = ZoneInfo("America/New_York")
CASE = dict(court="nysd", docket_number="1:24-cv-00999", docket_number_raw="1:24-cv-00999",
            case_name="Doe v. Acme Widgets Inc")

Docket = list[tuple[date, int | None, str]]


def replay(tmp_path: Path, docket: Docket, *, until: date,
           aliases: tuple[tuple[str, str], ...] = ()) -> tuple[Store, list[Event]]:
    """Entries at noon, the docket read at 07:55, reminders at 08:00 and after the entries."""
    config = load_config(None, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine, Matcher([WatchConfig(name="w", case_name=["(?i)acme"])]),
                  [make_deadline_listener(config, aliases)])
    events: list[Event] = []
    day = docket[0][0]
    while day <= until:
        store.apply([CaseObservation(**CASE, cl_synced=True)], source_id="cl",
                    now=datetime.combine(day, time(7, 55), NY))
        events += run_reminders(engine, config, now=datetime.combine(day, time(8), NY),
                                listeners=store.listeners)
        todays = tuple(EntryObservation(n, d, text) for d, n, text in docket if d == day)
        if todays:
            noon = datetime.combine(day, time(12), NY)
            events += store.apply([CaseObservation(**CASE, entries=todays, cl_synced=True)],
                                  source_id="cl", now=noon).events
            events += run_reminders(engine, config, now=noon, listeners=store.listeners)
        day += timedelta(days=1)
    return store, [e for e in events if e.kind.startswith("deadline.")]


def rows(store: Store) -> list[Deadline]:
    with read_session(store.engine) as session:
        return list(session.exec(select(Deadline)).all())


def kinds(events: list[Event], label_word: str) -> list[tuple[date, str, str]]:
    return [(e.at.astimezone(NY).date(), e.kind, str(e.data.get("due_date") or ""))
            for e in events if label_word.lower() in str(e.data.get("label", "")).lower()]


SERVED: Docket = [
    (date(2024, 3, 1), 1, "COMPLAINT against Acme Widgets Inc, Bolt Tools LLC filed by JOHN DOE."),
    (date(2024, 3, 8), 5, "SUMMONS Returned Executed as to Acme Widgets Inc on 3/5/2024, "
                          "answer due: 3/26/2024."),
    (date(2024, 3, 8), 6, "SUMMONS Returned Executed as to Bolt Tools LLC on 3/5/2024, "
                          "answer due: 3/26/2024."),
]


def test_order_granting_a_motion_moves_the_deadline_that_motion_asked_to_extend(
        tmp_path: Path) -> None:
    # the order calls Acme by its trade name; only Acme's motion asked: Acme's deadline moves
    docket = [*SERVED,
              (date(2024, 3, 25), 9, "Consent MOTION for Extension of Time to File Answer by "
                                     "Acme Widgets Inc."),
              (date(2024, 3, 27), 10, "ORDER granting 9 Motion for Extension of Time to Answer. "
                                      "Sprocket's answer is due 4/15/2024. Signed by Judge X."),
              (date(2024, 3, 28), 11, "ANSWER to 1 Complaint by Bolt Tools LLC.")]
    store, events = replay(tmp_path, docket, until=date(2024, 4, 20))
    answers = {r.party: r for r in rows(store) if r.obligation == "respond-complaint"}
    assert set(answers) == {"Acme Widgets Inc", "Bolt Tools LLC"}, answers
    assert answers["Acme Widgets Inc"].due_date == date(2024, 4, 15)
    acme = kinds(events, "Acme")
    assert (date(2024, 3, 27), "deadline.changed", "2024-04-15") in acme
    # at 08:00 on 3/27 the timely motion was pending: unverified, never overdue
    assert not [k for k in acme if k[1] == "deadline.overdue" and k[0] < date(2024, 4, 16)]
    assert (date(2024, 3, 27), "deadline.unverified", "2024-03-26") in acme
    bolt = kinds(events, "Bolt")
    assert (date(2024, 3, 27), "deadline.overdue", "2024-03-26") in bolt
    assert (date(2024, 3, 28), "deadline.met", "2024-03-26") in bolt


def test_a_party_alias_picks_the_deadline_when_one_motion_asked_for_two(
        tmp_path: Path) -> None:
    # the plaintiff asked for both defendants; the order extends only "Sprocket" = Acme (d/b/a)
    aliases = party_aliases([{"name": "Acme Widgets Inc",
                              "extra_info": "doing business as\nSprocket LLC\n"},
                             {"name": "Bolt Tools LLC", "extra_info": ""}])
    assert aliases == (("Sprocket LLC", "Acme Widgets Inc"),)
    docket = [*SERVED,
              (date(2024, 3, 20), 9, "MOTION for Extension of Time to File Answer by JOHN DOE."),
              (date(2024, 3, 21), 10, "ORDER granting 9 Motion for Extension of Time to Answer. "
                                      "Sprocket's answer is due 4/15/2024. Signed by Judge X.")]
    store, _ = replay(tmp_path, docket, until=date(2024, 3, 22), aliases=aliases)
    answers = {r.party: r for r in rows(store) if r.obligation == "respond-complaint"}
    assert {p: r.due_date for p, r in answers.items()} == {
        "Acme Widgets Inc": date(2024, 4, 15), "Bolt Tools LLC": date(2024, 3, 26)}
    # the order said whose time it extends: Bolt's reminders carry no "extension granted"
    assert answers["Bolt Tools LLC"].extension_requested is None


def test_an_order_naming_several_defendants_gives_each_its_deadline(tmp_path: Path) -> None:
    docket = [
        (date(2024, 5, 1), 1, "COMPLAINT against Acme Widgets Inc, Bolt Tools LLC, Crane "
                              "Co., Inc. filed by JOHN DOE."),
        (date(2024, 5, 10), 8, "ORDER granting 7 Motion for Extension of Time. Defendants Acme "
                               "Widgets, Inc., Bolt Tools, LLC, and Crane Co., Inc. shall have "
                               "until June 14, 2024, to file their answers to the complaint or "
                               "other responsive pleadings. Signed by Judge X."),
        (date(2024, 6, 14), 12, "MOTION to Dismiss for Failure to State a Claim by Bolt Tools, "
                                "LLC."),
        (date(2024, 6, 14), 13, "ANSWER to 1 Complaint by Acme Widgets, Inc."),
    ]
    store, events = replay(tmp_path, docket, until=date(2024, 6, 16))
    answers = {r.party: r for r in rows(store) if r.obligation == "respond-complaint"}
    assert {p: r.due_date for p, r in answers.items()} == {
        "Acme Widgets, Inc": date(2024, 6, 14), "Bolt Tools, LLC": date(2024, 6, 14),
        "Crane Co., Inc": date(2024, 6, 14)}
    assert (answers["Acme Widgets, Inc"].met_by or {}).get("entry_number") == 13
    assert (answers["Bolt Tools, LLC"].met_by or {}).get("entry_number") == 12
    assert answers["Crane Co., Inc"].state == "overdue"
    assert [k for k in kinds(events, "Crane") if k[1] == "deadline.overdue"] == [
        (date(2024, 6, 15), "deadline.overdue", "2024-06-14")]


def test_a_denial_without_prejudice_to_renewal_by_a_date_is_a_window_that_lapses(
        tmp_path: Path) -> None:
    docket = [
        (date(2024, 1, 2), 1, "COMPLAINT against Acme Widgets Inc filed by JOHN DOE."),
        (date(2024, 1, 3), 2, "MOTION to Certify Class by JOHN DOE."),
        (date(2024, 2, 1), 9, "ORDER: Plaintiff's motion to certify a class, ECF 2, is DENIED "
                              "without prejudice to renewal by March 1, 2024. Signed by Judge X."),
    ]
    store, events = replay(tmp_path, docket, until=date(2024, 3, 10))
    renew = [r for r in rows(store) if r.obligation.startswith("order:renew")]
    assert len(renew) == 1 and renew[0].due_date == date(2024, 3, 1)
    assert "class" in renew[0].label.lower() and "[2]" in renew[0].label
    seen = [k[1] for k in kinds(events, "renewal")]
    assert seen[0] == "deadline.set" and seen.count("deadline.due_soon") == 4
    assert "deadline.overdue" not in seen and "deadline.unverified" not in seen
    # renewed in time: met, no more reminders
    docket.append((date(2024, 2, 20), 12, "Renewed MOTION to Certify Class by JOHN DOE."))
    store2, events2 = replay(tmp_path / "b", docket, until=date(2024, 3, 10))
    seen2 = [(k[0], k[1]) for k in kinds(events2, "renewal")]
    assert (date(2024, 2, 20), "deadline.met") in seen2
    assert not [k for k in seen2 if k[0] > date(2024, 2, 20)]


def test_aliases_are_read_as_their_party_unless_two_parties_share_one() -> None:
    aliases = (("Sprocket LLC", "Acme Widgets Inc"), ("Gear Co", "Acme Widgets Inc"),
               ("Gear Co", "Bolt Tools LLC"), ("Acme", "Acme Widgets Inc"))
    assert with_party_aliases("Sprocket's answer is due 4/15/2024.", aliases) \
        == "Acme Widgets Inc's answer is due 4/15/2024."
    assert with_party_aliases("Gear Co's answer is due", aliases) == "Gear Co's answer is due"
    assert with_party_aliases("Sprockets are due", aliases) == "Sprockets are due"
