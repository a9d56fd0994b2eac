"""End to end: CourtListener v4 inside the free quota, through the command line.

A fake CourtListener on 127.0.0.1 (token required, 429 past a free token's limits: 5 a minute,
50 an hour, 125 a day) and a PACER RSS feed on another local server; a real SQLite file; the
webhook through the daemon's real HTTP endpoint. One injected clock drives the CLI, the fake's
throttle and its `date_modified` stamps, so hours pass without sleeping.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from tests.cli_helpers import event_rows as events
from tests.cli_helpers import poll_once as poll
from tests.cli_helpers import run, run_json
from tests.conftest import FixedClock
from tests.fakes.courtlistener_server import FakeCourtListener
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import free_port

TOKEN = "t0k-e2e-secret"
CASE_NAME = "Doe v. U.S. Citizenship and Immigration Services"
CAUSE = "28:1361 Petition for Writ of Mandamus"
NOS = "890 Other Statutory Actions"
FILED = date(2026, 2, 20)
START = datetime(2026, 3, 2, 15, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def cl(clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCourtListener]:
    monkeypatch.setenv("CL_TOKEN_E2E", TOKEN)
    with FakeCourtListener(token=TOKEN, per_minute=5, per_hour=50, per_day=125,
                           clock=clock) as fake:
        yield fake


def write_config(tmp_path: Path, cl: FakeCourtListener, *, rss_base: str = "",
                 extra: str = "") -> str:
    """A courtlistener source on the fake (free quota by default), optionally PACER RSS too."""
    rss_source = f"""
[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "{rss_base}/{{court}}/rss"
""" if rss_base else ""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"
{rss_source}
[[source]]
id = "cl"
kind = "courtlistener"
base_url = "{cl.base_url}"
token_env = "CL_TOKEN_E2E"

[[source.query]]
name = "mandamus"
type = "d"
cause = "28:1361"

[[watch]]
name = "mandamus"
tags = ["mandamus"]
cause = ["28:1361"]
case_name = ["(?i)citizenship and immigration services"]

[[subscription]]
name = "log"
urls = ["console://"]
events = ["source.*"]
{extra}
""")
    return str(path)


