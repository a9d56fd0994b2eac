"""The life of a case's deadlines, day by day through the Store and the reminders: one obligation
one deadline, moved by extension orders, met by the response, vacated at the close, overdue only
on evidence. Dockets written for the test in the words clerks use."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from monitor.config import WatchConfig, load_config
from monitor.db import make_engine, read_session
from monitor.deadlines.service import make_deadline_listener, run_reminders
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Deadline, Event
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation

NY = ZoneInfo("America/New_York")
CASE = dict(court="dcd", docket_number="1:25-cv-00777", docket_number_raw="1:25-cv-00777",
            case_name="Roe v. U.S. Citizenship and Immigration Services")

Docket = list[tuple[date, int | None, str]]


def replay(tmp_path: Path, docket: Docket, *, until: date, closed: date | None = None,
           read: bool = True) -> tuple[Store, list[Event]]:
    """Entries day by day at noon, the docket read (CourtListener sync) at 07:55 when `read`,
    reminders at 08:00 and after the entries; the case closed on `closed`."""
    config = load_config(None, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine, Matcher([WatchConfig(name="w", case_name=["(?i)citizenship"])]),
                  [make_deadline_listener(config)])
    events: list[Event] = []
    day = docket[0][0]
    while day <= until:
        if read:
            store.apply([CaseObservation(**CASE, cl_synced=True)], source_id="cl",
                        now=datetime.combine(day, time(7, 55), NY))
        events += run_reminders(engine, config, now=datetime.combine(day, time(8), NY),
                                listeners=store.listeners)
        todays = tuple(EntryObservation(n, d, text) for d, n, text in docket if d == day)
        if todays or day == closed:
            noon = datetime.combine(day, time(12), NY)
            events += store.apply([CaseObservation(
                **CASE, entries=todays, cl_synced=read,
                date_terminated=closed if closed and day >= closed else None)],
                source_id="cl", now=noon).events
            events += run_reminders(engine, config, now=noon, listeners=store.listeners)
        day += timedelta(days=1)
    return store, [e for e in events if e.kind.startswith("deadline.")]


def rows(store: Store) -> list[Deadline]:
    with read_session(store.engine) as session:
        return list(session.exec(select(Deadline)).all())


def answer_events(events: list[Event]) -> list[tuple[date, str]]:
    return [(e.at.astimezone(NY).date(), e.kind) for e in events
            if e.data.get("obligation") == "respond-complaint"]


MANDAMUS: Docket = [
    (date(2025, 3, 3), 1, "COMPLAINT for Writ of Mandamus against U.S. CITIZENSHIP AND "
                          "IMMIGRATION SERVICES filed by JANE ROE."),
    (date(2025, 3, 12), 5, "RETURN OF SERVICE/AFFIDAVIT of Summons and Complaint Executed as to "
                           "the United States Attorney. Date of Service Upon United States "
                           "Attorney on 3/10/2025. (Answer due for ALL FEDERAL DEFENDANTS by "
                           "5/9/2025.)"),
    (date(2025, 3, 12), 6, "RETURN OF SERVICE/AFFIDAVIT of Summons and Complaint Executed on "
                           "U.S. Citizenship and Immigration Services"),
    (date(2025, 5, 5), 7, "Consent MOTION for Extension of Time to File Answer re 1 Complaint by "
                          "U.S. CITIZENSHIP AND IMMIGRATION SERVICES."),
    (date(2025, 5, 6), None, "MINUTE ORDER granting 7 Consent Motion for Extension of Time to "
                             "Answer. Defendants shall answer or otherwise respond to the "
                             "Complaint on or before June 9, 2025. Signed by Judge A. B."),
    (date(2025, 5, 6), None, "Set/Reset Deadlines: Answer due by 6/9/2025."),
    (date(2025, 6, 2), 8, "Second Consent MOTION for Extension of Time to File Answer by "
                          "U.S. CITIZENSHIP AND IMMIGRATION SERVICES."),
    (date(2025, 6, 3), None, "MINUTE ORDER granting 8 Motion for Extension of Time to Answer. "
                             "Answer due by 7/9/2025."),
    (date(2025, 7, 9), 9, "MOTION to Dismiss for Lack of Jurisdiction by U.S. CITIZENSHIP AND "
                          "IMMIGRATION SERVICES. (Attachments: # 1 Memorandum in Support)"),
    (date(2025, 7, 10), None, "MINUTE ORDER: Plaintiff's opposition to 9 Motion to Dismiss due "
                              "by 7/23/2025; reply due by 7/30/2025."),
    (date(2025, 7, 23), 10, "Memorandum in opposition to re 9 MOTION to Dismiss for Lack of "
                            "Jurisdiction filed by JANE ROE."),
    (date(2025, 8, 20), 12, "NOTICE of Voluntary Dismissal by JANE ROE"),
]


def test_the_answer_is_one_deadline_moved_by_each_extension_and_met(tmp_path: Path) -> None:
    store, events = replay(tmp_path, MANDAMUS, until=date(2025, 9, 15),
                           closed=date(2025, 8, 21))
    answers = [r for r in rows(store) if r.obligation == "respond-complaint"]
    assert len(answers) == 1
    (answer,) = answers
    assert answer.state == "met" and answer.due_date == date(2025, 7, 9)
    assert answer.met_by and answer.met_by["entry_number"] == 9
    assert answer.computed_due == date(2025, 5, 9)  # 12(a)(2): 3/10 + 60
    kinds = answer_events(events)
    assert [k for _, k in kinds if k in ("deadline.set", "deadline.changed", "deadline.met")] \
        == ["deadline.set", "deadline.changed", "deadline.changed", "deadline.met"]
    assert not [k for _, k in kinds if k in ("deadline.overdue", "deadline.unverified")]
    # one reminder per lead day and due date: never two for the same day
    reminders = [(d, e.data["due_date"]) for e in events if e.kind == "deadline.due_soon"
                 for d in [e.at.astimezone(NY).date()] if e.data["obligation"]
                 == "respond-complaint"]
    assert len(reminders) == len(set(reminders))
    # nothing stays open after the case closes; no overdue after a satisfying filing
    assert {r.state for r in rows(store)} <= {"met", "vacated", "lapsed"}
    met = {e.data["key"]: e.at for e in events if e.kind == "deadline.met"}
    assert not [e for e in events if e.kind == "deadline.overdue" and e.data["key"] in met
                and e.at > met[e.data["key"]]]
    opposition = next(r for r in rows(store) if r.obligation == "oppose:9")
    assert opposition.state == "met" and opposition.label == (
        "Opposition to motion to dismiss for lack of jurisdiction [9]")
    assert next(r for r in rows(store) if r.obligation == "reply:9").state in ("lapsed", "vacated")
    # an extension motion asks for no opposition; a reply is a right: no overdue at all here
    assert not [r for r in rows(store) if r.obligation == "oppose:8"]
    assert not [e for e in events if e.kind == "deadline.overdue"]


def test_show_cause_period_then_overdue_only_after_a_fresh_read(tmp_path: Path) -> None:
    docket: Docket = [
        (date(2025, 4, 1), 1, "PETITION for Writ of Mandamus filed by JANE ROE."),
        (date(2025, 4, 2), 3, "ORDER TO SHOW CAUSE: Respondents shall file a return within "
                              "thirty (30) days of the date of this Order showing cause why the "
                              "writ should not issue. Signed by Judge A. B."),
    ]
    store, events = replay(tmp_path / "read", docket, until=date(2025, 5, 10))
    (row,) = [r for r in rows(store) if r.obligation == "respond-complaint"]
    assert row.due_date == date(2025, 5, 2)  # Wed 4/2 + 30 = Fri 5/2
    overdue = [e for e in events if e.kind == "deadline.overdue"
               and e.data["obligation"] == "respond-complaint"]
    assert [e.at.astimezone(NY).date() for e in overdue] == [date(2025, 5, 3)]
    data = overdue[0].data
    assert data["looked_for"] == "response to complaint"
    assert data["last_checked"].startswith("2025-05-03")
    assert data["last_entry"]["entry_number"] == 3

    stale_store, stale = replay(tmp_path / "stale", docket, until=date(2025, 5, 10), read=False)
    kinds = [e.kind for e in stale if e.data.get("obligation") == "respond-complaint"
             and e.kind in ("deadline.overdue", "deadline.unverified")]
    assert kinds == ["deadline.unverified"]  # once, and never "overdue" from a stale docket


def test_a_stay_suspends_and_its_lifting_resumes(tmp_path: Path) -> None:
    docket: Docket = [
        (date(2025, 4, 1), 1, "COMPLAINT for Writ of Mandamus filed by JANE ROE."),
        (date(2025, 4, 2), 3, "MINUTE ORDER: Defendants shall answer or otherwise respond to "
                              "the [1] Complaint by 5/15/2025."),
        (date(2025, 5, 1), 4, "MINUTE ORDER granting 3 Joint Motion; this case is STAYED pending "
                              "the agency's adjudication."),
        (date(2025, 6, 2), 5, "MINUTE ORDER lifting the stay. Defendants shall answer or "
                              "otherwise respond to the Complaint by 6/30/2025."),
        (date(2025, 6, 20), 6, "ANSWER to 1 Complaint by U.S. CITIZENSHIP AND IMMIGRATION "
                               "SERVICES."),
    ]
    store, events = replay(tmp_path, docket, until=date(2025, 7, 15))
    answer = [(d, k) for d, k in answer_events(events) if k != "deadline.due_soon"]
    assert answer == [(date(2025, 4, 2), "deadline.set"), (date(2025, 5, 1), "deadline.suspended"),
                      (date(2025, 6, 2), "deadline.changed"), (date(2025, 6, 20), "deadline.met")]
    assert not [e for e in events if e.kind == "deadline.due_soon"
                and date(2025, 5, 1) <= e.at.astimezone(NY).date() < date(2025, 6, 2)]


def test_a_deadline_set_while_the_case_is_stayed_waits_for_the_lift(tmp_path: Path) -> None:
    # the stay is an earlier entry: the case's history is what says the new deadline is stayed
    docket: Docket = [
        (date(2025, 4, 1), 1, "COMPLAINT for Writ of Mandamus filed by JANE ROE."),
        (date(2025, 5, 1), 4, "MINUTE ORDER granting 3 Joint Motion; this case is STAYED pending "
                              "the agency's adjudication."),
        (date(2025, 5, 5), 5, "NOTICE of Appearance by John Smith on behalf of All Defendants."),
        (date(2025, 5, 12), 6, "MINUTE ORDER: The parties shall file a joint status report by "
                               "6/16/2025."),
    ]
    store, events = replay(tmp_path, docket, until=date(2025, 5, 20))
    (report,) = [r for r in rows(store) if r.obligation.startswith("status-report")]
    assert report.state == "suspended"
    kinds = [e.kind for e in events if e.data.get("obligation", "").startswith("status-report")]
    assert kinds == ["deadline.set", "deadline.suspended"]


def test_a_period_from_a_future_event_waits_for_it(tmp_path: Path) -> None:
    docket: Docket = [
        (date(2025, 4, 1), 1, "COMPLAINT for Writ of Mandamus filed by JANE ROE."),
        (date(2025, 4, 2), 3, "ORDER: Plaintiff shall file a reply 14 days after service of the "
                              "opposition."),
        (date(2025, 4, 20), 4, "OPPOSITION to Plaintiff's motion filed by USCIS."),
    ]
    store, events = replay(tmp_path, docket, until=date(2025, 4, 21))
    (reply,) = [r for r in rows(store) if r.obligation.startswith("reply")]
    assert reply.state == "open" and reply.due_date == date(2025, 5, 5)  # 4/20 + 14 = Sun -> Mon
    sets = [e.at.astimezone(NY).date() for e in events if e.kind == "deadline.set"
            and e.data["obligation"].startswith("reply")]
    assert sets == [date(2025, 4, 20)]
