"""Court-set dates in docket text: the real corpus phrases and our own fixtures."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.deadlines.extract import extract_court_dates, normalize_label, parse_date

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "deadlines"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "court_dates.json").read_text())

# An independent reading of dates, with strptime, for the expectations.
_NUMERIC = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_WRITTEN = re.compile(r"\b[A-Z][a-z]+ \d{1,2}, \d{4}\b")
#: the first word of a corpus phrase -> the label it must get (checked when it is in here)
_HEAD_LABELS = {"answer": "answer", "responses": "response", "response": "response",
                "reply": "reply", "replies": "reply", "brief": "brief", "discovery": "discovery",
                "appendix": "appendix"}


def dates_in(phrase: str) -> list[date]:
    found = []
    for token in _NUMERIC.findall(phrase):
        fmt = "%m/%d/%Y" if len(token.rsplit("/", 1)[1]) == 4 else "%m/%d/%y"
        found.append(datetime.strptime(token, fmt).date())
    found += [datetime.strptime(token, "%B %d, %Y").date() for token in _WRITTEN.findall(phrase)]
    return found


def spellings(day: date) -> set[str]:
    """How a date may be written in the text it was read from."""
    return {f"{day.month}/{day.day}/{day.year}", f"{day:%m/%d/%Y}",
            f"{day.month}/{day.day}/{day:%y}", f"{day:%B} {day.day}, {day.year}"}


def test_every_dated_corpus_phrase_yields_its_date(corpus: Path) -> None:
    phrases = json.loads((corpus / "deadline_phrases.json").read_text())
    expected_total = hits = 0
    misses: list[str] = []
    for item in phrases:
        found = extract_court_dates(item["text"])
        found_dates = {c.due for c in found}
        for c in found:  # precision: every date read is written in the text
            assert any(s in item["text"] for s in spellings(c.due)), (c, item["text"][:200])
        for phrase in item["matched_phrases"]:
            for day in dates_in(phrase):
                expected_total += 1
                if day in found_dates:
                    hits += 1
                else:
                    misses.append(phrase)
            head = phrase.split()[0].lower()
            if head in _HEAD_LABELS and dates_in(phrase):
                assert any(c.label == _HEAD_LABELS[head] and c.due == dates_in(phrase)[0]
                           for c in found), (phrase, found)
    print(f"court-set dates: {hits}/{expected_total} dated corpus phrases read "
          f"({100 * hits / max(expected_total, 1):.0f}%) over {len(phrases)} entries")
    assert expected_total > 0
    assert misses == []


def test_corpus_entries_without_a_date_yield_nothing(corpus: Path) -> None:
    phrases = json.loads((corpus / "deadline_phrases.json").read_text())
    undated = [p for p in phrases if not (_NUMERIC.search(p["text"]) or
                                          _WRITTEN.search(p["text"]))]
    assert undated
    assert all(extract_court_dates(p["text"]) == [] for p in undated)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture(case: dict[str, Any]) -> None:
    found = extract_court_dates(case["text"])
    got = [{"label": c.label, "due": c.due.isoformat()} for c in found]
    want = [{"label": e["label"], "due": e["due"]} for e in case["expected"]]
    assert got == want
    for c, e in zip(found, case["expected"], strict=True):
        if "party" in e:
            assert c.party == e["party"]
        assert c.text in " ".join(case["text"].split())


@pytest.mark.parametrize(("text", "expected"), [
    ("3/14/2025", date(2025, 3, 14)),
    ("9/1/03", date(2003, 9, 1)),
    ("03/02/2016", date(2016, 3, 2)),
    ("August 24, 2016", date(2016, 8, 24)),
    ("Sept. 3, 2024", date(2024, 9, 3)),
    ("2/30/2025", None),
    ("13/1/2025", None),
])
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(("phrase", "label"), [
    ("Plaintiff's Responses", "response"),
    ("Reply to Response to Brief", "reply"),
    ("AOL's answer", "answer"),
    ("Set/Reset Deadlines: Joint Status Report", "status report"),
    ("Amended Pleadings", "amended pleadings"),
    ("Objections to R&R", "objections"),
    ("the deadline for Defendants to reply in support of their Motions to Dismiss", "reply"),
])
def test_normalize_label(phrase: str, label: str) -> None:
    assert normalize_label(phrase.split(": ")[-1]) == label
