"""`court-monitor replay`: the two input shapes, the day-by-day driver, the command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config, load_config
from monitor.errors import ParseError
from monitor.replay import LedgerRow, ReplayOptions, replay
from monitor.replay_input import read_docket
from tests.cli_helpers import run
from tests.conftest import FixedClock

CL_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "replay" / "courtlistener_docket.json"


def _config(tmp_path: Path, text: str = "") -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(str(path), environ={})


def _cl() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CL_FIXTURE.read_text(encoding="utf-8"))
    return data


def _juriscraper(**docket: Any) -> dict[str, Any]:
    return {
        "court_id": "nysd", "docket_number": "1:24-cv-00007", "case_name": "Doe v. Roe",
        "date_filed": "2024-03-01", "date_terminated": None, **docket,
        "docket_entries": [
            {"date_filed": "2024-03-01", "document_number": "1",
             "description": "COMPLAINT against Roe filed by Doe.", "pacer_seq_no": "1"},
            {"date_filed": "2024-03-04", "document_number": None,
             "description": "Case Designated ECF. (aa) (Entered: 03/04/2024)"},
            {"date_filed": "2024-03-04", "document_number": None,
             "description": "Magistrate Judge assigned. (aa) (Entered: 03/04/2024)"},
            {"date_filed": None, "document_number": "2",
             "description": "NOTICE of Appearance by A. Lawyer on behalf of Roe."},
        ],
    }


# ---------------------------------------------------------------------------- reading


def test_courtlistener_docket_and_entries_are_read() -> None:
    docket = read_docket(_cl())
    assert docket.shape == "courtlistener"
    assert (docket.case.court, docket.case.docket_number) == ("dcd", "1:26-cv-00412")
    assert docket.case.date_terminated == date(2026, 5, 11)
    assert [e.entry_number for e in docket.entries] == [1, 2, 7, 8]
    assert docket.entries[0].pacer_doc_id == "04511290001"
    assert docket.entries[1].pacer_seq_no == 4


def test_courtlistener_embedded_entries_and_results_page_read_the_same() -> None:
    data = _cl()
    embedded = {**data["docket"], "docket_entries": data["docket_entries"]}
    paged = {"docket": data["docket"], "docket_entries": {"results": data["docket_entries"]}}
    for variant in (embedded, paged):
        assert read_docket(variant) == read_docket(data)


def test_juriscraper_parse_is_read_and_undated_entries_take_the_day_before() -> None:
    docket = read_docket(_juriscraper())
    assert docket.shape == "juriscraper"
    assert docket.case.court == "nysd"
    assert [(e.entry_number, e.date_filed) for e in docket.entries] == [
        (1, date(2024, 3, 1)), (None, date(2024, 3, 4)), (None, date(2024, 3, 4)),
        (2, date(2024, 3, 4))]
    assert docket.undated == 1
    # two unnumbered entries of one day with nothing else to tell them apart stay two
    assert docket.entries[1].short_description != docket.entries[2].short_description


def test_court_comes_from_the_option_when_the_file_names_none() -> None:
    with pytest.raises(ParseError, match="--court"):
        read_docket(_juriscraper(court_id=""))
    assert read_docket(_juriscraper(court_id=""), court="dcd").case.court == "dcd"
    with pytest.raises(ParseError):
        read_docket([1, 2])


# ---------------------------------------------------------------------------- replaying


def _rows(tmp_path: Path, data: dict[str, Any], **options: Any) -> list[LedgerRow]:
    return replay(read_docket(data), _config(tmp_path), tmp_path, ReplayOptions(**options))


def test_replay_runs_the_clock_through_the_case_and_closes_it(tmp_path: Path) -> None:
    rows = _rows(tmp_path, _cl())
    service = [r for r in rows if r.deadline.lower().startswith("serv")]
    assert service[0].event == "deadline.set"
    assert (service[0].day, service[0].due, service[0].entry) == (
        date(2026, 2, 17), date(2026, 5, 18), 1)  # FRCP 4(m): 90 days from the petition
    closed = [r for r in rows if r.event == "case.closed"]
    assert [r.day for r in closed] == [date(2026, 5, 11)]
    # nothing stays open once the case is closed, and nothing follows the closing
    assert {r.event for r in rows if r.day >= date(2026, 5, 11)} <= {"case.closed",
                                                                      "deadline.vacated"}
    assert rows == sorted(rows, key=lambda r: r.day)


def test_replay_never_touches_the_configured_database(tmp_path: Path) -> None:
    elsewhere = tmp_path / "user" / "monitor.db"
    config = _config(tmp_path, f'[database]\nurl = "sqlite:///{elsewhere}"\n')
    replay(read_docket(_cl()), config, tmp_path / "scratch")
    assert not elsewhere.exists()
    assert (tmp_path / "scratch" / "replay.db").exists()


def test_a_deadline_past_the_files_last_entry_is_unverified_not_overdue(tmp_path: Path) -> None:
    data = _juriscraper()
    data["docket_entries"] = [{
        "date_filed": "2024-03-01", "document_number": "5",
        "description": "ORDER setting deadlines. Status Report due by 3/8/2024."}]
    read = [r for r in _rows(tmp_path / "a", data) if r.event in (
        "deadline.overdue", "deadline.unverified")]
    assert read == []  # the file ends on 3/1: the clock stops there
    later = _rows(tmp_path / "b", data, until=date(2024, 3, 20))
    late = [r for r in later if r.event in ("deadline.overdue", "deadline.unverified")]
    assert [(r.event, r.day) for r in late] == [("deadline.unverified", date(2024, 3, 9))]
    days = [r.day for r in later if r.event == "deadline.due_soon"]
    assert days == [date(2024, 3, 1), date(2024, 3, 5), date(2024, 3, 7), date(2024, 3, 8)]


def test_courtlistener_order_date_is_one_deadline_met_by_the_answer(tmp_path: Path) -> None:
    rows = [r for r in _rows(tmp_path, _cl()) if "respon" in r.deadline.lower()
            or "answer" in r.deadline.lower()]
    assert [(r.day, r.event, r.due, r.entry) for r in rows] == [
        (date(2026, 2, 18), "deadline.set", date(2026, 4, 20), 2),
        (date(2026, 4, 13), "deadline.due_soon", date(2026, 4, 20), None),
        # 08:00 reminder three days before; the answer is seen at noon the same day
        (date(2026, 4, 17), "deadline.due_soon", date(2026, 4, 20), None),
        (date(2026, 4, 17), "deadline.met", date(2026, 4, 20), 7),
    ]


# ---------------------------------------------------------------------------- command line


def test_cli_replay_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    user_db = tmp_path / "user.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{user_db}"\n', encoding="utf-8")
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    capsys.readouterr()
    assert run(["--config", str(config), "replay", str(CL_FIXTURE), "--json"], clock) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and rows
    assert all(set(row) == {"day", "event", "deadline", "due", "why", "entry"} for row in rows)
    assert {"day": "2026-02-17", "event": "deadline.set", "deadline": rows[0]["deadline"],
            "due": "2026-05-18", "why": rows[0]["why"], "entry": 1} == rows[0]
    assert any(r["event"] == "case.closed" and r["day"] == "2026-05-11" for r in rows)
    assert not user_db.exists()


def test_cli_replay_text_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    capsys.readouterr()
    assert run(["--config", str(config), "replay", str(CL_FIXTURE)], clock) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "dcd:1:26-cv-00412  RAMOS v. NOEM"
    assert "case.closed" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert run(["--config", str(config), "replay", str(bad)], clock) == 1
    assert "not JSON" in capsys.readouterr().err
    nocourt = tmp_path / "nocourt.json"
    nocourt.write_text(json.dumps(_juriscraper(court_id="")), encoding="utf-8")
    assert run(["--config", str(config), "replay", str(nocourt)], clock) == 1
    assert run(["--config", str(config), "replay", str(nocourt), "--court", "nysd",
                "--json"], clock) == 0


def test_checked_entry_days_reads_the_docket_only_when_something_was_filed(
        tmp_path: Path) -> None:
    data = _juriscraper()
    data["docket_entries"] = [
        {"date_filed": "2024-03-01", "document_number": "5",
         "description": "ORDER setting deadlines. Status Report due by 3/8/2024."},
        {"date_filed": "2024-03-20", "document_number": "6",
         "description": "NOTICE of Appearance by A. Lawyer on behalf of Roe."},
    ]
    daily = [(r.event, r.day) for r in _rows(tmp_path / "a", data)
             if r.event in ("deadline.overdue", "deadline.unverified")]
    assert daily == [("deadline.overdue", date(2024, 3, 9))]  # read every day: evidence
    sparse = [(r.event, r.day) for r in _rows(tmp_path / "b", data, checked="entry-days")
              if r.event in ("deadline.overdue", "deadline.unverified")]
    # nobody read the docket between 3/1 and 3/20: unverified first, overdue once it is read
    assert sparse == [("deadline.unverified", date(2024, 3, 9)),
                      ("deadline.overdue", date(2024, 3, 20))]


def test_replay_json_through_the_console_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "user.db"}"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "replay", str(CL_FIXTURE),
         "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert "case.closed" in {r["event"] for r in rows if r["day"] == "2026-05-11"}
    assert not (tmp_path / "user.db").exists()
