"""Court notices by email, end to end: the mail pipe (`intake email`) and the `imap` source
against a real Dovecot on 127.0.0.1, a real SQLite file, the real command line.

Shown here: a notice becomes one entry and its deadline, however often it comes (twice by pipe,
by pipe and mailbox, after a crash mid-mailbox); a non-court email and a forged sender are kept
aside, never entries; a busy database gives 75 and the retry succeeds; an entry by email and
the same entry by RSS are one row; the free look never leaves the store.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.poll import Runner
from tests.cli_helpers import CONSOLE, run, run_json, write_config
from tests.conftest import FixedClock
from tests.fakes.dovecot import PASSWORD, USER, Dovecot, dovecot_server
from tests.fakes.feed_server import FeedServer, Item, rss

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "court_email"
DOCKET = "1:26-cv-00412"
WATCH = f"""
[[watch]]
name = "mine"
dockets = ["dcd:{DOCKET}", "txsb:26-ap-03011", "txsb:26-30774"]
"""


def _notice(name: str = "dcd_plain.eml") -> bytes:
    return (FIXTURES / name).read_bytes()


def _numbered(number: int) -> bytes:
    """The notice of another entry of the same case (its own message, number and document)."""
    return (_notice().replace(b"<7771001@", f"<77710{number:02d}@".encode())
            .replace(b"Document Number: 7", f"Document Number: {number}".encode())
            .replace(b"doc1/04519876543", f"doc1/045198765{number:02d}".encode())
            .replace(b"de_seq_num=31", f"de_seq_num={30 + number}".encode()))


def _forged() -> bytes:
    """The same notice from someone who only wrote a court's From line (no proof at all)."""
    raw = _notice()
    head, _, body = raw.partition(b"\n\n")
    lines = [line for line in head.split(b"\n")
             if not line.startswith((b"Authentication-Results", b" "))]
    forged = b"\n".join(lines).replace(b"<7771001@dcd.uscourts.gov>", b"<forged-1@evil.example>")
    return forged + b"\n\n" + body.replace(b"Document Number: 7", b"Document Number: 8")


def _not_court() -> bytes:
    return (b"From: Newsletter <news@example.org>\nTo: court@example.org\n"
            b"Subject: Our spring sale\nMessage-ID: <sale-1@example.org>\n"
            b"Date: Tue, 03 Mar 2026 09:00:00 +0000\n\nEverything must go.\n")


def _imap_source(server: Dovecot | None, *, batch: int = 50, security: str = "tls",
                 enabled: bool = True, track_cases: bool = True) -> str:
    port = 0 if server is None else (server.tls_port if security == "tls" else server.port)
    ca = f'ca_file = "{server.ca_file}"' if server is not None else ""
    return f"""
[[source]]
id = "mail"
kind = "imap"
enabled = {"true" if enabled else "false"}
host = "127.0.0.1"
port = {port}
security = "{security}"
{ca}
username = "{USER}"
password_env = "TEST_IMAP_PASSWORD"
batch = {batch}
authserv_ids = ["mx.test.example"]
dkim = false
track_cases = {"true" if track_cases else "false"}
interval = "5m"
"""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 21, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", PASSWORD)


