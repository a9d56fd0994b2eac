"""Golden tests of the PACER RSS parser on the real corpus: our parse vs juriscraper's expected one.

Each `<name>.xml` in corpus/pacer_rss/juriscraper has juriscraper's expected parse beside it as
`<name>.json`: a list of dockets, one per distinct entry. We flatten both sides into
(case, entry) rows, pair them, and compare field by field; the parity (fields matching / fields
compared) is printed per file and overall (`pytest -s -k pacer_rss` shows it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sources.base import CaseObservation
from sources.courts import court_timezone
from sources.identity import normalize_docket_number
from sources.pacer_rss import parse_feed
from tests.conftest import CORPUS

RSS_DIR = "pacer_rss"


def _golden_names() -> list[str]:
    if CORPUS is None:
        return ["absent"]  # the `corpus` fixture skips it
    return sorted(p.stem for p in (CORPUS / RSS_DIR / "juriscraper").glob("*.xml"))


def _court_of(name: str) -> str:
    """The court a corpus file was recorded from: `nysb_1` -> `nysb`, `cadc` -> `cadc`."""
    return name.split("_", 1)[0]


# ---------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One (case, entry) pair, with the fields juriscraper and we both have."""

    docket_number: str
    case_name: str
    pacer_case_id: str
    document_number: str | None
    pacer_doc_id: str
    short_description: str
    published: datetime | None
    date_filed: str | None
    pacer_seq_no: int | None


def _expected_rows(cases: list[dict[str, Any]], court: str) -> list[Row]:
    """juriscraper's expected parse, mapped onto what we produce ON PURPOSE differently."""
    zone = ZoneInfo(court_timezone(court))
    rows = []
    for case in cases:
        docket = normalize_docket_number(case["docket_number"])
        if case.get("type") == "ap":
            # We keep an adversary proceeding's type in its docket number (contracts.md: it
            # must never collide with the main case "18-00079"); juriscraper keeps it apart.
            docket = _with_ap(docket)
        for entry in case["docket_entries"]:
            filed = datetime.fromisoformat(entry["date_filed"])
            number = entry["document_number"]
            if number is not None and number == entry["pacer_doc_id"]:
                # Appellate courts that link "Document" instead of a number: juriscraper puts the
                # PACER document id into document_number; for us that is not an entry number
                # (the id stays in pacer_doc_id, which is the entry's identity then).
                number = None
            seq = entry.get("pacer_seq_no")
            rows.append(
                Row(
                    docket_number=docket,
                    case_name=_harmonized(case["case_name"]),
                    pacer_case_id=case["pacer_case_id"] or "",
                    document_number=number,
                    pacer_doc_id=entry["pacer_doc_id"] or "",
                    # juriscraper keeps the spaces inside the brackets ("[ Model Plan]"); we trim.
                    short_description=" AND ".join(
                        " ".join(part.split())
                        for part in entry["short_description"].split(" AND ")
                    ),
                    published=filed,
                    # juriscraper's date_filed is the pubDate instant; ours is the date of that
                    # instant in the court's time zone (deadlines count in the court's days).
                    date_filed=filed.astimezone(zone).date().isoformat(),
                    pacer_seq_no=int(seq) if seq else None,
                )
            )
    return rows


def _our_rows(cases: list[CaseObservation]) -> list[Row]:
    return [
        Row(
            docket_number=case.docket_number,
            case_name=_harmonized(case.case_name),
            pacer_case_id=case.pacer_case_id,
            document_number=None if e.entry_number is None else str(e.entry_number),
            pacer_doc_id=e.pacer_doc_id,
            short_description=e.short_description,
            published=e.published,
            date_filed=e.date_filed.isoformat() if e.date_filed else None,
            pacer_seq_no=e.pacer_seq_no,
        )
        for case in cases
        for e in case.entries
    ]


def _with_ap(docket: str) -> str:
    m = re.match(r"^(\d{1,2}:)?(\d{2,4})-(\d+)$", docket)
    return f"{m[1] or ''}{m[2]}-ap-{int(m[3]):05d}" if m else docket


_NAME_NOISE = re.compile(
    r"\bet\.?\s+al\b\.?|\bthe\b|[^\w\s]", re.IGNORECASE)
_UNITED_STATES = re.compile(
    r"^(?:usa|us|u s a|u s|united states of america|the united states)$")


def _harmonized(name: str) -> str:
    """Case names compared word for word, without what juriscraper's `harmonize` rewrites.

    We keep the name as PACER displays it (a user's case-name watch pattern is written against
    what PACER shows); juriscraper rewrites "USA"/"US" to "United States" and "vs" to "v.",
    drops "et al", "#" and "The", and says "Unknown Case Title" for an empty one. Both sides go
    through this before comparing, so a lost or changed word still fails.
    """
    if name in ("", "Unknown Case Title"):
        return ""
    parties = re.split(r"\s+vs?\.?\s+", name.strip(), flags=re.IGNORECASE)
    keys = []
    for party in parties:
        words = " ".join(_NAME_NOISE.sub(" ", party).lower().split())
        keys.append("united states" if _UNITED_STATES.match(words) else words)
    return " v ".join(keys)


# ---------------------------------------------------------------------------- pairing


FIELDS = (
    "docket_number",
    "case_name",
    "pacer_case_id",
    "document_number",
    "pacer_doc_id",
    "short_description",
    "date_filed",
    "published",
)


