"""Reading periods and what entries do to obligations: own fixtures and the real corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitor.deadlines.docket_text import obligation_for, read_entry
from monitor.deadlines.periods import anchor_matches, read_periods


@pytest.mark.parametrize(("text", "days", "unit", "anchor", "anchor_text"), [
    ("ORDER directing respondent to file an answer within 30 days.", 30, "calendar_days",
     "entry", "this order"),
    ("within thirty (30) days of the date of this Order, Plaintiff shall", 30, "calendar_days",
     "entry", "this order"),
    ("shall reply 14 days after service of the opposition.", 14, "calendar_days", "event",
     "service of the opposition"),
    ("shall file a status report within 7 business days.", 7, "working_days", "entry",
     "this order"),
    ("no later than 21 days from entry of this order", 21, "calendar_days", "entry",
     "this order"),
    ("within twenty-one (21) days of the date of this Order", 21, "calendar_days", "entry",
     "this order"),
])
def test_periods_read_with_their_anchor(text: str, days: int, unit: str, anchor: str,
                                        anchor_text: str) -> None:
    (period,) = read_periods(text)
    assert (period.days, period.unit, period.anchor, period.anchor_text) == (
        days, unit, anchor, anchor_text)


def test_two_periods_in_one_sentence_are_two() -> None:
    text = ("respondent's brief will be due 30 days following service of petitioner's brief "
            "and petitioner's reply brief will be due 14 days following service of "
            "respondent's brief.")
    first, second = read_periods(text)
    assert (first.days, first.anchor_text) == (30, "service of petitioner's brief")
    assert (second.days, second.anchor_text) == (14, "service of respondent's brief")
    assert anchor_matches(first.anchor_text, "PETITIONER'S BRIEF filed by Petitioner X.")
    assert not anchor_matches(first.anchor_text, "ORDER granting motion to extend brief")


@pytest.mark.parametrize(("text", "kind"), [
    ("Defendants shall file an answer or otherwise respond to [1] Complaint by 5/13/2025",
     "respond-complaint"),
    ("Defendants shall answer or file a motion to dismiss by 5/13/2025", "respond-complaint"),
    ("Plaintiff shall file a status report by 6/1/2026", "status-report"),
])
def test_an_order_names_one_obligation(text: str, kind: str) -> None:
    assert [o.kind for o in obligation_for(text, "")] == [kind]


def test_responses_to_motions_name_each_motion() -> None:
    text = ("ORDER granting 19 Motion for Extension of Time re 17 MOTION to Intervene, 7 MOTION "
            "to Strike 1 Complaint. Plaintiff's Responses due by 1/25/2018.")
    found = obligation_for("Plaintiff's Responses due by 1/25/2018", "response", entry_text=text)
    assert [(o.kind, o.ref) for o in found] == [("oppose", 17), ("oppose", 7)]


@pytest.mark.parametrize(("text", "meets"), [
    ("ANSWER to 1 Complaint, by U.S. Citizenship and Immigration Services.",
     "respond-complaint"),
    ("MOTION to Dismiss for Lack of Jurisdiction by USCIS. (Attachments: # 1 Memo)",
     "respond-complaint"),
    ("Memorandum in opposition to re 19 MOTION to Dismiss filed by JANE DOE.", "oppose:19"),
    ("REPLY to opposition to motion re 19 MOTION to Dismiss filed by USCIS.", "reply:19"),
    ("RESPONSE TO ORDER TO SHOW CAUSE by Respondent USCIS.", "respond-complaint"),
    ("SUMMONS Returned Executed as to United States Attorney.", "serve"),
])
def test_filings_meet_their_obligation(text: str, meets: str) -> None:
    facts = read_entry(text)
    assert meets in [o.name for o in facts.meets]


def test_orders_extensions_stays_and_closings() -> None:
    ext = read_entry("Consent MOTION for Extension of Time to File Answer re 1 Complaint by "
                     "Yahoo! Inc.")
    assert [o.kind for o in ext.extension_for][:1] == ["respond-complaint"] and not ext.meets
    grant = read_entry("ORDER granting 12 Motion for Extension of Time to Answer. Yahoo! Inc.'s "
                       "answer is due 9/19/07.")
    assert grant.granted == (12,) and grant.is_order and not grant.extension_for
    assert read_entry("MINUTE ORDER staying this case pending the agency's decision.").stays
    assert read_entry("MINUTE ORDER lifting the stay.").lifts_stay
    assert read_entry("JUDGMENT in favor of Defendants.").terminates
    assert read_entry("ORDER: the case is DISMISSED without prejudice. Signed by Judge X.") \
        .terminates
    assert read_entry("NOTICE of Voluntary Dismissal by Jane Doe").terminates
    assert not read_entry("REPORT AND RECOMMENDATIONS that the case be DISMISSED").terminates
    assert not read_entry("MOTION to Dismiss by USCIS").terminates
    assert not read_entry("ORDER denying 12 Motion to Dismiss.").terminates


_ANY_PERIOD = re.compile(
    r"\b(?:\d{1,3}|one|two|three|five|seven|ten|fourteen|twenty|thirty|forty|sixty|ninety)"
    r"(?:[\s-]+\w+)?(?:\s*\(\d{1,3}\))?\s+(?:business\s+|working\s+|calendar\s+|court\s+)?days?\b",
    re.IGNORECASE)


def test_every_corpus_phrase_with_a_period_is_read_with_its_anchor(corpus: Path) -> None:
    """Every "N days" of shared/corpus/deadline_phrases.json is read: days, unit and anchor."""
    rows = json.loads((corpus / "deadline_phrases.json").read_text("utf-8"))
    expected = read = 0
    unread: list[str] = []
    for row in rows:
        text = row["text"]
        wanted = [m.start() for m in _ANY_PERIOD.finditer(text)]
        periods = {p.start: p for p in read_periods(text)}
        for start in wanted:
            expected += 1
            period = periods.get(start)
            if period is None or period.days <= 0 or not period.anchor_text:
                unread.append(text[start:start + 60])
                continue
            read += 1
    print(f"corpus periods read with their anchor: {read} of {expected}")
    assert expected >= 7  # "within 30 days", "30 days following service of ...", ...
    assert unread == [] and read == expected
