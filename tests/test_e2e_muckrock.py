"""End to end, MuckRock: a multirequest of 30 records requests followed through the API (a local
stand-in serving its shapes, paginated and throttled), each request a matter kept by the source;
statuses change, agencies reply, one request runs out its statutory clock and escalates, others
complete. Then the linking of a request, the sheriff's 287(g) agreement and the lawsuit.

Everything through the command line with an injected clock, email to a real SMTP server, a real
SQLite file.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import event_rows as all_events
from tests.cli_helpers import poll_once as poll
from tests.cli_helpers import run, run_json
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.muckrock_server import FakeMuckRock, FakeRequest
from tests.fakes.smtp import SmtpServer, smtp_server
from tests.test_e2e_agency import XLSX, workbook

TITLE = "ICE Detainers and 287(g) Policies"
USER = "jlewin"
SUBMITTED = datetime(2026, 4, 8, 16, 23, 3, tzinfo=UTC)  # a Wednesday
EVENTS = ["matter.status_changed", "matter.response_received", "matter.escalated",
          "deadline.overdue", "deadline.met", "matter.added"]
STATES = {"TX": (1, "Texas"), "FL": (2, "Florida"), "NC": (3, "North Carolina"),
          "GA": (4, "Georgia"), "IL": (5, "Illinois"), "SC": (6, "South Carolina")}
COUNTIES = [
    ("Galveston", "TX"), ("Alachua", "FL"), ("Wake", "NC"), ("Cobb", "GA"),  # D, A, B, C
    ("Cook", "IL"), ("DuPage", "IL"), ("El Paso", "TX"), ("Travis", "TX"), ("Polk", "FL"),
    ("Mecklenburg", "NC"), ("Yancey", "NC"), ("Brevard", "FL"), ("Collier", "FL"),
    ("Lee", "FL"), ("Hall", "GA"), ("Gwinnett", "GA"), ("Charleston", "SC"),
    ("Greenville", "SC"), ("Horry", "SC"), ("Lubbock", "TX"), ("Montgomery", "TX"),
    ("Denton", "TX"), ("Orange", "FL"), ("Pasco", "FL"), ("Durham", "NC"), ("Union", "NC"),
    ("Clayton", "GA"), ("Lake", "IL"), ("Berkeley", "SC"), ("Nueces", "TX"),
]
#: how the 26 others stand when the follower starts: already finished
FINISHED = ["done"] * 12 + ["no_docs"] * 6 + ["rejected"] * 5 + ["abandoned"] * 3
D, A, B, C = 1001, 1002, 1003, 1004


def at(day: date, hour: int = 13) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def multirequest(fake: FakeMuckRock) -> None:
    """The 30 requests of the multirequest (and one other request of the same user)."""
    for code, (ident, name) in STATES.items():
        fake.add_jurisdiction(ident, name, level="s", abbrev=code)
    for i, (county, state) in enumerate(COUNTIES):
        local = fake.add_jurisdiction(100 + i, f"{county} County", level="l",
                                      parent=STATES[state][0])
        agency = fake.add_agency(500 + i, f"{county} County Sheriff's Office", local)
        status = "ack" if i < 4 else FINISHED[i - 4]
        done = datetime(2026, 4, 16, 15, tzinfo=UTC) if status in ("done", "no_docs") else None
        fake.add_request(FakeRequest(
            id=1001 + i, title=f"{TITLE} ({county} County Sheriff's Office)", agency=agency,
            user=USER, status=status, submitted=SUBMITTED, date_due=date(2026, 4, 24),
            done=done, tracking_id=f"MR-{1001 + i}"))
        fake.add_communication(1001 + i, response=False, subject=f"Public Records Request: "
                               f"{TITLE}", text="To Whom It May Concern: ...", at=SUBMITTED)
    fake.add_request(FakeRequest(id=999, title="Jail contracts", agency=500, user=USER,
                                 status="ack", submitted=SUBMITTED))


def config(tmp_path: Path, smtp: SmtpServer, fake: FakeMuckRock, extra: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[escalation]
ladder = [30, 90, 180]

[[deadline_rule]]
id = "public-records-tx"
citation = "Tex. Gov't Code 552.221(d), 552.301(b)"
trigger = "receipt of a public information request"
period = 10
unit = "working_days"
label = "Texas public information: response or request for a ruling"

[[watch]]
name = "sheriffs"
case_name = ["(?i)sheriff"]

[[source]]
id = "muckrock"
kind = "muckrock"
base_url = "{fake.base_url}"
token_env = "MUCKROCK_TEST_TOKEN"
quota = {{per_minute = 60, per_hour = 1000, per_day = 100000}}
interval = "1h"

[[source.multirequest]]
name = "ice-287g-2026"
user = "{USER}"
title = "{TITLE}"

[[subscription]]
name = "advocates"
urls = ["{smtp.apprise_url()}"]
events = {json.dumps(EVENTS)}
{extra}
""")
    return str(path)


