"""End to end, the agency side: matters on statutory clocks, status pages, ICE 287(g) lists.

Everything through the command line with an injected clock, against real local servers on
127.0.0.1 (pages and XLSX workbooks on a FeedServer, email to a real SMTP server), a real SQLite
file and the Atom/ICS files written to the feeds directory.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import event_rows as all_events
from tests.cli_helpers import poll_once as poll
from tests.cli_helpers import run, run_json
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import SmtpServer, smtp_server

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CASE_NAME = "Doe v. U.S. Immigration and Customs Enforcement"


def at(day: date, hour: int = 13) -> datetime:
    """`hour` UTC on `day` (13:00 UTC is 9:00 in New York, after remind_at 08:00)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def base_config(tmp_path: Path, smtp: SmtpServer, *, events: str, body: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[escalation]
ladder = [30, 90, 180]

[[watch]]
name = "none"
case_name = ["(?i)no case is named like this"]

[[subscription]]
name = "attorneys"
urls = ["{smtp.apprise_url()}"]
events = {events}
{body}
""")
    return str(path)


def subjects(smtp: SmtpServer, since: int) -> list[str]:
    return [str(m.message["Subject"]) for m in smtp.received[since:]]


# ---------------------------------------------------------------------------- FOIA clock


def test_foia_clock_overdue_escalation_by_email_and_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    received = date(2026, 6, 1)  # a Monday
    # 20 working days, the day of receipt not counted (5 U.S.C. 552(a)(6)(A)(i)):
    #   Jun 2-5 (1-4), Jun 8-12 (5-9), Jun 15-18 (10-13; Fri Jun 19 Juneteenth is a legal
    #   public holiday), Jun 22-26 (14-18), Mon Jun 29 (19), Tue Jun 30 (20).
    due = date(2026, 6, 30)
    clock = FixedClock(at(received))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/dcd/rss", rss("dcd", [Item(
            "dcd", "1:26-cv-00412-ABC", CASE_NAME, "NOTICE of Related Case", 2,
            case_id="290001", when=at(received, 12))]))
        cfg = base_config(tmp_path, smtp, events='["deadline.*", "matter.*"]', body=f"""
[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "{server.base}/{{court}}/rss"

[[matter]]
id = "foia-ice-2026-01"
kind = "foia"
agency = "ICE FOIA Office"
reference = "2026-ICFO-12345"
filed = 2026-05-29
received = {received.isoformat()}
tags = ["287g"]
case = "dcd:1:26-cv-00412"

[[matter]]
id = "crcl-slow"
kind = "complaint"
agency = "DHS CRCL"
reference = "CRCL-2026-0001"
received = {received.isoformat()}
expect_response_days = 365
""")
        assert run(["--config", cfg, "track", "dcd", "1:26-cv-00412"], clock) == 0
        poll(cfg, clock)
        first = all_events(cfg, clock, capsys)
        foia = [e for e in first if e["subject"] == "matter:foia-ice-2026-01"]
        assert [e["kind"] for e in foia] == ["matter.added", "deadline.set"]
        assert foia[1]["data"]["due"] == due.isoformat()
        assert foia[1]["data"]["citation"] == "5 U.S.C. 552(a)(6)(A)(i)"
        # matter.added and deadline.set of each matter: one email per event
        assert len(smtp.received) == 4

        # Day by day around the due date: reminders, then overdue the day after, once.
        by_day: dict[date, list[str]] = {}
        mark = first[-1]["id"]
        day = date(2026, 6, 22)
        while day <= date(2026, 7, 3):
            clock.now = at(day)
            mails = len(smtp.received)
            poll(cfg, clock)
            new = all_events(cfg, clock, capsys, after=mark)
            mark = new[-1]["id"] if new else mark
            kinds = [e["kind"] for e in new if e["subject"] == "matter:foia-ice-2026-01"]
            if kinds:
                by_day[day] = kinds
            assert len(smtp.received) - mails == len(new), subjects(smtp, mails)
            if day == due:
                rows = run_json(["--config", cfg, "matters"], clock, capsys)
                row = next(r for r in rows if r["id"] == "foia-ice-2026-01")
                assert row["clock"]["due"] == "2026-06-30" and row["overdue"] is False
                assert run_json(["--config", cfg, "matters", "--overdue"], clock, capsys) == []
            day += timedelta(days=1)
        assert by_day == {
            date(2026, 6, 23): ["deadline.due_soon"],  # 7 days before
            date(2026, 6, 27): ["deadline.due_soon"],  # 3
            date(2026, 6, 29): ["deadline.due_soon"],  # 1
            date(2026, 6, 30): ["deadline.due_soon"],  # the day itself
            date(2026, 7, 1): ["deadline.overdue"],
        }
        overdue_mail = smtp.received[-1]
        assert "overdue" in str(overdue_mail.message["Subject"]).lower()

        # The escalation ladder: 30, 90 and 180 days overdue (and not the day before each).
        steps: dict[date, list[dict[str, Any]]] = {}
        for day in (date(2026, 7, 29), date(2026, 7, 30), date(2026, 9, 27),
                    date(2026, 9, 28), date(2026, 12, 26), date(2026, 12, 27),
                    date(2026, 12, 28)):
            clock.now = at(day)
            mails = len(smtp.received)
            poll(cfg, clock)
            new = all_events(cfg, clock, capsys, after=mark)
            mark = new[-1]["id"] if new else mark
            assert len(smtp.received) - mails == len(new)
            escalated = [e for e in new if e["kind"] == "matter.escalated"]
            if escalated:
                steps[day] = escalated
        assert {d: [(e["data"]["step"], e["data"]["days_overdue"]) for e in es]
                for d, es in steps.items()} == {
            date(2026, 7, 30): [(1, 30)],   # Jun 30 + 30 days
            date(2026, 9, 28): [(2, 90)],   # Jun 30 + 90 days
            date(2026, 12, 27): [(3, 180)],  # Jun 30 + 180 days
        }
        last = steps[date(2026, 12, 27)][0]
        assert last["data"]["days_elapsed"] == (date(2026, 12, 27) - received).days
        assert last["data"]["rule"] == "foia-552a6Ai" and last["data"]["due"] == "2026-06-30"
        escalation_mails = [m for m in smtp.received
                            if "2026-ICFO-12345" in m.part("plain")
                            and "step" in m.part("plain").lower()]
        assert len(escalation_mails) == 3

        overdue = run_json(["--config", cfg, "matters", "--overdue"], clock, capsys)
        assert [r["id"] for r in overdue] == ["foia-ice-2026-01"]
        assert overdue[0]["escalation_step"] == 3

        detail = run_json(["--config", cfg, "matter", "foia-ice-2026-01"], clock, capsys)
        assert detail["clock"]["due"] == "2026-06-30" and detail["case"] == "dcd:1:26-cv-00412"
        agency = [r["kind"] for r in detail["timeline"] if r["side"] == "agency"]
        assert agency == ["matter.added", "deadline.set"] + ["deadline.due_soon"] * 4 + [
            "deadline.overdue"] + ["matter.escalated"] * 3
        court = [r for r in detail["timeline"] if r["side"] == "court"]
        assert [r["kind"] for r in court] == ["case.discovered", "entry.added"]
        assert "NOTICE of Related Case" in court[1]["summary"]
        assert [r["at"] for r in detail["timeline"]] == sorted(r["at"] for r in
                                                                 detail["timeline"])


# ---------------------------------------------------------------------------- status page


def page(status: str, markup: int = 0) -> bytes:
    """The agency's tracker page; `markup` varies tags, attributes and whitespace only."""
    if markup == 0:
        box = f'<div id="status"><b>Status:</b> <span>{status}</span></div>'
    else:
        words = "   ".join(status.split())
        box = (f'<div class="box v{markup}" id="status" data-rev="{markup}">\n  '
               f'<strong class="label">Status:</strong>\n   <em><a href="#s">{words}</a></em>\n'
               "</div>")
    return (f"<!doctype html><html><head><title>Tracker</title><style>b {{color: red}}</style>"
            f"</head><body><h1>Request CRCL-2026-0042</h1>{box}"
            f"<p>Last updated {markup}</p></body></html>").encode()


def test_status_page_changes_the_matter_status_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(datetime(2026, 3, 4, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/status", page("Received"), "text/html; charset=utf-8")
        cfg = base_config(tmp_path, smtp, events='["matter.*", "page.*", "source.*"]', body=f"""
[[source]]
id = "crcl-status"
kind = "web_page"
url = "{server.url('/status')}"
selector = "#status"
capture = "(?i)status:\\\\s*(.+)"
matter = "crcl-2026-0042"
fail_after = 3

[[matter]]
id = "crcl-2026-0042"
kind = "complaint"
agency = "DHS CRCL"
reference = "CRCL-2026-0042"
received = 2026-03-04
expect_response_days = 90
""")
        poll(cfg, clock)
        first = all_events(cfg, clock, capsys)
        baseline = [e for e in first if e["kind"] == "page.changed"]
        assert len(baseline) == 1 and baseline[0]["data"]["baseline"] is True
        assert baseline[0]["data"]["after"] == "Received"
        status_events = [e for e in first if e["kind"] == "matter.status_changed"]
        assert [e["data"]["after"] for e in status_events] == ["Received"]
        mailed = subjects(smtp, 0)
        assert len(mailed) == 1 and "CRCL-2026-0042" in mailed[0]  # matter.added only
        mark, mails = first[-1]["id"], len(smtp.received)

        clock.advance(hours=6)
        server.set("/status", page("In Process - assigned to analyst"), "text/html")
        poll(cfg, clock)
        changed = all_events(cfg, clock, capsys, after=mark)
        assert [e["kind"] for e in changed] == ["page.changed", "matter.status_changed"]
        assert changed[0]["data"]["before"] == "Received"
        assert changed[0]["data"]["after"] == "In Process - assigned to analyst"
        assert changed[1]["data"]["before"] == "Received"
        assert len(smtp.received) - mails == 2
        mark, mails = changed[-1]["id"], len(smtp.received)

        # Markup only (tags, attributes, whitespace, the ignored paragraph): nothing.
        for variant in (1, 2):
            clock.advance(hours=6)
            server.set("/status", page("In Process - assigned to analyst", variant),
                       "text/html")
            poll(cfg, clock)
        assert all_events(cfg, clock, capsys, after=mark) == []

        # The page breaks: no event, no status change; after fail_after polls, one failing.
        server.fail("/status", 500, b"<html><body>Internal Server Error</body></html>")
        for _ in range(4):
            clock.advance(hours=6)
            poll(cfg, clock)
        broken = all_events(cfg, clock, capsys, after=mark)
        assert [e["kind"] for e in broken] == ["source.failing"]
        assert len(smtp.received) - mails == 1
        matter = next(r for r in run_json(["--config", cfg, "matters"], clock, capsys)
                      if r["id"] == "crcl-2026-0042")
        assert matter["status"] == "In Process - assigned to analyst"
        assert [h["status"] for h in matter["status_history"]] == [
            "Received", "In Process - assigned to analyst"]


# ---------------------------------------------------------------------------- 287(g) lists


HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA"]
MOA = "https://www.ice.gov/doclib/about/offices/ero/pdf/287gMOA/{}.pdf"

Row = tuple[str, str, str, str, str, Any, str]

PARTICIPATING: list[Row] = [
    ("TX", "Harris County Sheriff's Office", "County", "Harris County",
     "Jail Enforcement Model", datetime(2025, 2, 20), "harrisCountyTX-jem"),
    ("TX", "Pasadena Police Department", "Municipality", "#N/A",
     "Task Force Model", 45700, "pasadenaPDTX-tfm"),  # an Excel serial: 2025-02-12
    ("TX", "Galveston County Sheriff's Office", "County", "Galveston County",
     "Warrant Service Officer", datetime(2025, 3, 1), ""),  # "link pending"
    ("TX", "Lubbock County Sheriff's Office", "County", "Lubbock County",
     "Jail Enforcement Model", datetime(2025, 1, 30), "lubbockCountyTX-jem"),
    ("FL", "Brevard County Sheriff's Office", "County", "Brevard County",
     "Jail Enforcement Model", datetime(2019, 6, 1), "brevardCountyFL-jem"),
    ("FL", "Collier County Sheriff's Office", "County", "Collier County",
     "Task Force Model", datetime(2025, 2, 26), "collierCountyFL-tfm"),
]
PENDING: list[Row] = [
    ("GA", "Cobb County Sheriff's Office", "County", "Cobb County", "Jail Enforcement Model",
     None, ""),
]


def workbook(rows: list[Row]) -> bytes:
    """An ICE-style list: a title row, the header, rows with the MOA behind a "link" hyperlink."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["287(g) Participating Agencies (as of today)"])
    sheet.append(HEADER)
    for state, agency, kind, county, support, signed, moa in rows:
        sheet.append([state, agency, kind, county, support, signed, "link" if moa else
                      "link pending"])
        if moa:
            sheet.cell(row=sheet.max_row, column=7).hyperlink = MOA.format(moa)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_287g_lists_baseline_changes_and_a_truncated_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/participating.xlsx", workbook(PARTICIPATING), XLSX)
        server.set("/pending.xlsx", workbook(PENDING), XLSX)
        cfg = base_config(tmp_path, smtp, events='["agreement.*"]', body=f"""
[[source]]
id = "ice-287g"
kind = "ice_287g"
participating_url = "{server.url('/participating.xlsx')}"
pending_url = "{server.url('/pending.xlsx')}"
min_rows = 0
max_loss = 0.45
""")
        poll(cfg, clock)
        first = all_events(cfg, clock, capsys)
        assert sorted(e["kind"] for e in first) == ["agreement.added"] * 6 + [
            "agreement.pending"]
        assert all(e["data"]["baseline"] is True for e in first)
        assert smtp.received == []  # baseline: not mailed without include_baseline
        mark = first[-1]["id"]

        # One signed date changes: one agreement.changed naming it.
        changed_rows = list(PARTICIPATING)
        changed_rows[0] = (*changed_rows[0][:5], datetime(2025, 2, 27), changed_rows[0][6])
        clock.advance(hours=12)
        server.set("/participating.xlsx", workbook(changed_rows), XLSX)
        poll(cfg, clock)
        changed = all_events(cfg, clock, capsys, after=mark)
        assert [e["kind"] for e in changed] == ["agreement.changed"]
        assert changed[0]["data"]["agency"] == "Harris County Sheriff's Office"
        assert changed[0]["data"]["changes"] == [
            {"field": "signed", "before": "2025-02-20", "after": "2025-02-27",
             "correction": True}]
        assert changed[0]["data"]["baseline"] is False
        assert len(smtp.received) == 1 and "Harris County" in smtp.received[0].part("plain")
        mark = changed[-1]["id"]

        # A new row: one agreement.added.
        grown = [*changed_rows, ("TX", "Montgomery County Sheriff's Office", "County",
                                 "Montgomery County", "Jail Enforcement Model", 45720,
                                 "montgomeryCountyTX-jem")]
        clock.advance(hours=12)
        server.set("/participating.xlsx", workbook(grown), XLSX)
        poll(cfg, clock)
        added = all_events(cfg, clock, capsys, after=mark)
        assert [(e["kind"], e["data"]["agency"]) for e in added] == [
            ("agreement.added", "Montgomery County Sheriff's Office")]
        assert added[0]["data"]["baseline"] is False
        assert len(smtp.received) == 2
        mark = added[-1]["id"]

        texas = run_json(["--config", cfg, "agreements", "--state", "TX"], clock, capsys)
        wanted = {"state", "agency", "county", "type", "support_type", "signed", "moa_url",
                  "status"}
        assert all(wanted <= set(r) for r in texas)
        by_agency = {r["agency"]: r for r in texas}
        assert sorted(by_agency) == ["Galveston County Sheriff's Office",
                                     "Harris County Sheriff's Office",
                                     "Lubbock County Sheriff's Office",
                                     "Montgomery County Sheriff's Office",
                                     "Pasadena Police Department"]
        assert {k: by_agency["Pasadena Police Department"][k] for k in wanted} == {
            "state": "TX", "agency": "Pasadena Police Department", "county": "",  # #N/A
            "type": "Municipality", "support_type": "Task Force Model",
            "signed": "2025-02-12",  # Excel serial 45700
            "moa_url": MOA.format("pasadenaPDTX-tfm"), "status": "participating"}
        # the signing date is the earliest SIGNED published; the revision is kept beside it
        assert by_agency["Harris County Sheriff's Office"]["signed"] == "2025-02-20"
        assert by_agency["Harris County Sheriff's Office"]["signed_published"] == "2025-02-27"
        assert by_agency["Galveston County Sheriff's Office"]["moa_url"] is None
        assert by_agency["Montgomery County Sheriff's Office"]["signed"] == "2025-03-04"

        # A truncated download (3 of 7 rows): quarantined, however often it comes; the
        # operator is told once.
        truncated = grown[:3]
        server.set("/participating.xlsx", workbook(truncated), XLSX)
        for _ in range(2):
            clock.advance(hours=12)
            poll(cfg, clock)
        held = all_events(cfg, clock, capsys, after=mark)
        assert [e["kind"] for e in held] == ["source.failing"]
        assert held[0]["data"]["quarantine"] is True
        assert len(run_json(["--config", cfg, "agreements", "--status", "participating"],
                            clock, capsys)) == 7
        db = sqlite3.connect(tmp_path / "monitor.db")
        assert db.execute("select count(*) from agreementhold").fetchone() == (1,)
        mark = held[-1]["id"]

        # The full list again ends the quarantine; then three rows really end: missing at
        # once (not mailed), removed after three good snapshots over two days.
        server.set("/participating.xlsx", workbook(grown), XLSX)
        clock.advance(hours=12)
        poll(cfg, clock)
        assert [e["kind"] for e in all_events(cfg, clock, capsys, after=mark)] == [
            "source.recovered"]
        mails = len(smtp.received)
        kept = grown[:4]
        kinds = []
        for hour, extra in ((12, 0), (24, 1), (24, 2)):
            # each snapshot a new file (a changed MOA link), as ICE publishes them
            relinked = [(*row[:6], f"{row[6]}-v{extra}" if row[6] else "") for row in kept]
            server.set("/participating.xlsx", workbook(relinked), XLSX)
            clock.advance(hours=hour)
            poll(cfg, clock)
            events = all_events(cfg, clock, capsys, after=mark)
            kinds.append(sorted({e["kind"] for e in events} - {"agreement.changed",
                                                                  "source.recovered"}))
        assert kinds == [["agreement.missing"], ["agreement.missing"],
                         ["agreement.missing", "agreement.removed"]]
        removed = [e for e in all_events(cfg, clock, capsys, after=mark)
                   if e["kind"] == "agreement.removed"]
        assert sorted(e["data"]["agency"] for e in removed) == sorted(r[1] for r in grown[4:])
        mailed = " ".join(str(m.message["Subject"]) for m in smtp.received[mails:])
        assert "missing" not in mailed.lower() and "removed" in mailed.lower()
        assert len(run_json(["--config", cfg, "agreements", "--status", "participating"],
                            clock, capsys)) == 4
        assert db.execute("select count(*) from agreementhold").fetchone() == (0,)
        # Applied, the list's ETag is kept again: the next identical poll is a 304.
        (etag,) = db.execute("select etag from sourcestate where target = 'participating'"
                             ).fetchone()
        assert etag
        hits = server.hits["/participating.xlsx"]
        clock.advance(hours=12)
        poll(cfg, clock)
        assert server.hits["/participating.xlsx"] == hits + 1
        assert all_events(cfg, clock, capsys, after=removed[-1]["id"]) == []


# ---------------------------------------------------------------------------- privacy


def test_a_private_matter_never_reaches_the_feed_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(datetime(2026, 6, 1, 13, tzinfo=UTC))
    with FeedServer() as server, smtp_server() as smtp:
        server.set("/secret", page("Received"), "text/html")
        cfg = base_config(tmp_path, smtp, events='["*"]', body=f"""
[[source]]
id = "secret-status"
kind = "web_page"
url = "{server.url('/secret')}"
selector = "#status"
capture = "(?i)status:\\\\s*(.+)"
matter = "client-x-foia"

[[matter]]
id = "client-x-foia"
kind = "foia"
agency = "USCIS FOIA"
reference = "COW2026000777"
received = 2026-06-01
tags = ["287g"]
private = true

[[matter]]
id = "public-foia"
kind = "foia"
agency = "ICE FOIA Office"
reference = "2026-ICFO-00001"
received = 2026-06-01
tags = ["287g"]
""")
        poll(cfg, clock)
        clock.now = datetime(2026, 6, 2, 13, tzinfo=UTC)
        server.set("/secret", page("Zygomorphic Determination Pending"), "text/html")
        poll(cfg, clock)
        for day in (date(2026, 7, 1), date(2026, 7, 30)):  # overdue, then escalated
            clock.now = at(day)
            poll(cfg, clock)

        kinds = {e["kind"] for e in all_events(cfg, clock, capsys)
                 if "client-x-foia" in (e["subject"] + str(e["data"]))}
        assert {"matter.added", "deadline.set", "deadline.overdue", "matter.escalated",
                "matter.status_changed"} <= kinds  # it happened, and was stored
        feeds = sorted((tmp_path / "feeds").iterdir())
        assert any(p.name == "all.atom" for p in feeds)
        assert any(p.name == "tag-287g.atom" for p in feeds)
        public = (tmp_path / "feeds" / "all.atom").read_text()
        assert "2026-ICFO-00001" in public  # the public matter is there
        for path in feeds:
            text = path.read_text()
            for secret in ("client-x-foia", "COW2026000777", "USCIS FOIA", "Zygomorphic",
                           server.url("/secret")):
                assert secret not in text, (path.name, secret)
        # Alerts skip it too (no include_private), while the public matter is mailed.
        mail = "".join(m.part("plain") for m in smtp.received)
        assert "2026-ICFO-00001" in mail and "COW2026000777" not in mail
        assert "Zygomorphic" not in mail