def pipe(cfg: str, raw: bytes, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
         *extra: str) -> int:
    """`court-monitor intake email < message` in process."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    return run(["--config", cfg, "intake", "email", *extra], clock)


def case_json(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str],
              court: str = "dcd", docket: str = DOCKET) -> dict[str, Any]:
    data = run_json(["--config", cfg, "case", court, docket], clock, capsys)
    assert isinstance(data, dict)
    return data


def aside(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    rows = run_json(["--config", cfg, "intake", "aside"], clock, capsys)
    assert isinstance(rows, list)
    return rows


# ---------------------------------------------------------------------------- the pipe


def test_pipe_takes_a_notice_once_and_sets_aside_the_rest(
        tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE
                       + _imap_source(None, enabled=False))
    assert pipe(cfg, _notice(), clock, monkeypatch) == 0
    assert pipe(cfg, _notice(), clock, monkeypatch) == 0  # the mail server delivered it twice
    case = case_json(cfg, clock, capsys)
    assert [e["entry_number"] for e in case["entries"]] == [7]
    assert case["entries"][0]["sources"] == ["mail"]
    assert [d["due"] for d in case["deadlines"] if d["due"] == "2026-05-01"], case["deadlines"]
    assert sum(1 for e in case["events"] if e["kind"] == "entry.added") == 1
    assert "magic_num" not in json.dumps(case)

    assert pipe(cfg, _not_court(), clock, monkeypatch) == 65
    assert pipe(cfg, _forged(), clock, monkeypatch) == 0  # kept aside, not bounced
    assert pipe(cfg, _forged(), clock, monkeypatch) == 0
    case = case_json(cfg, clock, capsys)
    assert [e["entry_number"] for e in case["entries"]] == [7]  # the forged #8 is no entry
    rows = aside(cfg, clock, capsys)
    assert sorted(r["sender"] for r in rows) == ["dcd_ecfnotice@dcd.uscourts.gov",
                                                 "news@example.org"]
    assert any("untrusted" in r["reason"] for r in rows)
    # Set aside is said once: in the log, when first seen.
    assert capsys.readouterr().err.count("set aside") == 0  # nothing new since


@pytest.mark.parametrize("track_cases", [True, False])
def test_a_notice_tracks_its_case_though_no_watch_names_it(
        tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], track_cases: bool) -> None:
    # The court wrote to the mailbox's owner: they are on the case, whatever the watches say
    # (unless the operator asks for the watches' cases only).
    other = '[[watch]]\nname = "other"\ndockets = ["dcd:1:99-cv-00001"]\n'
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=other + CONSOLE
                       + _imap_source(None, enabled=False, track_cases=track_cases))
    assert pipe(cfg, _notice(), clock, monkeypatch) == 0
    cases = run_json(["--config", cfg, "cases"], clock, capsys)
    assert isinstance(cases, list)
    if not track_cases:
        assert cases == []
        return
    assert [(c["court"], c["docket_number"]) for c in cases] == [("dcd", DOCKET)]
    case = case_json(cfg, clock, capsys)
    assert [e["entry_number"] for e in case["entries"]] == [7]
    assert [d["due"] for d in case["deadlines"] if d["due"] == "2026-05-01"], case["deadlines"]
    assert json.dumps(case).count("court-notice") >= 1
    # A forged notice tracks nothing.
    assert pipe(cfg, _forged().replace(DOCKET.encode(), b"1:26-cv-00999"), clock,
                monkeypatch) == 0
    cases = run_json(["--config", cfg, "cases"], clock, capsys)
    assert [c["docket_number"] for c in cases] == [DOCKET]


def test_pipe_busy_database_gives_75_then_the_retry_succeeds(
        tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE
                       + _imap_source(None, enabled=False))
    assert run(["--config", cfg, "db", "upgrade"], clock) == 0
    lock = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert pipe(cfg, _notice(), clock, monkeypatch, "--wait", "0.3") == 75
        assert "busy" in capsys.readouterr().err
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert pipe(cfg, _notice(), clock, monkeypatch, "--wait", "0.3") == 0
    case = case_json(cfg, clock, capsys)
    assert [e["entry_number"] for e in case["entries"]] == [7]
    assert case["entries"][0]["sources"] == ["mail"]


def test_email_entry_meets_the_rss_entry_as_one_row(
        tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with FeedServer() as feeds:
        feeds.set("/dcd/rss", rss("dcd", [Item(
            court="dcd", docket=f"{DOCKET}-ABJ",
            case_name="DOE v. U.S. CITIZENSHIP AND IMMIGRATION SERVICES et al",
            text="Summons Returned Executed", entry_number=7, doc_id="04519876543",
            case_id="271234", when=datetime(2026, 3, 2, 20, 30, tzinfo=UTC))]))
        cfg = write_config(tmp_path, feeds.base, extra=WATCH + CONSOLE
                           + _imap_source(None, enabled=False))
        assert pipe(cfg, _notice(), clock, monkeypatch) == 0  # email first: days earlier
        clock.advance(hours=2)
        assert run(["--config", cfg, "poll", "--once", "--no-dispatch"], clock) == 0
    case = case_json(cfg, clock, capsys)
    assert len(case["entries"]) == 1
    entry = case["entries"][0]
    assert entry["sources"] == ["mail", "pacer-rss"]
    assert "Answer due" in entry["description"]  # the notice's full text stays
    assert sum(1 for e in case["events"] if e["kind"] == "entry.added") == 1
    assert run(["--config", cfg, "feeds", "--rebuild"], clock) == 0
    for path in (tmp_path / "feeds").rglob("*"):
        if path.is_file():
            assert b"magic_num" not in path.read_bytes(), path


# ---------------------------------------------------------------------------- the mailbox


@pytest.fixture
def dovecot() -> Any:
    with dovecot_server() as server:
        yield server


def _entries(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str],
             court: str = "dcd", docket: str = DOCKET) -> list[int | None]:
    return [e["entry_number"] for e in case_json(cfg, clock, capsys, court, docket)["entries"]]


def _events(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> list[str]:
    rows = run_json(["--config", cfg, "events"], clock, capsys)
    return [f"{r['kind']} {r['subject']} {r['data'].get('entry_number', '')}" for r in rows]


def test_imap_notices_become_entries_once_and_the_rest_is_set_aside(
        tmp_path: Path, clock: FixedClock, dovecot: Dovecot,
        capsys: pytest.CaptureFixture[str]) -> None:
    for raw in (_notice(), _not_court(), _notice("txsb_multi_html.eml"), _forged()):
        dovecot.deliver(raw)
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE
                       + _imap_source(dovecot))
    assert run(["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"],
               clock) == 0
    assert _entries(cfg, clock, capsys) == [7]
    assert _entries(cfg, clock, capsys, "txsb", "26-ap-03011") == [1]
    assert _entries(cfg, clock, capsys, "txsb", "26-30774") == [69]
    deadlines = case_json(cfg, clock, capsys)["deadlines"]
    assert any(d["due"] == "2026-05-01" for d in deadlines), deadlines
    assert len(aside(cfg, clock, capsys)) == 2
    events = _events(cfg, clock, capsys)
    # The stored messages are marked at the next round; nothing is taken twice.
    clock.advance(minutes=5)
    assert run(["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"],
               clock) == 0
    assert _events(cfg, clock, capsys) == events
    assert all(b"$CourtMonitor" in flags for flags in dovecot.flags().values())
    assert all(b"\\Seen" not in flags for flags in dovecot.flags().values())
    # A notice arriving later is taken at the next round.
    dovecot.deliver(_numbered(9))
    clock.advance(minutes=5)
    assert run(["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"],
               clock) == 0
    assert _entries(cfg, clock, capsys) == [7, 9]


def test_imap_restart_mid_mailbox_loses_and_repeats_nothing(
        tmp_path: Path, clock: FixedClock, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for number in (7, 8, 9, 10):
        dovecot.deliver(_numbered(number))
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE
                       + _imap_source(dovecot, batch=2))
    poll = ["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"]
    assert run(poll, clock) == 0
    assert _entries(cfg, clock, capsys) == [7, 8]

    # The process dies after storing the next two notices, before it could note how far it got.
    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "_finish_round", crash)
    clock.advance(minutes=1)
    assert run(poll, clock) == 130  # interrupted
    monkeypatch.undo()
    monkeypatch.setenv("TEST_IMAP_PASSWORD", PASSWORD)
    assert _entries(cfg, clock, capsys) == [7, 8, 9, 10]
    before = _events(cfg, clock, capsys)
    for _ in range(3):  # restarted: reads 9 and 10 again, takes nothing twice, marks all
        clock.advance(minutes=1)
        assert run(poll, clock) == 0
    assert _entries(cfg, clock, capsys) == [7, 8, 9, 10]
    assert _events(cfg, clock, capsys) == before
    added = [e for e in before if e.startswith("entry.added")]
    assert len(added) == 4
    assert all(b"$CourtMonitor" in flags for flags in dovecot.flags().values())


def test_imap_starttls_and_move_to(tmp_path: Path, clock: FixedClock, dovecot: Dovecot,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    dovecot.deliver(_notice())
    source = _imap_source(dovecot, security="starttls") + 'move_to = "Court"\n'
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE + source)
    poll = ["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"]
    imap = dovecot.client()
    imap.create_folder("Court")
    imap.logout()
    assert run(poll, clock) == 0
    assert _entries(cfg, clock, capsys) == [7]
    clock.advance(minutes=1)
    assert run(poll, clock) == 0
    assert dovecot.flags("INBOX") == {}
    assert len(dovecot.flags("Court")) == 1


def test_imap_wrong_password_is_a_failure_that_names_no_secret(
        tmp_path: Path, clock: FixedClock, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong-password-xyz")
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE
                       + _imap_source(dovecot))
    capsys.readouterr()
    assert run(["--config", cfg, "poll", "--once", "--source", "mail"], clock) == 0
    out = capsys.readouterr()
    assert "1 failed" in out.out
    assert "wrong-password-xyz" not in out.out + out.err


def test_imap_idle_takes_a_notice_that_arrives_while_waiting(
        tmp_path: Path, clock: FixedClock, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from imapclient import IMAPClient

    idling = threading.Event()
    original = IMAPClient.idle

    def idle(self: IMAPClient) -> Any:
        answer = original(self)
        idling.set()  # the server now waits with us: deliver
        return answer

    monkeypatch.setattr(IMAPClient, "idle", idle)
    source = _imap_source(dovecot) + 'idle_wait = "60s"\n'
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE + source)
    codes: list[int] = []
    poller = threading.Thread(target=lambda: codes.append(run(
        ["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"], clock)))
    poller.start()
    assert idling.wait(30), "the round never entered IDLE"
    dovecot.deliver(_notice())
    poller.join(60)
    assert codes == [0]
    assert _entries(cfg, clock, capsys) == [7]  # taken in the same round, woken by IDLE


def test_imap_a_message_too_big_for_a_notice_is_set_aside_by_its_header(
        tmp_path: Path, clock: FixedClock, dovecot: Dovecot,
        capsys: pytest.CaptureFixture[str]) -> None:
    big = _not_court().replace(b"Everything must go.", b"x" * 2_100_000)
    dovecot.deliver(big)
    dovecot.deliver(_notice())
    cfg = write_config(tmp_path, "http://127.0.0.1:9", extra=WATCH + CONSOLE
                       + _imap_source(dovecot))
    assert run(["--config", cfg, "poll", "--once", "--source", "mail", "--no-dispatch"],
               clock) == 0
    assert _entries(cfg, clock, capsys) == [7]
    rows = aside(cfg, clock, capsys)
    assert [r["subject"] for r in rows] == ["Our spring sale"]