def by_subject(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if e["kind"] in EVENTS:
            out[e["subject"]].append(e["kind"])
    return dict(out)


def test_a_multirequest_of_30_followed_statuses_replies_overdue_escalation_completion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUCKROCK_TEST_TOKEN", "s3cr3t-t0ken")
    clock = FixedClock(at(date(2026, 4, 20)))
    with FakeMuckRock(token="s3cr3t-t0ken", per_minute=25, clock=clock) as fake, \
            smtp_server() as smtp:
        multirequest(fake)
        cfg = config(tmp_path, smtp, fake)

        # The first rounds: 2 pages, 30 agencies, 30 counties and their 6 states (68 requests)
        # against 25 a minute: throttled (429 + Retry-After), resumed rounds later.
        rounds = 0
        while rounds < 8:
            poll(cfg, clock)
            rounds += 1
            rows = run_json(["--config", cfg, "matters"], clock, capsys)
            if len(rows) == 30:
                break
            clock.advance(minutes=2)
        assert 2 <= rounds <= 4 and fake.throttled >= 1
        assert {r["id"] for r in rows} == {f"muckrock-{1001 + i}" for i in range(30)}
        # after a 429 nothing more is asked in the same round (the same instant)
        first_429 = next(i for i, entry in enumerate(fake.log) if entry[3] == 429)
        assert all(entry[0] > fake.log[first_429][0] for entry in fake.log[first_429 + 1:])
        assert all(entry[4] == "Token s3cr3t-t0ken" for entry in fake.log)
        assert fake.count("agency/") == 30 and fake.count("jurisdiction/") == 36
        first = all_events(cfg, clock, capsys)
        added = [e for e in first if e["kind"] == "matter.added"]
        assert len(added) == 30 and all(e["data"]["baseline"] is True for e in added)
        assert smtp.received == []  # the baseline is recorded, not mailed
        mark = first[-1]["id"]
        status = run_json(["--config", cfg, "status"], clock, capsys)
        muckrock = next(s for s in status["sources"] if s["id"] == "muckrock")
        assert muckrock["consecutive_failures"] == 0
        assert "s3cr3t" not in capsys.readouterr().out

        rows = {r["id"]: r for r in rows}
        d_row = rows[f"muckrock-{D}"]
        assert d_row["jurisdiction"] == "Galveston County, TX"
        assert d_row["clock"]["rule"] == "public-records-tx"
        assert (d_row["statutory_due"], d_row["portal_due"]) == ("2026-04-22", "2026-04-24")
        a_row = rows[f"muckrock-{A}"]
        assert a_row["clock"]["rule"] == "foia-552a6Ai"  # no Florida row: federal FOIA
        assert (a_row["statutory_due"], a_row["portal_due"]) == ("2026-05-06", "2026-04-24")
        assert sum(1 for r in rows.values() if r["closed"]) == 26

        def step(day: date) -> dict[str, list[str]]:
            nonlocal mark
            clock.now = at(day)
            mails = len(smtp.received)
            poll(cfg, clock)
            new = all_events(cfg, clock, capsys, after=mark)
            mark = new[-1]["id"] if new else mark
            subscribed = [e for e in new if e["kind"] in EVENTS]
            assert len(smtp.received) - mails == len(subscribed)
            return by_subject(new)

        # Apr 23: Galveston's Texas clock ran out on Apr 22.
        assert step(date(2026, 4, 23)) == {f"matter:muckrock-{D}": ["deadline.overdue"]}

        # Apr 27: a status changes; an agency replies; a request completes.
        fake.set_status(A, "processed")
        fake.add_communication(B, response=True, subject="RE: Public Records Request",
                               text="We are searching for responsive records.",
                               at=datetime(2026, 4, 24, 14, tzinfo=UTC))
        fake.add_communication(
            C, response=True, subject="Records released", text="Attached are the records.",
            at=datetime(2026, 4, 24, 18, tzinfo=UTC), status="done",
            files=[{"ffile": "https://cdn.muckrock.com/foia_files/2026/04/24/287g_MOA.pdf",
                    "title": "287(g) MOA", "datetime": "2026-04-24T18:00:00", "doc_id": "x-1",
                    "pages": 12}])
        fake.set_status(C, "done", done=datetime(2026, 4, 24, 18, tzinfo=UTC))
        assert step(date(2026, 4, 27)) == {
            f"matter:muckrock-{A}": ["matter.status_changed"],
            f"matter:muckrock-{B}": ["matter.response_received"],
            f"matter:muckrock-{C}": ["matter.status_changed", "matter.response_received",
                                     "deadline.met"],
        }
        reply = next(m for m in smtp.received if "Records released" in m.part("plain"))
        assert "Cobb County" in reply.part("plain")

        # Nothing new: nothing at all.
        assert step(date(2026, 4, 28)) == {}

        # May 4: the two others end (no documents; rejected): their clocks close.
        fake.add_communication(A, response=True, subject="No responsive records",
                               text="No records.", at=datetime(2026, 5, 1, 15, tzinfo=UTC),
                               status="no_docs")
        fake.add_communication(B, response=True, subject="Denied", text="Exempt.",
                               at=datetime(2026, 5, 1, 16, tzinfo=UTC), status="rejected")
        ended = ["matter.status_changed", "matter.response_received", "deadline.met"]
        assert step(date(2026, 5, 4)) == {f"matter:muckrock-{A}": ended,
                                          f"matter:muckrock-{B}": ended}

        # Galveston: 29 days overdue, then 30: the first step of the ladder.
        assert step(date(2026, 5, 21)) == {}
        assert step(date(2026, 5, 22)) == {f"matter:muckrock-{D}": ["matter.escalated"]}
        escalated = all_events(cfg, clock, capsys, after=mark - 5)
        data = next(e for e in escalated if e["kind"] == "matter.escalated")["data"]
        assert (data["step"], data["days_overdue"], data["rule"]) == (1, 30, "public-records-tx")

        overdue = run_json(["--config", cfg, "matters", "--overdue"], clock, capsys)
        assert [(r["id"], r["statutory_due"], r["portal_due"], r["escalation_step"])
                for r in overdue] == [(f"muckrock-{D}", "2026-04-22", "2026-04-24", 1)]
        detail = run_json(["--config", cfg, "matter", f"muckrock-{C}"], clock, capsys)
        assert detail["status"] == "completed" and detail["closed"] is True
        assert detail["done"] == "2026-04-24"
        files = [f for c in detail["communications"] for f in c["files"]]
        assert files == [{"title": "287(g) MOA", "pages": 12, "doc_id": "x-1",
                          "url": "https://cdn.muckrock.com/foia_files/2026/04/24/287g_MOA.pdf"}]
        assert [r["kind"] for r in detail["timeline"]] == [
            "matter.added", "deadline.set", "matter.status_changed",
            "matter.response_received", "deadline.met"]
        assert fake.count("foia/999") == 0 and "muckrock-999" not in rows


def test_a_request_the_agreement_and_the_lawsuit_shown_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUCKROCK_TEST_TOKEN", "t0k")
    clock = FixedClock(at(date(2026, 5, 26)))
    with FakeMuckRock(token="t0k", clock=clock) as fake, FeedServer() as server, \
            smtp_server() as smtp:
        fake.add_jurisdiction(1, "Texas", level="s", abbrev="TX")
        fake.add_jurisdiction(2, "Harris County", level="l", parent=1)
        fake.add_agency(393, "Harris County Sheriff", 2)
        fake.add_request(FakeRequest(
            id=208495, title=f"{TITLE} (Harris County Sheriff)", agency=393, user=USER,
            status="lawsuit", submitted=SUBMITTED, date_due=date(2026, 4, 24)))
        server.set("/participating.xlsx", workbook([
            ("TX", "Harris County Sheriff's Office", "County", "Harris County",
             "Jail Enforcement Model", datetime(2025, 2, 20), "harrisCountyTX-jem"),
            ("TX", "Harris County Constable Precinct 4", "County", "Harris County",
             "Warrant Service Officer", datetime(2025, 3, 3), ""),
            ("FL", "Polk County Sheriff's Office", "County", "Polk County",
             "Jail Enforcement Model", datetime(2019, 1, 1), "")]), XLSX)
        server.set("/pending.xlsx", workbook([]), XLSX)
        server.set("/txsd/rss", rss("txsd", [Item(
            "txsd", "4:26-cv-01234", "Doe v. Harris County Sheriff's Office et al",
            "PETITION for Writ of Mandamus", 1, case_id="300001",
            when=at(date(2026, 5, 20), 15))]))
        cfg = config(tmp_path, smtp, fake, extra=f"""
[[source]]
id = "ice-287g"
kind = "ice_287g"
participating_url = "{server.url('/participating.xlsx')}"
pending_url = "{server.url('/pending.xlsx')}"
min_rows = 0

[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["txsd"]
url_template = "{server.base}/{{court}}/rss"
""").replace("[[source.multirequest]]", "requests = [208495]\n[[source.multirequest]]")
        poll(cfg, clock)

        detail = run_json(["--config", cfg, "matter", "muckrock-208495"], clock, capsys)
        assert detail["agency"] == "Harris County Sheriff" and detail["state"] == "TX"
        assert detail["status"] == "in litigation"
        agreements = detail["links"]["agreements"]
        assert [(a["agency"], a["support_type"], a["link"]["how"]) for a in agreements] == [
            ("Harris County Sheriff's Office", "Jail Enforcement Model", "exact")]
        cases = detail["links"]["cases"]
        assert [(c["court"], c["docket_number"], c["link"]["how"], c["link"]["party"])
                for c in cases] == [("txsd", "4:26-cv-01234", "exact",
                                     "Harris County Sheriff's Office")]
        sides = {r["side"] for r in detail["timeline"]}
        assert sides == {"agency", "court"}
        assert any("Mandamus" in r["summary"] for r in detail["timeline"]
                   if r["kind"] == "entry.added")

        capsys.readouterr()
        assert run(["--config", cfg, "matter", "muckrock-208495"], clock) == 0
        text = capsys.readouterr().out
        assert "287(g): Harris County Sheriff's Office (TX, Jail Enforcement Model)" in text
        assert "lawsuit: txsd 4:26-cv-01234 Doe v. Harris County Sheriff's Office" in text

        history = run_json(["--config", cfg, "agreements", "--history", "Harris County Sheriff",
                            "--state", "TX"], clock, capsys)
        assert [h["agency"] for h in history] == ["Harris County Sheriff's Office"]
        assert [(m["id"], m["link"]["how"]) for m in history[0]["matters"]] == [
            ("muckrock-208495", "exact")]
        assert [c["docket_number"] for c in history[0]["cases"]] == ["4:26-cv-01234"]
        capsys.readouterr()
        assert run(["--config", cfg, "agreements", "--history", "Harris County Sheriff"],
                   clock) == 0
        text = capsys.readouterr().out
        assert "records request muckrock-208495" in text and "lawsuit txsd 4:26-cv-01234" in text
