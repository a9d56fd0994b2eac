"""Golden replays of real dockets: what the monitor must say about each case, day by day.

Each `tests/replays/<name>.expected.json` was written by reading the docket's text (never copied
from the program's output): `docket` names the corpus file, `rows` the ledger an attorney
subscribed to `deadline.*` (plus `case.closed`) should receive, each with a `comment` saying which
docket text justifies it. A row is `{day, event, deadline, due, entry, comment}` where

- `deadline` is a regular expression (case-insensitive, searched) the deadline's label must match:
  it pins the obligation and the party or motion, not the wording;
- `entry` is the entry number whose filing caused the row, null for reminders and for what no
  numbered entry caused, or a list when several entries of that day can equally be named;
- `event` is the event kind, or a list of the kinds that are equally right (one alert either way).

`ignore` (rare, each with its `reason`) lists deadlines, by label regex, whose right dates the
docket text does not settle; their rows are left out of the comparison on both sides.

Rows are compared day by day as multisets (the order of the events of one day's filings is not
part of the contract). Any missing or unexpected row fails, with a readable diff.

Conventions of the replay (monitor/replay.py): filings of a day are seen at 12:00 court time,
reminders run at 08:00 (`remind_at`) and right after the filings, reminders go out 7, 3, 1 and 0
days before (a deadline set inside that window gets the nearest one at once), the docket counts as
read every day up to its last entry and not after.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.replay import LedgerRow, replay
from monitor.replay_input import read_docket

REPLAYS = Path(__file__).resolve().parent / "replays"
GOLDEN = sorted(REPLAYS.glob("*.expected.json"))

#: dockets whose replay still differs because the deadline engine is wrong: the finding it waits on
XFAIL: dict[str, str] = {
    "ohsd_170541": "replay-findings R4 (renewal of the class motion by 12/1/2014 not read)",
    "txed": "replay-findings R4 (#11 'AOL's answer' must move Time Warner's), R7 (AOL overdue)",
    "vaed": "replay-findings R4 (#10: one deadline per named defendant, each met by its own)",
}


def _params() -> list[Any]:
    params = []
    for path in GOLDEN:
        name = path.name.removesuffix(".expected.json")
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name])] if name in XFAIL else []
        params.append(pytest.param(path, id=f"pacer_dockets/{name}", marks=marks))
    return params


def _entry_ok(expected: Any, actual: int | str | None) -> bool:
    """`expected` is the value, or a list of the values that are equally right."""
    if isinstance(expected, list):
        return actual in expected
    return expected == actual


def _matches(want: dict[str, Any], row: LedgerRow) -> bool:
    return (_entry_ok(want["event"], row.event)
            and want.get("due") == (row.due.isoformat() if row.due else None)
            and _entry_ok(want.get("entry"), row.entry)
            and re.search(want.get("deadline") or "^$", row.deadline, re.I) is not None)


def ledger_diff(expected: list[dict[str, Any]], actual: list[LedgerRow]) -> list[str]:
    """Lines `- day ...` (expected, not emitted) and `+ day ...` (emitted, not expected)."""
    want_by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for want in expected:
        want_by_day[want["day"]].append(want)
    got_by_day: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in actual:
        got_by_day[row.day.isoformat()].append(row)
    lines: list[str] = []
    for day in sorted({*want_by_day, *got_by_day}):
        got = list(got_by_day.get(day, []))
        for want in want_by_day.get(day, []):
            hit = next((row for row in got if _matches(want, row)), None)
            if hit is None:
                lines.append(f"- {day} {str(want['event']):<18} /{want.get('deadline')}/ due "
                             f"{want.get('due')} entry {want.get('entry')}  # {want['comment']}")
            else:
                got.remove(hit)
        for row in got:
            lines.append(f"+ {day} {row.event:<18} {row.deadline!r} due {row.due} entry "
                         f"{row.entry}  ({row.why[:120]})")
    return lines


@pytest.mark.parametrize("golden", _params())
def test_replay_matches_the_ledger_read_from_the_docket(golden: Path, corpus: Path,
                                                        tmp_path: Path) -> None:
    spec = json.loads(golden.read_text(encoding="utf-8"))
    source = corpus / spec["docket"]
    if not source.is_file():
        pytest.skip(f"{spec['docket']} absent from the corpus")
    config_file = tmp_path / "config.toml"
    config_file.write_text("", encoding="utf-8")  # the embedded defaults, nothing else
    docket = read_docket(json.loads(source.read_text(encoding="utf-8")))
    rows = replay(docket, load_config(str(config_file), environ={}), tmp_path)
    ignored = [re.compile(item["deadline"], re.I) for item in spec.get("ignore", [])]
    rows = [row for row in rows if not any(rx.search(row.deadline) for rx in ignored)]
    diff = ledger_diff(spec["rows"], rows)
    if diff:
        pytest.fail(f"{spec['docket']}: the replay differs from the ledger read from the docket "
                    "(- expected, + emitted):\n" + "\n".join(diff), pytrace=False)


def test_every_golden_row_says_why() -> None:
    for path in GOLDEN:
        spec = json.loads(path.read_text(encoding="utf-8"))
        assert all(item["reason"].strip() for item in spec.get("ignore", [])), path.name
        assert spec["rows"], path.name
        for row in spec["rows"]:
            assert set(row) >= {"day", "event", "deadline", "due", "entry", "comment"}, row
            assert row["comment"].strip(), row


def test_the_diff_names_missing_and_unexpected_rows() -> None:
    from datetime import date

    rows = [LedgerRow(date(2020, 1, 2), "deadline.set", "Answer due (Acme)", date(2020, 1, 23),
                      "set", 5),
            LedgerRow(date(2020, 1, 2), "deadline.set", "Answer due (Acme)", date(2020, 1, 23),
                      "set", 6)]
    expected = [{"day": "2020-01-02", "event": "deadline.set", "deadline": "answer.*acme",
                 "due": "2020-01-23", "entry": [4, 5], "comment": "c"},
                {"day": "2020-01-03", "event": "deadline.met", "deadline": "answer",
                 "due": "2020-01-23", "entry": 7, "comment": "met"}]
    diff = ledger_diff(expected, rows)
    assert diff == [
        "+ 2020-01-02 deadline.set       'Answer due (Acme)' due 2020-01-23 entry 6  (set)",
        "- 2020-01-03 deadline.met       /answer/ due 2020-01-23 entry 7  # met",
    ]
