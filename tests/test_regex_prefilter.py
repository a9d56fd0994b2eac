"""The words a pattern needs (`monitor.regex_prefilter`): never a text the regex matches turned
away; a text with none of them turned away; nothing assumed of what is not understood."""

from __future__ import annotations

import re

import pytest

from monitor.matching import any_of
from monitor.regex_prefilter import prefilter

PATTERNS = [
    r"(?i)writ of mandamus",
    r"(?i)\bmandamus\b",
    r"(?i)\b287\s*\(\s*g\s*\)",
    r"(?i)unreasonabl[ey]\s+delay",
    r"(?i)citizenship\s*(and|&)\s*immigration\s*services|\bUSCIS\b",
    r"(?i)\bv\.?\s+(USA|United States)\b",
    r"(?i)\b(Garland|Bondi|Mayorkas|Noem)\b",
    r"Sheriff(?:'s)? Office",
    r"(?i:sheriff)|Marshal",
    r"(?i)(?-i:DHS)|homeland",
    r"(?:ab)+c{2,}",
    r"x(?:y|z)?w",
    r"[Ss]heriff",
]

TEXTS = [
    "Petition for Writ of Mandamus", "MANDAMUS", "writ of mandamus re 287(g)", "287 (g)",
    "Unreasonably delay", "unreasonable   delay", "Doe v. USCIS", "Citizenship & Immigration "
    "Services", "Smith v. USA", "Smith v United States", "USA v. Smith", "Doe v. Garland",
    "Doe v. Bondi et al", "Sheriff's Office", "sheriff's office", "SHERIFF", "US Marshal",
    "DHS", "dhs", "Homeland", "ababcc", "abcc", "xw", "xyw", "xzw", "nothing at all", "",
    # letters `re` folds to non-ASCII ones: the long s, the dotless i, the Kelvin sign
    "ſheriff", "cıtizenship & ımmigration services", "Doe v. Garland \u212a", "Mandamuſ",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_no_text_the_regex_matches_is_turned_away(pattern: str) -> None:
    compiled = re.compile(pattern)
    words = prefilter(compiled)
    assert words is not None, pattern
    for text in TEXTS:
        if compiled.search(text):
            assert words.may_match(text), (pattern, text)


def test_the_words_are_the_selective_ones() -> None:
    words = prefilter(r"(?i)\bv\.?\s+(USA|United States)\b")
    assert words is not None
    assert set(words.folded) == {"usa", "united states"} and words.exact == ()
    assert not words.may_match("Smith v. Jones")
    mixed = prefilter(r"(?i)(?-i:DHS)|homeland")
    assert mixed is not None and mixed.exact == ("DHS",) and mixed.folded == ("homeland",)
    assert not mixed.may_match("dhs")  # case-sensitive part: the regex would not match it
    assert not re.search(r"(?i)(?-i:DHS)|homeland", "dhs")


def test_a_pattern_that_can_match_without_a_word_has_no_prefilter() -> None:
    for pattern in (r"\d+", r"(?i)(?:foo)?bar|[a-z]+", r"(?=abc)", r"(\w)\1", r"(?i)x?",
                    r"(?i)ſ+", r"", r"(?i)café|\w"):
        assert prefilter(pattern) is None, pattern


def test_non_ascii_text_goes_to_the_regex_when_case_is_folded() -> None:
    words = prefilter(r"(?i)sheriff")
    assert words is not None
    assert re.search(r"(?i)sheriff", "ſheriff")  # `re` folds the long s to s
    assert words.may_match("ſheriff")


def test_combined_watch_patterns_keep_every_match() -> None:
    """The combined alternation the matcher searches (`any_of`) over texts that match it."""
    patterns = PATTERNS[:8]
    combined = any_of(patterns)
    assert combined is not None
    words = prefilter(combined)
    assert words is not None
    matched = [t for t in TEXTS if combined.search(t)]
    assert matched and all(words.may_match(t) for t in matched)
    assert not words.may_match("Order granting motion to dismiss")