def last_id(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> int:
    rows = events(cfg, clock, capsys)
    return rows[-1]["id"] if rows else 0


def add_mandamus(cl: FakeCourtListener) -> int:
    docket = cl.add_docket("dcd", "1:26-cv-00412", CASE_NAME, cause=CAUSE, nature_of_suit=NOS,
                           date_filed=FILED, pacer_case_id="290001")
    cl.add_entry(docket, 1, FILED, "COMPLAINT for Writ of Mandamus against USCIS",
                 short_description="Complaint", pacer_doc_id="04501290001001")
    cl.add_entry(docket, 2, FILED, "NOTICE of Related Case", short_description="Notice")
    return docket


def test_discovery_sync_updates_and_closing(tmp_path: Path, clock: FixedClock,
                                            cl: FakeCourtListener,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    docket = add_mandamus(cl)
    # Not ours: another cause (the query asks for 28:1361 only) and nothing the watch matches.
    cl.add_docket("dcd", "1:26-cv-00500", "Acme Corp. v. Widget LLC", cause="28:1332 Diversity",
                  nature_of_suit="190 Contract", date_filed=FILED)
    cfg = write_config(tmp_path, cl)

    poll(cfg, clock)
    first = events(cfg, clock, capsys)
    assert [e["kind"] for e in first] == ["case.discovered"]
    found = first[0]["data"]
    assert found["cl_docket_id"] == docket
    assert found["cause"] == CAUSE
    assert found["nature_of_suit"] == NOS
    assert found["date_filed"] == "2026-02-20"
    assert found["docket_number"] == "1:26-cv-00412"
    # Every request carried the token (the fake answers 401 otherwise).
    assert cl.log and all(r.status == 200 and r.authorization for r in cl.log)

    # The next round syncs the newly tracked docket: its history arrives as backfill.
    clock.advance(minutes=15)
    poll(cfg, clock)
    synced = events(cfg, clock, capsys, after=first[-1]["id"])
    added = [e for e in synced if e["kind"] == "entry.added"]
    assert sorted(e["data"]["entry_number"] for e in added) == [1, 2]
    assert all(e["data"]["backfill"] for e in added)
    assert cl.count("docket-entries/") == 1
    mark = synced[-1]["id"]

    # A new filing: exactly that entry, not backfill.
    clock.advance(hours=1)
    cl.add_entry(docket, 3, clock.now.date(), "MOTION for Preliminary Injunction by John Doe",
                 short_description="Motion for Preliminary Injunction")
    poll(cfg, clock)
    new = events(cfg, clock, capsys, after=mark)
    assert [(e["kind"], e["data"]["entry_number"]) for e in new
            if e["kind"] == "entry.added"] == [("entry.added", 3)]
    assert not [e for e in new if e["kind"] == "entry.added" and e["data"]["backfill"]]
    assert not [e for e in new if e["kind"].startswith("case.")]
    mark = new[-1]["id"]

    # An unchanged docket: a check, no entries request, nothing new.
    clock.advance(hours=1)
    entries_requests = cl.count("docket-entries/")
    poll(cfg, clock)
    assert events(cfg, clock, capsys, after=mark) == []
    assert cl.count("docket-entries/") == entries_requests

    # Terminated: case.closed, and the deadline still open (FRCP 4(m) service) is vacated.
    clock.advance(hours=1)
    cl.update_docket(docket, date_terminated=date(2026, 3, 2))
    poll(cfg, clock)
    closed = events(cfg, clock, capsys, after=mark)
    assert [e["kind"] for e in closed] == ["case.closed", "deadline.vacated"]
    assert "2026-03-02" in closed[0]["summary"]
    mark = closed[-1]["id"]

    # A field that changed: case.updated naming it, before and after.
    clock.advance(hours=1)
    cl.update_docket(docket, nature_of_suit="465 Other Immigration Actions")
    poll(cfg, clock)
    updated = events(cfg, clock, capsys, after=mark)
    assert [e["kind"] for e in updated] == ["case.updated"]
    assert updated[0]["data"]["changes"] == {
        "nature_of_suit": {"before": NOS, "after": "465 Other Immigration Actions"}}

    detail = run_json(["--config", cfg, "case", "dcd", "1:26-cv-412"], clock, capsys)
    assert [e["entry_number"] for e in detail["entries"]] == [1, 2, 3]
    assert detail["cl_docket_id"] == docket and detail["date_terminated"] == "2026-03-02"
    cases = run_json(["--config", cfg, "cases"], clock, capsys)
    assert [c["docket_number"] for c in cases] == ["1:26-cv-00412"]
    assert cl.throttled == 0


def test_entry_seen_in_rss_and_courtlistener_is_stored_once(
    tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
    capsys: pytest.CaptureFixture[str]
) -> None:
    docket = add_mandamus(cl)
    with FeedServer() as server:
        complaint = Item("dcd", "1:26-cv-00412-ABC", CASE_NAME,
                         "COMPLAINT for Writ of Mandamus against USCIS", 1,
                         doc_id="04511290001001", case_id="290001", when=START)
        server.set("/dcd/rss", rss("dcd", [complaint]))
        cfg = write_config(tmp_path, cl, rss_base=server.base)

        poll(cfg, clock)  # RSS first (config order): discovered with #1; CL finds the same case
        clock.advance(minutes=15)
        poll(cfg, clock)  # CL syncs the docket: #1 again (merged), #2 new
        # A later filing seen first by CourtListener, then in the feed.
        clock.advance(hours=1)
        cl.add_entry(docket, 3, clock.now.date(), "ANSWER to Complaint by USCIS",
                     short_description="Answer", pacer_doc_id="04501290001003")
        poll(cfg, clock)
        server.set("/dcd/rss", rss("dcd", [complaint, Item(
            "dcd", "1:26-cv-00412-ABC", CASE_NAME, "ANSWER to Complaint by USCIS", 3,
            doc_id="04511290001003", case_id="290001", when=clock.now)]))
        clock.advance(minutes=15)
        poll(cfg, clock)

    everything = events(cfg, clock, capsys)
    assert [e["kind"] for e in everything].count("case.discovered") == 1
    added = sorted(e["data"]["entry_number"] for e in everything if e["kind"] == "entry.added")
    assert added == [1, 2, 3]  # one event per entry, whoever saw it first
    db = sqlite3.connect(tmp_path / "monitor.db")
    assert db.execute("select count(*) from entry").fetchone() == (3,)
    assert db.execute("select count(*) from 'case'").fetchone() == (1,)
    detail = run_json(["--config", cfg, "case", "dcd", "1:26-cv-00412"], clock, capsys)
    sources = {e["entry_number"]: sorted(e["sources"]) for e in detail["entries"]}
    assert sources == {1: ["cl", "pacer-rss"], 2: ["cl"], 3: ["cl", "pacer-rss"]}
    assert detail["cl_docket_id"] == docket and detail["docket_number_raw"]
    assert cl.throttled == 0


def test_webhook_through_the_http_endpoint_is_stored_once(
    tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.app import App
    from monitor.config import load_config
    from monitor.server import start_server

    docket = add_mandamus(cl)
    port = free_port()
    monkeypatch.setenv("CM_WEBHOOK_PATH", "hooks/cl-5ecret")
    cfg = write_config(tmp_path, cl, extra=f"""
[server]
enabled = true
bind = "127.0.0.1"
port = {port}
webhook_path_env = "CM_WEBHOOK_PATH"
""")
    poll(cfg, clock)
    clock.advance(minutes=15)
    poll(cfg, clock)  # tracked and synced: entries 1 and 2
    mark = last_id(cfg, clock, capsys)

    clock.advance(hours=1)
    new_entry = cl.add_entry(docket, 3, clock.now.date(), "MINUTE ORDER: Answer due by 4/1/2026.",
                             short_description="Order")
    body = cl.docket_alert_body(docket, [new_entry])
    app = App(config=load_config(cfg), clock=clock)
    httpd = start_server(app)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/cl-5ecret"
        assert httpd.server_address[1] == port
        headers = {"Content-Type": "application/json", "Idempotency-Key": "key-1"}
        with httpx.Client(timeout=10) as client:
            first = client.post(url, content=body, headers=headers)
            second = client.post(url, content=body, headers=headers)
            other_key = client.post(url, content=body,
                                    headers={**headers, "Idempotency-Key": "key-2"})
            wrong_path = client.post(url.replace("cl-5ecret", "guess"), content=body,
                                     headers=headers)
            no_key = client.post(url, content=body, headers={"Content-Type": "application/json"})
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()
    assert (first.status_code, first.text) == (200, "stored")
    assert (second.status_code, second.text) == (200, "duplicate")
    assert other_key.status_code == 200
    assert wrong_path.status_code == 404 and no_key.status_code == 400

    pushed = events(cfg, clock, capsys, after=mark)
    entry_events = [e for e in pushed if e["kind"] == "entry.added"]
    assert [e["data"]["entry_number"] for e in entry_events] == [3]
    assert entry_events[0]["data"]["backfill"] is False
    # The court-set date in the pushed entry derived its deadline, once.
    assert [e["data"]["due"] for e in pushed if e["kind"] == "deadline.set"] == ["2026-04-01"]
    db = sqlite3.connect(tmp_path / "monitor.db")
    assert db.execute("select count(*) from entry").fetchone() == (3,)
    assert db.execute("select count(*) from webhookreceipt").fetchone() == (2,)

    # Polling later fetches the same entry: merged, no second event.
    clock.advance(hours=1)
    poll(cfg, clock)
    later = events(cfg, clock, capsys, after=pushed[-1]["id"])
    assert [e for e in later if e["kind"] == "entry.added"] == []
    assert db.execute("select count(*) from entry").fetchone() == (3,)


def test_status_shows_the_quota_and_a_spent_budget_defers_without_429(
    tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
    capsys: pytest.CaptureFixture[str]
) -> None:
    dockets = [cl.add_docket("dcd", f"1:26-cv-{410 + n:05d}", f"Roe {n} v. USCIS", cause=CAUSE,
                             nature_of_suit=NOS, date_filed=FILED) for n in range(8)]
    for docket in dockets:
        cl.add_entry(docket, 1, FILED, "COMPLAINT for Writ of Mandamus")
    cfg = write_config(tmp_path, cl)

    status = run_json(["--config", cfg, "status"], clock, capsys)
    (src,) = status["sources"]
    assert src["id"] == "cl" and src["kind"] == "courtlistener"
    assert src["quota"] == {"minute": {"used": 0, "left": 5, "limit": 5},
                            "hour": {"used": 0, "left": 50, "limit": 50},
                            "day": {"used": 0, "left": 125, "limit": 125}}

    poll(cfg, clock)  # discovery: one search finds all eight
    assert len(run_json(["--config", cfg, "cases"], clock, capsys)) == 8
    capsys.readouterr()
    # Eight dockets to sync, but only four requests left in this minute: the round defers.
    assert run(["--config", cfg, "poll", "--once"], clock) == 0
    line = capsys.readouterr().out
    assert "deferred" in line and " 0 deferred" not in line, line
    assert run(["--config", cfg, "poll", "--once"], clock) == 0  # nothing left: all deferred
    status = run_json(["--config", cfg, "status"], clock, capsys)
    quota = status["sources"][0]["quota"]
    assert quota["minute"] == {"used": 5, "left": 0, "limit": 5}
    assert quota["hour"] == {"used": 5, "left": 45, "limit": 50}
    assert quota["day"] == {"used": 5, "left": 120, "limit": 125}
    assert status["sources"][0]["consecutive_failures"] == 0
    assert status["sources"][0]["failing"] is False
    assert run(["--config", cfg, "status"], clock) == 0  # deferral is not a failure
    assert cl.count() == 5 and cl.throttled == 0

    # The next one-shot poll remembers (through the database) that discovery just ran: the
    # search is not repeated at every start, the budget goes to the dockets.
    clock.advance(minutes=15)
    poll(cfg, clock)
    assert cl.count("search/") == 1 and cl.count() == 6

    # The daemon (one runner across rounds, as the scheduler keeps it): within hours, paced
    # inside the free limits, every docket is synced with its entries, and never a 429.
    from monitor.app import App
    from monitor.config import load_config

    app = App(config=load_config(cfg), clock=clock)
    try:
        for _ in range(24):
            clock.advance(minutes=15)
            report = app.runner.poll("cl")
            assert not report.errors and report.failed == 0
    finally:
        app.close()
    synced = {r.path for r in cl.log if r.path.startswith("dockets/")}
    assert synced == {f"dockets/{d}/" for d in dockets}
    assert cl.throttled == 0
    entries = [e for e in events(cfg, clock, capsys) if e["kind"] == "entry.added"]
    assert len(entries) == 8
    quota = run_json(["--config", cfg, "status"], clock, capsys)["sources"][0]["quota"]
    assert quota["day"]["used"] == cl.count() <= 125
    assert quota["hour"]["used"] <= 50 and quota["minute"]["used"] <= 5


def test_one_shot_polls_every_15_minutes_lose_no_entries(
    tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """`poll --once` from cron: a new process every 15 minutes, six hours, the free quota. A
    docket whose check said "entries changed" when the budget was spent resumes with its entries
    in a later process (the core keeps the source's continuation) instead of losing them."""
    dockets = [cl.add_docket("dcd", f"1:26-cv-{610 + n:05d}", f"Poe {n} v. USCIS", cause=CAUSE,
                             nature_of_suit=NOS, date_filed=FILED) for n in range(8)]
    for docket in dockets:
        cl.add_entry(docket, 1, FILED, "COMPLAINT for Writ of Mandamus")
    cfg = write_config(tmp_path, cl)
    db = sqlite3.connect(tmp_path / "monitor.db")

    def stored() -> dict[int, list[int]]:
        rows = db.execute("select c.cl_docket_id, e.entry_number from 'case' c"
                          " join entry e on e.case_id = c.id").fetchall()
        found: dict[int, list[int]] = {}
        for docket_id, number in rows:
            found.setdefault(docket_id, []).append(number)
        return {d: sorted(numbers) for d, numbers in found.items()}

    poll(cfg, clock)  # discovery: all eight tracked
    refiled: list[int] = []
    for round_ in range(24):
        clock.advance(minutes=15)
        if round_ == 8:  # two hours in, the dockets synced by now get a new filing
            refiled = sorted(stored())
            for docket in refiled:
                cl.add_entry(docket, 2, clock.now.date(), "ANSWER to Complaint by USCIS")
        poll(cfg, clock)

    assert len(refiled) >= 3  # the "changed since the last sync" path is exercised
    assert stored() == {d: [1, 2] if d in refiled else [1] for d in dockets}
    added = [e for e in events(cfg, clock, capsys) if e["kind"] == "entry.added"]
    assert len(added) == len(dockets) + len(refiled)
    # One entries request per change: no check was spent twice for the same change.
    assert cl.count("docket-entries/") == len(dockets) + len(refiled)
    assert cl.throttled == 0 and cl.count() <= 125
    # Everything finished: nothing left in the source's kept memory.
    assert db.execute("select count(*) from sourcestate where cursor != ''").fetchone() == (0,)
