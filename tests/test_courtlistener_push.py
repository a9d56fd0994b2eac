"""CourtListener push: the alerts kept in step with what is tracked, pushed filings through the
daemon's real webhook endpoint, polling as the safety net, a silent channel reported once.

A fake CourtListener on 127.0.0.1 (token required) that keeps docket and search alerts and
pushes a docket-alert webhook when a filing lands on an alerted docket, as CourtListener does;
the daemon's real HTTP endpoint; a real SQLite file; one injected clock for everything.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli_helpers import event_rows as events
from tests.cli_helpers import poll_once as poll
from tests.cli_helpers import run, run_json
from tests.conftest import FixedClock
from tests.fakes.courtlistener_server import FakeCourtListener
from tests.fakes.smtp import free_port

TOKEN = "t0k-push-secret"
SECRET_PATH = "hooks/cl-push-5ecret"
CASE_NAME = "Doe v. U.S. Citizenship and Immigration Services"
CAUSE = "28:1361 Petition for Writ of Mandamus"
FILED = date(2026, 2, 20)
START = datetime(2026, 3, 2, 15, tzinfo=UTC)
CORPUS = Path(os.environ.get("COURT_MONITOR_CORPUS")
              or Path(__file__).resolve().parents[2] / "shared" / "corpus")
WEBHOOKS = CORPUS / "courtlistener" / "webhooks"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def cl(clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCourtListener]:
    monkeypatch.setenv("CL_TOKEN_PUSH", TOKEN)
    monkeypatch.setenv("CM_WEBHOOK_PATH", SECRET_PATH)
    with FakeCourtListener(token=TOKEN, clock=clock) as fake:
        yield fake


def write_config(tmp_path: Path, cl: FakeCourtListener, port: int, *,
                 public_url: str = "https://monitor.example.org") -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[server]
enabled = true
bind = "127.0.0.1"
port = {port}
webhook_path_env = "CM_WEBHOOK_PATH"
public_url = "{public_url}"

[[source]]
id = "cl"
kind = "courtlistener"
base_url = "{cl.base_url}"
token_env = "CL_TOKEN_PUSH"
quota = {{per_minute = 30, per_hour = 500, per_day = 5000}}

[[source.query]]
name = "mandamus"
type = "d"
cause = "28:1361"

[[watch]]
name = "mandamus"
cause = ["28:1361"]

[[subscription]]
name = "log"
urls = ["console://"]
events = ["source.*"]
""")
    return str(path)


def add_mandamus(cl: FakeCourtListener, number: str = "1:26-cv-00412",
                 docket_id: int | None = None) -> int:
    docket = cl.add_docket("dcd", number, CASE_NAME, cause=CAUSE, date_filed=FILED,
                           docket_id=docket_id)
    cl.add_entry(docket, 1, FILED, "COMPLAINT for Writ of Mandamus against USCIS",
                 short_description="Complaint")
    return docket


def alerted(cl: FakeCourtListener) -> list[int]:
    return sorted(a["docket"] for a in cl.docket_alerts.values())


def track_and_subscribe(cfg: str, clock: FixedClock) -> None:
    """Discovery tracks the case and lists the alerts; the next round syncs and subscribes."""
    poll(cfg, clock)
    clock.advance(minutes=15)
    poll(cfg, clock)


def test_tracking_subscribes_once_untracking_unsubscribes(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
        capsys: pytest.CaptureFixture[str]) -> None:
    docket = add_mandamus(cl)
    # An alert the user made by hand on another docket: never ours to touch.
    other = cl.add_docket("nysd", "1:25-cv-09999", "Roe v. Acme", cause="28:1332 Diversity")
    cl.handle("/api/rest/v4/docket-alerts/", {}, f"Token {TOKEN}", "POST", {"docket": other})
    cfg = write_config(tmp_path, cl, free_port())

    track_and_subscribe(cfg, clock)
    assert alerted(cl) == sorted([docket, other])
    assert cl.count_method("POST", "docket-alerts/") == 1 + 1  # the user's, then ours
    names = [(a["name"], a["query"], a["rate"]) for a in cl.search_alerts.values()]
    assert names == [("court-monitor: mandamus", "type=d&cause=28%3A1361", "rt")]

    # Restarts (each `poll --once` is a new process), a day later too (the listing is read
    # again): nothing is subscribed twice.
    for _ in range(3):
        clock.advance(hours=9)
        poll(cfg, clock)
    assert cl.count_method("POST", "docket-alerts/") == 2
    assert cl.count_method("POST", "alerts/") == 1
    assert cl.count_method("GET", "docket-alerts/") == 2  # at start, and a day later
    assert alerted(cl) == sorted([docket, other])

    status = run_json(["--config", cfg, "status"], clock, capsys)
    push = status["sources"][0]["push"]
    assert push["enabled"] is True
    assert [(d["docket_number"], d["mode"]) for d in push["dockets"]] == [
        ("1:26-cv-00412", "push")]

    assert run(["--config", cfg, "untrack", "dcd", "1:26-cv-00412"], clock) == 0
    clock.advance(minutes=15)
    poll(cfg, clock)
    assert alerted(cl) == [other]
    assert cl.count_method("DELETE", "docket-alerts/") == 1


