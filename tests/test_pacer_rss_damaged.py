"""A feed damaged by a bare `&` parses as its clean twin: numbers, links and text survive, and
the same entries arriving clean later are not new (`entry.added` once per entry)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from sources.pacer_rss import parse_feed
from sources.wellformed import repair_ampersands
from tests.cli_helpers import write_config
from tests.fakes.feed_server import FeedServer, Item, rss

ITEMS = [
    Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
         "Memorandum AMPERSAND Order", 7, case_id="290001"),
    Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
         "Complaint for Writ of Mandamus", 1, case_id="290001"),
    Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
         "Notice of Appearance", 3, case_id="290001"),
]


def clean_and_damaged() -> tuple[bytes, bytes]:
    """The same feed with `&amp;` (clean) and with a bare `&` (as PACER sometimes sends)."""
    clean = rss("dcd", ITEMS).replace(b"AMPERSAND", b"&amp;")
    damaged = rss("dcd", ITEMS).replace(b"AMPERSAND", b"&")
    assert b"& Order" in damaged
    return clean, damaged


def test_bare_ampersand_keeps_numbers_links_and_text() -> None:
    clean, damaged = clean_and_damaged()
    [good] = parse_feed(clean, court="dcd")
    [bad] = parse_feed(damaged, court="dcd")
    assert bad == good
    assert [e.entry_number for e in bad.entries] == [7, 1, 3]
    assert all(e.document_url.startswith("https://ecf.dcd.uscourts.gov/doc1/")
               for e in bad.entries)
    assert bad.entries[0].short_description == "Memorandum & Order"


@pytest.mark.parametrize(("raw", "text"), [
    (b"AT&T", "AT&T"),
    (b"&sect; 1361", "\u00a7 1361"),
    (b"&nbsp;x", "\u00a0x"),
    (b"&bogus; x", "&bogus; x"),
    (b"&#65;&#x42;", "AB"),
])
def test_repair_turns_each_damage_into_what_the_author_meant(raw: bytes, text: str) -> None:
    doc = b"<r><a>" + raw + b"</a><b>&lt;ok&gt;</b><![CDATA[a & b]]></r>"
    from lxml import etree

    root = etree.fromstring(repair_ampersands(doc))  # strict parser: must be well-formed now
    assert root.findtext("a") == text
    assert root.findtext("b") == "<ok>"
    assert "a & b" in root.xpath("string()")


def test_well_formed_input_is_returned_untouched() -> None:
    clean, _ = clean_and_damaged()
    assert repair_ampersands(clean) is clean


def test_damaged_then_clean_poll_adds_each_entry_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean, damaged = clean_and_damaged()
    with FeedServer() as server:
        cfg = write_config(tmp_path, server.base, extra="""
[[watch]]
name = "mandamus"
case_name = ["(?i)citizenship"]

[[subscription]]
name = "console"
urls = ["console://"]
""")
        server.set("/dcd/rss", damaged)
        assert main(["--config", cfg, "poll", "--once", "--no-dispatch"]) == 0
        server.set("/dcd/rss", clean)
        assert main(["--config", cfg, "poll", "--once", "--no-dispatch"]) == 0
        capsys.readouterr()
        assert main(["--config", cfg, "events", "--json"]) == 0
        events = json.loads(capsys.readouterr().out)
    added = [e for e in events if e["kind"] == "entry.added"]
    assert sorted(e["data"]["entry_number"] for e in added) == [1, 3, 7]
    assert any("Memorandum & Order" in e["summary"] for e in added)


def test_stray_latin1_bytes_in_a_utf8_feed_read_as_meant() -> None:
    clean, _ = clean_and_damaged()
    utf8 = clean.decode("iso-8859-1").replace('encoding="ISO-8859-1"', 'encoding="UTF-8"')
    good = utf8.replace("Notice of Appearance", "Notice of Appearance \u2013 caf\u00e9")
    # One stray cp1252 byte (an en dash) and one Latin-1 byte in an otherwise UTF-8 feed.
    mixed = good.encode("utf-8").replace("\u2013".encode(), b"\x96").replace(
        "\u00e9".encode(), b"\xe9")
    [expected] = parse_feed(good.encode("utf-8"), court="dcd")
    [case] = parse_feed(mixed, court="dcd")
    assert case == expected
    assert case.entries[2].short_description == "Notice of Appearance \u2013 caf\u00e9"
    assert repair_ampersands(clean) is clean


def test_other_encodings_are_left_alone() -> None:
    from sources.wellformed import mend_utf8

    latin1 = b'<?xml version="1.0" encoding="ISO-8859-1"?><r>caf\xe9</r>'
    utf16 = '\ufeff<r>café</r>'.encode("utf-16")
    assert mend_utf8(latin1) is latin1 and mend_utf8(utf16) is utf16
