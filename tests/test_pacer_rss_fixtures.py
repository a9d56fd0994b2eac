"""The PACER RSS parser on our own small fixtures (tests/fixtures/pacer_rss), and its edges.

Each fixture `<name>.xml` (or `.html`) has its expected parse beside it as `<name>.json`:
`{"court": ..., "cases": [...]}` or, for a response that must be refused,
`{"court": ..., "error": "ParseError", "message": <part of the message>}`.
A fixture without its expected file fails.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest

from monitor.errors import ParseError
from sources.base import CaseObservation, Fetched, Plan, Target
from sources.courts import DEFAULT_RSS_COURTS
from sources.pacer_rss import (
    DEFAULT_URL_TEMPLATE,
    PacerRss,
    feed_text,
    parse_feed,
    parse_pub_date,
)
from tests.conftest import FIXTURES

RSS_FIXTURES = FIXTURES / "pacer_rss"


def _fixture_names() -> list[str]:
    return sorted(p.name for p in RSS_FIXTURES.iterdir() if p.suffix in (".xml", ".html"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def as_json(cases: list[CaseObservation]) -> list[dict[str, Any]]:
    """Observations in the shape of the expected files."""
    return [_jsonable(dataclasses.asdict(case)) for case in cases]


@pytest.mark.parametrize("name", _fixture_names(), ids=lambda n: f"pacer_rss/{Path(n).stem}")
def test_fixture(name: str) -> None:
    path = RSS_FIXTURES / name
    expected_path = path.with_suffix(".json")
    assert expected_path.exists(), f"no expected parse beside {path.name}: write {expected_path}"
    expected = json.loads(expected_path.read_text())
    content = path.read_bytes()
    url = f"https://ecf.{expected['court']}.uscourts.gov/cgi-bin/rss_outside.pl"
    if "error" in expected:
        assert expected["error"] == "ParseError"
        with pytest.raises(ParseError) as caught:
            parse_feed(content, court=expected["court"], source_id="rss-test", url=url)
        assert expected["message"] in str(caught.value)
        assert caught.value.source == "rss-test" and caught.value.url == url
    else:
        got = as_json(parse_feed(content, court=expected["court"], source_id="rss-test", url=url))
        assert _project(got, expected["cases"]) == expected["cases"]


def _project(got: Any, expected: Any) -> Any:
    """`got` limited to the keys the expected file has (observations may gain fields later;
    the ones a file lists must match, and must exist)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        assert set(expected) <= set(got), f"fields missing: {set(expected) - set(got)}"
        return {k: _project(got[k], v) for k, v in expected.items()}
    if isinstance(expected, list) and isinstance(got, list) and len(got) == len(expected):
        return [_project(g, e) for g, e in zip(got, expected, strict=True)]
    return got


# ---------------------------------------------------------------------------- hostile input


def test_entity_bomb_is_refused() -> None:
    """Refused as an attack, naming why. How fast is a ratio in benchmarks/bench_pacer_rss.py
    (refusing it per byte vs parsing real feeds), never a timed assert here."""
    content = (RSS_FIXTURES / "entity_bomb.xml").read_bytes()
    with pytest.raises(ParseError, match="entity declarations are refused"):
        parse_feed(content, court="dcd")