def test_a_lost_memory_adopts_the_alert_rather_than_subscribing_twice(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener) -> None:
    docket = add_mandamus(cl)
    cfg = write_config(tmp_path, cl, free_port())
    track_and_subscribe(cfg, clock)
    assert alerted(cl) == [docket]
    db = sqlite3.connect(tmp_path / "monitor.db")
    with db:  # what the source kept (and when it listed) is gone
        db.execute("update sourcestate set cursor = '' where source_id = 'cl'")
        db.execute("delete from sourcestate where target = 'alerts:list'")
    clock.advance(minutes=15)
    poll(cfg, clock)
    clock.advance(minutes=15)
    poll(cfg, clock)
    assert alerted(cl) == [docket]
    assert cl.count_method("POST", "docket-alerts/") == 1
    kept = [row[0] for row in db.execute(
        "select target from sourcestate where cursor like '%\"alert\"%'")]
    assert f"docket:{docket}" in kept


def test_a_pushed_filing_becomes_one_entry_and_its_deadline_without_polling(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
        capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.app import App
    from monitor.config import load_config
    from monitor.server import start_server

    docket = add_mandamus(cl)
    port = free_port()
    cfg = write_config(tmp_path, cl, port)
    track_and_subscribe(cfg, clock)
    mark = events(cfg, clock, capsys)[-1]["id"]
    cl.reset_counters()

    app = App(config=load_config(cfg), clock=clock)
    httpd = start_server(app)
    cl.webhook_url = f"http://127.0.0.1:{port}/{SECRET_PATH}"
    try:
        clock.advance(hours=1)
        cl.add_entry(docket, 2, clock.now.date(), "MINUTE ORDER: Answer due by 4/1/2026.",
                     short_description="Order")
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()
    assert cl.pushed == 1
    assert cl.count() == 0  # no request of ours: the filing came by push

    pushed = events(cfg, clock, capsys, after=mark)
    added = [e for e in pushed if e["kind"] == "entry.added"]
    assert [e["data"]["entry_number"] for e in added] == [2]
    assert [e["data"]["due"] for e in pushed if e["kind"] == "deadline.set"] == ["2026-04-01"]

    # The next rounds spend nothing on that docket: it is pushed, and was synced today.
    for _ in range(3):
        clock.advance(minutes=20)
        poll(cfg, clock)
    assert cl.count(f"dockets/{docket}/") == 0 and cl.count("docket-entries/") == 0
    status = run_json(["--config", cfg, "status"], clock, capsys)
    (row,) = status["sources"][0]["push"]["dockets"]
    assert row["mode"] == "push" and row["last_push"] is not None

    # The safety net checks it once a day: the pushed entry is merged, not added again.
    clock.advance(hours=24)
    poll(cfg, clock)
    assert cl.count(f"dockets/{docket}/") == 1
    later = events(cfg, clock, capsys, after=pushed[-1]["id"])
    assert [e for e in later if e["kind"] == "entry.added"] == []


def test_a_silent_webhook_is_reported_once_then_recovers(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
        capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.app import App
    from monitor.config import load_config
    from monitor.server import accept_webhook, push_source

    docket = add_mandamus(cl)
    cfg = write_config(tmp_path, cl, free_port())
    track_and_subscribe(cfg, clock)
    # The webhook is not set on the website: CourtListener's pushes reach nobody.
    clock.advance(hours=30)
    cl.add_entry(docket, 2, clock.now.date(), "ORDER to show cause", short_description="Order")
    clock.advance(hours=1)
    poll(cfg, clock)  # the safety net finds it (a day since the last check)
    clock.advance(hours=2)
    poll(cfg, clock)
    clock.advance(hours=2)
    poll(cfg, clock)
    rows = events(cfg, clock, capsys)
    failing = [e for e in rows if e["kind"] == "source.failing"]
    assert [e["data"]["target"] for e in failing] == ["webhook"]
    assert run(["--config", cfg, "status"], clock) == 3
    status = run_json_status(cfg, clock, capsys)
    assert status["sources"][0]["push"]["silent"] is True

    app = App(config=load_config(cfg), clock=clock)
    try:
        source = push_source(app)
        assert source is not None
        body = cl.docket_alert_body(docket)
        outcome = accept_webhook(app, body, "k-1", now=clock.now, source=source)
    finally:
        app.close()
    assert outcome.status == 200
    recovered = [e for e in events(cfg, clock, capsys) if e["kind"] == "source.recovered"]
    assert [e["data"]["target"] for e in recovered] == ["webhook"]
    assert run(["--config", cfg, "status"], clock) == 0


def run_json_status(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    run(["--config", cfg, "status", "--json"], clock)
    return json.loads(capsys.readouterr().out)


def test_search_alert_falls_back_to_daily_when_real_time_is_refused(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener) -> None:
    cl.members = False
    add_mandamus(cl)
    cfg = write_config(tmp_path, cl, free_port())
    track_and_subscribe(cfg, clock)
    assert [(a["name"], a["rate"]) for a in cl.search_alerts.values()] == [
        ("court-monitor: mandamus", "dly")]


def test_without_a_public_url_nothing_is_subscribed(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
        capsys: pytest.CaptureFixture[str]) -> None:
    add_mandamus(cl)
    cfg = write_config(tmp_path, cl, free_port(), public_url="")
    track_and_subscribe(cfg, clock)
    assert cl.docket_alerts == {} and cl.search_alerts == {}
    assert cl.count("docket-alerts/") == 0
    status = run_json(["--config", cfg, "status"], clock, capsys)
    push = status["sources"][0]["push"]
    assert push["enabled"] is False and [d["mode"] for d in push["dockets"]] == ["poll"]
    capsys.readouterr()
    run(["--config", cfg, "status"], clock)
    text = capsys.readouterr().out
    assert "push: off (see `court-monitor doctor courtlistener`); 0 dockets pushed, 1 polled" \
        in text
    assert "1:26-cv-00412" in text and "poll  last push never" in text


@pytest.mark.skipif(not WEBHOOKS.is_dir(), reason="corpus not available")
def test_the_real_corpus_payloads_pushed_to_the_endpoint(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
        capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.app import App
    from monitor.config import load_config
    from monitor.server import start_server

    # The docket of the corpus's docket alert (4214664), tracked here.
    add_mandamus(cl, "1:16-cv-00745", docket_id=4214664)
    port = free_port()
    cfg = write_config(tmp_path, cl, port)
    track_and_subscribe(cfg, clock)
    mark = events(cfg, clock, capsys)[-1]["id"]
    app = App(config=load_config(cfg), clock=clock)
    httpd = start_server(app)
    url = f"http://127.0.0.1:{port}/{SECRET_PATH}"
    try:
        statuses = {p.name: cl.push(p.read_bytes(), url=url)
                    for p in sorted(WEBHOOKS.glob("*.json"))}
    finally:
        httpd.shutdown()
        httpd.server_close()
        app.close()
    assert set(statuses.values()) == {200}, statuses
    added = [e for e in events(cfg, clock, capsys, after=mark) if e["kind"] == "entry.added"]
    # v1 and v2 of the docket alert carry the same filing: one entry.
    assert [e["data"]["entry_number"] for e in added] == [140]
    db = sqlite3.connect(tmp_path / "monitor.db")
    (last_push,) = db.execute("select last_push from 'case' where cl_docket_id = 4214664"
                              ).fetchone()
    assert last_push is not None


def test_fake_push_posts_with_an_idempotency_key(cl: FakeCourtListener) -> None:
    received: list[tuple[bytes, str]] = []
    cl.push_sink = lambda body, key: received.append((body, key))
    docket = add_mandamus(cl)
    cl.handle("/api/rest/v4/docket-alerts/", {}, f"Token {TOKEN}", "POST", {"docket": docket})
    cl.add_entry(docket, 2, FILED, "ORDER", short_description="Order")
    (body, key), = received
    assert key and json.loads(body)["webhook"]["event_type"] == 1
    with httpx.Client() as client:  # the listing is a real endpoint too
        listed = client.get(cl.base_url + "docket-alerts/",
                            headers={"Authorization": f"Token {TOKEN}"}).json()
    assert [a["docket"] for a in listed["results"]] == [docket]


def doctor(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--config", cfg, "doctor", "courtlistener"], clock)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert TOKEN not in text and SECRET_PATH not in text and "5ecret" not in text
    return code, text


def test_doctor_checks_the_token_alerts_and_endpoint_and_prints_the_steps(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    add_mandamus(cl)
    cfg = write_config(tmp_path, cl, free_port())
    track_and_subscribe(cfg, clock)
    before = cl.count()

    code, text = doctor(cfg, clock, capsys)
    assert code == 0
    assert "token: accepted" in text
    assert "docket alerts on the account: 1 (1 kept by court-monitor)" in text
    assert "mandamus (rt)" in text
    assert "the API cannot tell" in text and "last push received: never" in text
    assert "https://monitor.example.org/<the secret path in $CM_WEBHOOK_PATH>" in text
    assert "/profile/webhooks/" in text and '"Search Alert"' in text
    assert cl.count() == before + 2  # one budgeted request per listing

    off = write_config(tmp_path, cl, free_port(), public_url="")
    code, text = doctor(off, clock, capsys)
    assert code == 1 and "push: off (polling only); set [server] public_url" in text

    monkeypatch.setenv("CL_TOKEN_PUSH", "not-the-token")
    code, text = doctor(cfg, clock, capsys)
    assert code == 1 and "token: rejected" in text


# ---------------------------------------------------------------------------- pure rules


def test_reconcile_adopts_drops_duplicates_and_leaves_the_users_alerts() -> None:
    from sources.courtlistener._alerts import reconcile_docket_alerts

    listed = [(1, 101), (2, 102), (1, 103), (7, 107), (9, 109)]
    # tracked: 1 and 2; we once made 7 (no longer tracked); 9 is the user's own
    outcome = reconcile_docket_alerts(listed, ours={7: 107}, tracked=[1, 2])
    assert dict(outcome.kept) == {1: 101, 2: 102}
    assert sorted(outcome.delete) == [103, 107]


def test_reconcile_search_alerts_by_name_and_query() -> None:
    from sources.courtlistener._alerts import (
        SearchAlert,
        alert_query,
        reconcile_search_alerts,
    )
    from sources.courtlistener._options import Query

    mandamus = Query(name="mandamus", cause="28:1361")
    listed = [("mandamus", SearchAlert(1, "rt", "?" + alert_query(mandamus) + "&")),
              ("old", SearchAlert(2, "dly", "q=x")),
              ("mandamus", SearchAlert(3, "rt", alert_query(mandamus)))]
    outcome = reconcile_search_alerts(listed, [mandamus])
    assert dict(outcome.kept) == {"mandamus": 1} and sorted(outcome.delete) == [2, 3]
    changed = reconcile_search_alerts(listed[:1], [Query(name="mandamus", cause="05:702")])
    assert dict(changed.kept) == {} and changed.delete == (1,)


def test_a_pushed_docket_is_checked_daily_unless_a_deadline_is_near_without_push() -> None:
    from datetime import timedelta

    from sources.base import TrackedCase
    from sources.courtlistener._schedule import split_due

    now = START
    synced = now - timedelta(hours=3)
    quiet = TrackedCase("dcd", "1:26-cv-00001", cl_docket_id=1, last_synced=synced,
                        last_push=now - timedelta(days=3))
    near = TrackedCase("dcd", "1:26-cv-00002", cl_docket_id=2, last_synced=synced,
                       next_due=(now + timedelta(days=2)).date(),
                       last_push=now - timedelta(days=3))
    near_pushed = TrackedCase("dcd", "1:26-cv-00003", cl_docket_id=3, last_synced=synced,
                              next_due=(now + timedelta(days=2)).date(),
                              last_push=now - timedelta(hours=2))
    stale = TrackedCase("dcd", "1:26-cv-00004", cl_docket_id=4,
                        last_synced=now - timedelta(days=1, minutes=1))
    rss_unpushed = TrackedCase("dcd", "1:26-cv-00005", cl_docket_id=5, last_synced=synced,
                               last_activity=now - timedelta(hours=2),
                               last_push=now - timedelta(days=2))
    rss_pushed = TrackedCase("dcd", "1:26-cv-00006", cl_docket_id=6, last_synced=synced,
                             last_activity=now - timedelta(hours=2),
                             last_push=now - timedelta(hours=2))
    cases = [quiet, near, near_pushed, stale, rss_unpushed, rss_pushed]
    due, spare = split_due(cases, now, 100.0, pushed=frozenset({1, 2, 3, 4, 5, 6}))
    assert {c.cl_docket_id for c in due} == {2, 4, 5}
    assert {c.cl_docket_id for c in spare} <= {2}  # pushed dockets are never checked early
    # Without alerts, RSS activity makes a docket due at once (what push replaces).
    polled_due, _ = split_due(cases, now, 100.0)
    assert 6 in {c.cl_docket_id for c in polled_due}


def test_a_public_url_that_is_not_a_url_is_a_configuration_error(
        tmp_path: Path, clock: FixedClock, cl: FakeCourtListener) -> None:
    cfg = write_config(tmp_path, cl, free_port(), public_url="monitor.example.org")
    assert run(["--config", cfg, "check-config"], clock) == 2