def _pair(expected: list[Row], ours: list[Row]) -> list[tuple[Row, Row | None]]:
    """Pair each expected row with our row of the same case, instant and document."""
    pool = list(ours)
    pairs: list[tuple[Row, Row | None]] = []
    for exp in expected:
        candidates = [
            r for r in pool
            if (r.docket_number, r.published, r.pacer_doc_id)
            == (exp.docket_number, exp.published, exp.pacer_doc_id)
        ]
        best = next((r for r in candidates if r.short_description == exp.short_description),
                    candidates[0] if candidates else None)
        if best is not None:
            pool.remove(best)
        pairs.append((exp, best))
    return pairs


@dataclass
class Parity:
    matched: int = 0
    compared: int = 0
    extra_rows: int = 0

    def __str__(self) -> str:
        pct = 100.0 * self.matched / self.compared if self.compared else 100.0
        extra = f", {self.extra_rows} extra rows" if self.extra_rows else ""
        return f"{self.matched}/{self.compared} fields ({pct:.1f}%){extra}"


def _parity_of(corpus: Path, name: str) -> tuple[list[CaseObservation], Parity, list[str]]:
    """Our parse of one golden file, and its parity with juriscraper's expected parse."""
    xml_path = corpus / RSS_DIR / "juriscraper" / f"{name}.xml"
    json_path = xml_path.with_suffix(".json")
    assert json_path.exists(), f"expected parse missing: {json_path}"
    court = _court_of(name)
    ours = parse_feed(xml_path.read_bytes(), court=court, url=str(xml_path))
    expected = _expected_rows(json.loads(json_path.read_text()), court)
    parity, diffs = _compare(expected, _our_rows(ours))
    return ours, parity, diffs


def _compare(expected: list[Row], ours: list[Row]) -> tuple[Parity, list[str]]:
    parity = Parity()
    diffs: list[str] = []
    for exp, got in _pair(expected, ours):
        for name in FIELDS:
            parity.compared += 1
            want = getattr(exp, name)
            have = getattr(got, name) if got is not None else "<no row>"
            if want == have:
                parity.matched += 1
            else:
                diffs.append(f"{exp.docket_number} @ {exp.published}: {name}: "
                             f"expected {want!r}, got {have!r}")
        if got is not None and exp.pacer_seq_no is not None:
            # juriscraper reads the sequence number only from a document link; we also read it
            # from the guid, so compare only where they have one.
            parity.compared += 1
            if exp.pacer_seq_no == got.pacer_seq_no:
                parity.matched += 1
            else:
                diffs.append(f"{exp.docket_number}: pacer_seq_no {exp.pacer_seq_no} != "
                             f"{got.pacer_seq_no}")
    parity.extra_rows = max(0, len(ours) - len(expected))
    return parity, diffs


# ---------------------------------------------------------------------------- tests


@pytest.mark.corpus
@pytest.mark.parametrize("name", _golden_names(), ids=lambda n: f"{RSS_DIR}/{n}")
def test_golden_juriscraper_parity(corpus: Path, name: str) -> None:
    ours, parity, diffs = _parity_of(corpus, name)
    print(f"\nparity {RSS_DIR}/{name}: {parity}")
    assert not diffs, "\n".join(diffs[:30])
    assert parity.extra_rows == 0, "we produced entries juriscraper does not"
    assert all(c.court == _court_of(name) for c in ours)


@pytest.mark.corpus
def test_courtlistener_unnumbered_sample(corpus: Path) -> None:
    """CourtListener's sample of an item with no document link, and ragged whitespace.

    It is the first item of juriscraper's mdb_1.xml re-indented: the parse must be the same.
    """
    sample = corpus / RSS_DIR / "courtlistener" / "rss_sample_unnumbered_mdb.xml"
    reference = corpus / RSS_DIR / "juriscraper" / "mdb_1.xml"
    cases = parse_feed(sample.read_bytes(), court="mdb")
    assert len(cases) == 1
    (case,) = cases
    assert case == parse_feed(reference.read_bytes(), court="mdb")[0]
    assert (case.court, case.docket_number, case.docket_number_raw) == (
        "mdb", "18-ap-00079", "18-00079")
    assert case.case_name == "Dozier v. CN of Dundalk, Inc. d/b/a CNAC of D"
    assert case.pacer_case_id == "711557"
    (entry,) = case.entries
    assert entry.entry_number is None and entry.pacer_doc_id == "" and entry.document_url == ""
    assert entry.short_description == "Close Adversary Case"
    # No document link, but the guid (DktRpt.pl?711557-19) carries the sequence number.
    assert entry.pacer_seq_no == 19
    assert entry.published is not None and entry.published.isoformat() == (
        "2018-04-24T11:25:12+00:00")
    assert entry.date_filed is not None and entry.date_filed.isoformat() == "2018-04-24"


@pytest.mark.corpus
def test_parity_summary(corpus: Path) -> None:
    """The overall parity, computed here over every golden file (not summed from the other
    tests, so it means the same run alone or with them): every field compared matches, and
    the comparison covered the corpus (a parse that lost its rows cannot pass as 0 == 0)."""
    total = Parity()
    files = 0
    for name in _golden_names():
        _, parity, _ = _parity_of(corpus, name)
        total.matched += parity.matched
        total.compared += parity.compared
        total.extra_rows += parity.extra_rows
        files += 1
    print(f"\nparity {RSS_DIR} overall ({files} files): {total}")
    assert files > 0 and total.compared >= 8 * files, "the corpus comparison covered nothing"
    assert total.matched == total.compared
    assert total.extra_rows == 0
