"""A gated parse (`PacerRss.parse_gated`) keeps every case the screen keeps, exactly as built.

The parse processes ask the watches and the stored keys before a case is built
(`monitor.parse_pool.ScreenGate`), so a case no watch can match costs only its title, link and a
look at its texts. What the screen then keeps of a gated parse must be what it keeps of the whole
parse, observation for observation, and the count of cases the same: checked over every corpus
feed, every fixture and generated feeds (odd texts: entities, markup, controls, non-ASCII,
several events of one entry joined by " AND "), with the default watches and with watches whose
words are made to fall on those edges.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from monitor.config import WatchConfig, load_config
from monitor.errors import ParseError
from monitor.matching import Matcher
from monitor.parse_pool import Screen, ScreenGate, screen
from sources import pacer_rss
from sources.base import CaseObservation, Observation
from sources.identity import docket_key
from tests.conftest import CORPUS, FIXTURES
from tests.test_pacer_rss_paths import _generated_feeds

DEFAULT_WATCHES = load_config(None).watches

EDGE_WATCHES = [
    # words of short descriptions, one of them only ever made by joining two events
    WatchConfig(name="joined", entry_text=[r"(?i)hearing and notice", r"A AND B"]),
    # an entity in the word, a case-sensitive word, a word across markup and brackets
    WatchConfig(name="marks", entry_text=[r"Objection & Reply", r"\bOrder\b", r"Doc 3\]"]),
    # a word with no letters, a word that only non-ASCII text holds, spaces collapsed
    WatchConfig(name="odd", entry_text=[r"\[ \]", r"(?i)caf\u00e9", r"(?i)tab here"]),
    WatchConfig(name="names", case_name=[r"(?i)noem", r"Zwicker & Associates", r"\bA B C\b"]),
    WatchConfig(name="listed", dockets=["dcd:1:25-cv-00612"]),
]

MATCHERS = {"default": Matcher(DEFAULT_WATCHES), "edges": Matcher(EDGE_WATCHES),
            "both": Matcher([*DEFAULT_WATCHES, *EDGE_WATCHES])}


def _screens(whole: Sequence[Observation]) -> Iterator[Screen]:
    """No court known (every case kept), the courts known with nothing stored, and with every
    third case stored."""
    cases = [o for o in whole if isinstance(o, CaseObservation) and o.docket_number]
    courts = frozenset(c.court for c in cases)
    yield Screen(courts=frozenset(), keys=frozenset())
    yield Screen(courts=courts, keys=frozenset())
    yield Screen(courts=courts, keys=frozenset((c.court, docket_key(c.docket_number))
                                               for c in cases[1::3]))


def assert_gate_keeps_what_screen_keeps(content: bytes, court: str) -> int:
    """The gated parse, screened, equals the whole parse, screened; returns how many cases the
    gate spared (to show it is not a no-op)."""
    try:
        whole = pacer_rss.parse_feed(content, court=court)
    except ParseError as exc:
        with pytest.raises(ParseError) as raised:
            pacer_rss.parse_feed_gated(content, ScreenGate(Screen(frozenset(), frozenset()),
                                                           MATCHERS["default"]), court=court)
        assert str(raised.value) == str(exc)
        return 0
    spared = 0
    for matcher in MATCHERS.values():
        for known in _screens(whole):
            gated, total = pacer_rss.parse_feed_gated(content, ScreenGate(known, matcher),
                                                      court=court)
            assert total == len(whole)
            assert repr(screen(gated, known, matcher)) == repr(screen(whole, known, matcher))
            # what the gate builds is built as the whole parse builds it, in its order
            positions = [whole.index(case) for case in gated]
            assert positions == sorted(positions)
            spared += len(whole) - len(gated)
    return spared


def _corpus_feeds() -> list[Path]:
    return sorted((CORPUS / "pacer_rss").rglob("*.xml")) if CORPUS is not None else []


@pytest.mark.parametrize("path", _corpus_feeds() or [None], ids=lambda p: p and p.stem)
def test_corpus_feeds_gated_as_screened(path: Path | None) -> None:
    if path is None:
        pytest.skip("real corpus absent")
    assert_gate_keeps_what_screen_keeps(path.read_bytes(), path.stem.split("_", 1)[0])


def test_the_gate_spares_most_cases_of_the_corpus() -> None:
    if not _corpus_feeds():
        pytest.skip("real corpus absent")
    matcher = MATCHERS["default"]
    built = total = 0
    for path in _corpus_feeds():
        whole = pacer_rss.parse_feed(path.read_bytes(), court="dcd")
        known = Screen(courts=frozenset(o.court for o in whole), keys=frozenset())
        gated, count = pacer_rss.parse_feed_gated(path.read_bytes(), ScreenGate(known, matcher),
                                                  court="dcd")
        built, total = built + len(gated), total + count
    assert total > 100 and built < total / 4


@pytest.mark.parametrize("path", sorted(
    p for p in (FIXTURES / "pacer_rss").iterdir() if p.suffix in (".xml", ".html")),
    ids=lambda p: p.stem)
def test_fixtures_gated_as_screened(path: Path) -> None:
    assert_gate_keeps_what_screen_keeps(path.read_bytes(), "dcd")


@pytest.mark.parametrize("seed", range(6))
def test_generated_feeds_gated_as_screened(seed: int) -> None:
    spared = sum(assert_gate_keeps_what_screen_keeps(content, court)
                 for content, court in _generated_feeds(40, seed))
    assert spared > 0


def _feed(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?"
        f"{n}</link><description>{description}</description>"
        "<pubDate>Tue, 22 May 2018 22:10:04 GMT</pubDate></item>"
        for n, (title, description) in enumerate(items, 1))
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def test_the_gate_builds_only_what_may_be_kept() -> None:
    content = _feed(("1:25-cv-00001 Doe v. Smith", "[Order]"),
                    ("1:25-cv-00002 Roe v. Jones", "[Petition for writ of mandamus]"),
                    ("1:25-cv-00003 Poe v. Noem", "[Complaint]"),
                    ("1:25-cv-00004 Loe v. Brown", "[Answer]"))
    matcher = Matcher(DEFAULT_WATCHES)
    known = Screen(courts=frozenset({"dcd"}),
                   keys=frozenset({("dcd", docket_key("1:25-cv-00004"))}))
    gated, total = pacer_rss.parse_feed_gated(content, ScreenGate(known, matcher), court="dcd")
    # the mandamus petition (its text), the stored case; not the others (nothing to match:
    # "Noem" is no default watch's defendant)
    assert total == 4
    assert [c.docket_number for c in gated] == ["1:25-cv-00002", "1:25-cv-00004"]


def test_words_joined_from_two_events_are_not_ruled_out() -> None:
    # Two events of one entry (same time and link): their short texts become one entry text,
    # "Hearing AND Notice", which only the joined text holds.
    item = ("1:25-cv-00001 Doe v. Smith", "[Notice]")
    later = ("1:25-cv-00001 Doe v. Smith", "[Hearing]")
    body = "".join(
        f"<item><title>{title}</title><link>https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?1"
        f"</link><description>{description}</description>"
        "<pubDate>Tue, 22 May 2018 22:10:04 GMT</pubDate></item>" for title, description in
        (item, later))
    content = f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()
    matcher = Matcher([WatchConfig(name="w", entry_text=[r"(?i)hearing and notice"])])
    known = Screen(courts=frozenset({"dcd"}), keys=frozenset())
    whole = pacer_rss.parse_feed(content, court="dcd")
    assert [e.short_description for e in whole[0].entries] == ["Hearing AND Notice"]
    gated, _ = pacer_rss.parse_feed_gated(content, ScreenGate(known, matcher), court="dcd")
    assert screen(gated, known, matcher) == screen(whole, known, matcher) == whole


@pytest.mark.parametrize("description", [
    "[Petition for writ of &amp;#109;andamus]",  # PACER double-escapes: decoded twice
    "[Petition for writ of manda\x7fmus]",  # a control character the text drops
    "[Petition for writ of mandamu\u017f]",  # a long s, which (?i)s matches
    "Petition for writ of <b>mandamus</b> (<a href='https://x.example/doc1/1'>1</a>)",
])
def test_texts_the_decoding_makes_match_are_not_ruled_out(description: str) -> None:
    content = _feed(("1:25-cv-00001 Doe v. Smith", description))
    matcher = Matcher(DEFAULT_WATCHES)
    known = Screen(courts=frozenset({"dcd"}), keys=frozenset())
    whole = pacer_rss.parse_feed(content, court="dcd")
    assert screen(whole, known, matcher) == whole  # the whole parse's text matches
    gated, _ = pacer_rss.parse_feed_gated(content, ScreenGate(known, matcher), court="dcd")
    assert gated == whole
