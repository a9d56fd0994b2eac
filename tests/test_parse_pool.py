"""A big round's feeds parsed in worker processes (`monitor.parse_pool`, `[poll] parse_processes`).

- the round stores exactly what parsing in the daemon's own process stores (cases, entries,
  events), the parse really ran in other processes, and a case stored before the round (by
  hand, matching no watch) still gets its entries through the screen;
- a case another process stores while the round runs is caught up by the next round, although
  the feed answers 304 by then;
- workers that die leave the round whole: the pool says so once and parses in-process;
- the screen keeps what the store could keep and drops only untracked, unmatched cases;
- a bad `[poll] parse_processes` names its key and file.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import parse_pool
from monitor.app import App
from monitor.config import WatchConfig, load_config
from monitor.errors import ConfigError, MonitorError
from monitor.matching import Matcher
from monitor.parse_pool import POOL_MIN_RESPONSES, Screen, screen
from monitor.poll import Runner
from sources.base import CaseObservation, EntryObservation, PageObservation
from sources.identity import docket_key
from tests.cli_helpers import write_config
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss

COURTS = ("dcd", "txsd", "nysd", "cand", "ilnd", "mdd", "vaed", "wawd", "azd", "njd")
assert len(COURTS) >= POOL_MIN_RESPONSES

WATCH = """
[[watch]]
name = "mandamus"
tags = ["mandamus"]
entry_text = ["(?i)writ of mandamus"]
case_name = ["(?i)sheriff"]
"""

#: a case no watch matches, tracked by hand before the round (its court is the second one)
BY_HAND = ("txsd", "4:26-cv-07777")
#: its entry, as stored (court, docket key, identity, short description)
BY_HAND_ENTRY = ("txsd", docket_key(BY_HAND[1]), "n:9", "Scheduling order")


def _feeds(server: FeedServer) -> None:
    for n, court in enumerate(COURTS):
        items = [
            Item(court, f"1:26-cv-{100 + n:05d}", f"Roe {n} v. Sheriff of Somewhere",
                 "Complaint", 1, case_id=f"{500 + n}"),
            Item(court, f"1:26-cv-{200 + n:05d}", f"Doe {n} v. Mayorkas",
                 "PETITION for Writ of Mandamus", 1, case_id=f"{600 + n}"),
            Item(court, f"1:26-cv-{300 + n:05d}", f"Acme {n} v. Widget LLC", "Order", 4,
                 case_id=f"{700 + n}"),
        ]
        if court == BY_HAND[0]:
            items.append(Item(court, BY_HAND[1], "Smith v. Jones", "Scheduling order", 9,
                              case_id="799"))
        server.set(f"/{court}/rss", rss(court, items))


def _app(tmp_path: Path, server: FeedServer, processes: int) -> App:
    folder = tmp_path / f"p{processes}"
    folder.mkdir()
    cfg = write_config(folder, server.base, courts=COURTS,
                       extra=WATCH + f"\n[poll]\nparse_processes = {processes}\n")
    return App(config=load_config(cfg), clock=FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC)))


def _stored(app: App) -> tuple[list[Any], list[Any], list[Any]]:
    url = app.config.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(url) as c:
        cases = sorted(c.execute('SELECT court, docket_key, case_name, tracked FROM "case"'))
        entries = sorted(c.execute(
            'SELECT c.court, c.docket_key, e.identity, e.short_description FROM entry e '
            'JOIN "case" c ON c.id = e.case_id'))
        events = sorted(c.execute("SELECT kind, subject, summary FROM event"))
    return cases, entries, events


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        _feeds(srv)
        yield srv


def test_a_pooled_round_stores_what_an_in_process_round_stores(
        tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture) -> None:
    stored = {}
    for processes in (0, 2):
        app = _app(tmp_path, server, processes)
        try:
            app.store.track(*BY_HAND, tags=["by-hand"], now=app.clock())
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="monitor.parse_pool"):
                report = app.runner.poll("pacer-rss")
            assert report.errors == []
            assert report.fetched == len(COURTS)
            # every item was parsed (counted), screened or not
            assert report.observations == 3 * len(COURTS) + 1
            # this test's own server thread runs: a forkserver forks them
            started = [r for r in caplog.records
                       if r.message == "parsing in 2 processes (forkserver)"]
            assert len(started) == (1 if processes else 0)
            assert not app.runner.parse_pool.started  # none kept between rounds
            stored[processes] = _stored(app)
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="monitor.parse_pool"):
                again = app.runner.poll("pacer-rss")
            assert again.not_modified == len(COURTS)
            assert not caplog.records  # nothing to parse: no process started
        finally:
            app.close()
    assert stored[0] == stored[2]
    cases, entries, _ = stored[2]
    tracked = {(court, key) for court, key, _, is_tracked in cases if is_tracked}
    assert len(tracked) == 2 * len(COURTS) + 1  # sheriff + mandamus per court, the one by hand
    assert BY_HAND_ENTRY in entries
    assert not any("Acme" in name for _, _, name, _ in cases)


def test_a_case_stored_by_another_process_during_the_round_is_caught_up(
        tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, server, 2)
    other = App(config=app.config, clock=app.clock)  # another process's engine on the file
    real = Runner._pooled

    def pooled_then_tracked(runner: Runner, *args: Any) -> Any:
        pooled = real(runner, *args)  # the round has read the stored keys...
        other.store.track(*BY_HAND, tags=["by-hand"], now=app.clock())  # ...then this
        monkeypatch.setattr(Runner, "_pooled", real)
        return pooled

    monkeypatch.setattr(Runner, "_pooled", pooled_then_tracked)
    try:
        app.runner.poll("pacer-rss")
        entries = _stored(app)[1]
        assert not [e for e in entries if e[:2] == BY_HAND_ENTRY[:2]]  # screened out this round
        second = app.runner.poll("pacer-rss")
        assert second.errors == []
        entries = _stored(app)[1]
        assert BY_HAND_ENTRY in entries
        # only the court that gained the case was fetched in full again
        assert second.not_modified == len(COURTS) - 1
    finally:
        other.close()
        app.close()


def test_dead_workers_leave_the_round_whole(tmp_path: Path, server: FeedServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    expected_app = _app(tmp_path, server, 0)
    try:
        expected_app.runner.poll("pacer-rss")
        expected = _stored(expected_app)
    finally:
        expected_app.close()
    app = _app(tmp_path, server, 2)
    try:
        pool = app.runner.parse_pool
        pids = pool.start()
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="monitor.parse_pool"):
            report = app.runner.poll("pacer-rss")
        assert report.errors == [] and report.failed == 0
        assert _stored(app) == expected
        assert len([r for r in caplog.records if "parse processes failed" in r.message]) == 1
        assert not pool.enabled  # later rounds parse in-process
    finally:
        app.close()


def _obs(court: str, docket: str, name: str, text: str = "Order") -> CaseObservation:
    entry = EntryObservation(entry_number=1, date_filed=None, short_description=text)
    return CaseObservation(court=court, docket_number=docket, docket_number_raw=docket,
                           case_name=name, entries=(entry,))


def test_the_screen_drops_only_untracked_cases_no_watch_matches() -> None:
    matcher = Matcher([WatchConfig(name="w", entry_text=["(?i)mandamus"],
                                   case_name=["(?i)sheriff"])])
    known = Screen(courts=frozenset({"dcd"}),
                   keys=frozenset({("dcd", docket_key("1:26-cv-00001"))}))
    stored = _obs("dcd", "1:26-cv-00001", "A v. B")
    matched_name = _obs("dcd", "1:26-cv-00002", "Roe v. Sheriff")
    matched_text = _obs("dcd", "1:26-cv-00003", "C v. D", "Petition for writ of mandamus")
    nothing = _obs("dcd", "1:26-cv-00004", "E v. F")
    other_court = _obs("txsd", "4:26-cv-00005", "G v. H")  # its keys were not sent
    no_docket = CaseObservation(court="dcd", docket_number="", docket_number_raw="",
                                cl_docket_id=7)
    kept = screen([stored, matched_name, matched_text, nothing, other_court, no_docket],
                  known, matcher)
    assert kept == [stored, matched_name, matched_text, other_court, no_docket]
    page = PageObservation(url="https://example.org/", text="x")
    assert screen([nothing, page], known, matcher) == [nothing, page]  # mixed: kept whole


def test_a_bad_parse_processes_names_its_key_and_file(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra="[poll]\nparse_processes = -1\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "poll.parse_processes" in str(err.value) and "config.toml" in str(err.value)


@pytest.mark.parametrize("entry", [["-m", "monitor"], ["-c", "from monitor.cli import main; "
                                                              "import sys; sys.exit(main())"]])
def test_poll_once_in_its_own_process_forks_its_parsers(
        tmp_path: Path, server: FeedServer, entry: list[str]) -> None:
    """`poll --once` runs no other thread when its round starts: the workers are forked (the
    parent's modules shared), and what is stored equals the in-process parse's."""
    expected_app = _app(tmp_path, server, 0)
    try:
        expected_app.store.track(*BY_HAND, tags=["by-hand"], now=expected_app.clock())
        expected_app.runner.poll("pacer-rss")
        expected = _stored(expected_app)[:2]
    finally:
        expected_app.close()
    (tmp_path / "sub").mkdir()
    app = _app(tmp_path / "sub", server, 2)
    try:
        app.store.track(*BY_HAND, tags=["by-hand"], now=app.clock())
    finally:
        app.close()
    done = subprocess.run(
        [sys.executable, *entry, "--config", app.config.path, "poll", "--once", "--no-dispatch"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "parsing in 2 processes (fork)" in done.stdout + done.stderr
    assert f"{len(COURTS)} fetched" in done.stdout + done.stderr
    assert _stored(app)[:2] == expected


def test_a_parse_worker_never_fetches() -> None:
    saved = parse_pool._worker
    try:
        parse_pool._start_worker(())
        assert parse_pool._worker is not None
        with pytest.raises(MonitorError, match="does not fetch"):
            parse_pool._worker.client.get("http://127.0.0.1:9/feed")
    finally:
        parse_pool._worker = saved