def test_undeclared_entities_are_not_expanded_from_outside(tmp_path: Path) -> None:
    """XXE through an external DTD: nothing is loaded, nothing leaks into the text."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "file://{secret}">')
    content = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{dtd}"><rss><channel><item>'
        "<title>1:25-cv-00001 A v. B &leak;</title><description>[Order]</description>"
        "<pubDate>Tue, 04 Mar 2025 03:58:11 GMT</pubDate></item></channel></rss>"
    ).encode()
    (case,) = parse_feed(content, court="dcd")
    assert "TOPSECRET" not in repr(case)
    assert case.docket_number == "1:25-cv-00001"


def test_every_truncation_is_refused_or_parsed_never_crashes() -> None:
    content = (RSS_FIXTURES / "district_dcd.xml").read_bytes()
    complete = parse_feed(content, court="dcd")
    for cut in range(0, len(content) - len(b"</rss>\n")):
        try:
            cases = parse_feed(content[:cut], court="dcd")
        except ParseError:
            continue
        pytest.fail(f"a feed cut at byte {cut} was accepted: {len(cases)} cases")
    assert len(complete) == 2


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"\x00\x01\x02", b"<rss>", b"<rss></rss>", b"<?xml version='1.0'?><x/>",
     b"<html><body>Service Unavailable</body></html>", b"not xml at all </rss>"],
)
def test_garbage_raises_parse_error(content: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(content, court="dcd", source_id="s", url="u")


# ---------------------------------------------------------------------------- dates and text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 22 May 2018 22:10:04 GMT", "2018-05-22T22:10:04+00:00"),
        ("Fri, 03 Feb 2023 11:52:07 EST", "2023-02-03T16:52:07+00:00"),
        ("Fri, 07 Jul 2023 11:52:07 EDT", "2023-07-07T15:52:07+00:00"),
        ("Thu, 02 Feb 2023 13:02:53 MST", "2023-02-02T20:02:53+00:00"),
        ("Thu, 02 Feb 2023 13:02:53 CDT", "2023-02-02T18:02:53+00:00"),
        ("07 Mar 2025 09:30 -0500", "2025-03-07T14:30:00+00:00"),
        ("Fri, 07 Mar 2025 09:30:00 +0130", "2025-03-07T08:00:00+00:00"),
        # no zone, or one we do not know: the court's local time (DST-aware)
        ("Mon, 07 Jul 2025 09:00:00", "2025-07-07T13:00:00+00:00"),
        ("Mon, 06 Jan 2025 09:00:00 XYZ", "2025-01-06T14:00:00+00:00"),
        ("Monday, 6 January 2025 09:00:00 GMT", "2025-01-06T09:00:00+00:00"),
    ],
)
def test_pub_dates(text: str, expected: str) -> None:
    got = parse_pub_date(text, "America/New_York")
    assert got is not None and got.tzinfo is UTC
    assert got.isoformat() == expected


@pytest.mark.parametrize("text", ["", "yesterday", "Fri, 31 Feb 2023 11:52:07 EST", "32 Jan"])
def test_bad_pub_dates_are_none(text: str) -> None:
    assert parse_pub_date(text) is None


def test_item_without_pub_date_has_no_date() -> None:
    content = (b"<rss><channel><item><title>1:25-cv-00001 A v. B</title>"
               b"<description>[Order]</description></item></channel></rss>")
    (case,) = parse_feed(content, court="dcd")
    (entry,) = case.entries
    assert entry.published is None and entry.date_filed is None


def test_feed_text() -> None:
    # cp1252 bytes read as Latin-1 become their characters; other controls go; one unescape
    assert feed_text("O\x92Brien\x00 v.\tNoem &amp;amp; Jaddou\n") == (
        "O’Brien v. Noem &amp; Jaddou")
    assert feed_text("A &amp; B\x7f") == "A & B"


# ---------------------------------------------------------------------------- the source


def _source(**options: Any) -> PacerRss:
    return PacerRss(
        "rss", PacerRss.Options(**options), Mock(), lambda: datetime(2025, 3, 1, tzinfo=UTC)
    )


def test_targets_default_courts() -> None:
    targets = _source().targets(Plan(now=datetime(2025, 3, 1, tzinfo=UTC)))
    assert [t.key for t in targets] == list(DEFAULT_RSS_COURTS)
    dcd = targets[0]
    assert dcd.url == "https://ecf.dcd.uscourts.gov/cgi-bin/rss_outside.pl"
    assert dcd.context == {"court": "dcd"}


def test_targets_appellate_template_and_explicit_urls() -> None:
    source = _source(
        courts=["ca4", "DCD", "zzd", "cadc"],
        feed_urls={"cadc": "http://127.0.0.1:8080/cadc.xml"},
    )
    urls = {t.key: t.url for t in source.targets(Plan(now=datetime(2025, 3, 1, tzinfo=UTC)))}
    assert urls == {
        "ca4": "https://ecf.ca4.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator",
        "dcd": "https://ecf.dcd.uscourts.gov/cgi-bin/rss_outside.pl",
        "zzd": "https://ecf.zzd.uscourts.gov/cgi-bin/rss_outside.pl",
        "cadc": "http://127.0.0.1:8080/cadc.xml",
    }
    mirror = _source(courts=["ca4", "dcd"], url_template="http://127.0.0.1:9/{court}.xml")
    urls = {t.key: t.url for t in mirror.targets(Plan(now=datetime(2025, 3, 1, tzinfo=UTC)))}
    # A custom template applies to every court, appellate ones included (local mirrors).
    assert urls == {"ca4": "http://127.0.0.1:9/ca4.xml", "dcd": "http://127.0.0.1:9/dcd.xml"}
    assert DEFAULT_URL_TEMPLATE.endswith("rss_outside.pl")
    # A court without a feed is fine once its URL is given.
    assert _source(courts=["ca5"], feed_urls={"ca5": "http://127.0.0.1/ca5.xml"}).targets(
        Plan(now=datetime(2025, 3, 1, tzinfo=UTC)))[0].url == "http://127.0.0.1/ca5.xml"


@pytest.mark.parametrize(
    "options",
    [{"interval": "15m"}, {"id": "x"}, {"url_template": "https://example.org/feed"},
     {"courts": ["d c d"]}, {"max_bytes": 0},
     {"courts": ["ca5"]}],  # the court table: ca5 publishes no feed
)
def test_options_refuse_bad_keys(options: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PacerRss.Options(**options)


def test_parse_not_modified_and_context_court() -> None:
    source = _source()
    target = Target(key="dcd", url="http://127.0.0.1/dcd.xml", context={"court": "dcd"})
    assert source.parse(Fetched(target=target, content=b"", status=304, not_modified=True)) == []
    # Links on a local mirror name no court: the target's court is used.
    content = (b"<rss><channel><item><title>1:25-cv-00001-ABC A v. B</title>"
               b"<link>http://127.0.0.1/cgi-bin/DktRpt.pl?42</link>"
               b"<description>[Order]</description>"
               b"<pubDate>Tue, 04 Mar 2025 03:58:11 GMT</pubDate></item></channel></rss>")
    (case,) = source.parse(Fetched(target=target, content=content))
    assert isinstance(case, CaseObservation)
    assert (case.court, case.docket_number, case.pacer_case_id) == ("dcd", "1:25-cv-00001", "42")
    assert case.entries[0].date_filed == date(2025, 3, 3)  # 22:58 in Washington


def test_parse_error_names_source_and_url() -> None:
    source = _source()
    target = Target(key="dcd", url="http://127.0.0.1/dcd.xml", context={"court": "dcd"})
    html = (RSS_FIXTURES / "html_error_200.html").read_bytes()
    with pytest.raises(ParseError) as caught:
        source.parse(Fetched(target=target, content=html))
    assert caught.value.source == "rss" and caught.value.url == target.url
    assert "[rss]" in str(caught.value) and target.url in str(caught.value)


_LATIN1_FEED = (
    '<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel><item>'
    "<title>1:25-cv-00001-XYZ Pérez v. Noem</title><description>[Order]</description>"
    "<pubDate>Tue, 04 Mar 2025 03:58:11 GMT</pubDate></item></channel></rss>"
)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_latin1_declared_feed_in_either_encoding(encoding: str) -> None:
    """CM/ECF declares ISO-8859-1; a feed whose bytes are really UTF-8 must not turn to "PÃ©rez"."""
    content = _LATIN1_FEED.encode(encoding) + b"\n" * 5000  # trailing blank lines are fine
    (case,) = parse_feed(content, court="dcd")
    assert case.case_name == "Pérez v. Noem"


def test_parse_refuses_a_non_2xx_response() -> None:
    target = Target(key="dcd", url="http://127.0.0.1/dcd.xml", context={"court": "dcd"})
    fetched = Fetched(target=target, content=b"<html>Moved</html>", status=302)
    with pytest.raises(ParseError, match="HTTP 302"):
        _source().parse(fetched)
