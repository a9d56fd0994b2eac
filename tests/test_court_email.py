"""The court-email parser: NEF and NDA, plain and HTML, one and several cases, field by field
against expected JSON (our fixtures and the real corpus), and the free look kept aside."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from sources.court_email import NotACourtNotice, message_key, parse_notice
from sources.mail_intake import take_message
from sources.mail_trust import TrustVerdict
from tests.email_parity import compare, examples

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "court_email"


@pytest.mark.parametrize(
    ("message", "expected"), examples(FIXTURES),
    ids=[f"court_email/{m.stem}" for m, _ in examples(FIXTURES)])
def test_fixture_parity(message: Path, expected: Path) -> None:
    parity = compare(parse_notice(message.read_bytes()), json.loads(expected.read_text()))
    assert parity.compared > 10
    assert parity.differences == []


@pytest.mark.corpus
def test_corpus_nda_parity(corpus: Path) -> None:
    pairs = examples(corpus / "pacer_dockets" / "nda_email")
    if not pairs:
        pytest.skip("no NDA examples in the corpus")
    for message, expected in pairs:
        parity = compare(parse_notice(message.read_bytes()), json.loads(expected.read_text()))
        assert parity.differences == [], message.name


def test_free_look_is_kept_out_of_the_entry() -> None:
    notice = parse_notice((FIXTURES / "dcd_plain.eml").read_bytes())
    entry = notice.cases[0].entries[0]
    assert "magic_num" not in entry.document_url
    assert entry.document_url.startswith("https://ecf.dcd.uscourts.gov/doc1/04519876543")
    assert [look.url for look in notice.free_looks] == [
        "https://ecf.dcd.uscourts.gov/doc1/04519876543?caseid=271234&de_seq_num=31"
        "&magic_num=55123"]
    nda = parse_notice((FIXTURES / "ca4_nda_html.eml").read_bytes())
    assert "uid=" not in nda.cases[0].entries[0].document_url
    assert "uid=ab12cd34ef56" in nda.free_looks[0].url


def test_entered_time_is_the_court_local_time_in_utc() -> None:
    notice = parse_notice((FIXTURES / "dcd_plain.eml").read_bytes())
    assert notice.entered_at is not None
    assert notice.entered_at.isoformat() == "2026-03-02T20:12:00+00:00"  # 3:12 PM EST
    multi = parse_notice((FIXTURES / "txsb_multi_html.eml").read_bytes())
    assert multi.entered_at is not None
    assert multi.entered_at.isoformat() == "2026-03-05T23:04:00+00:00"  # 5:04 PM CST


def test_multi_case_notice_gives_every_case() -> None:
    notice = parse_notice((FIXTURES / "txsb_multi_html.eml").read_bytes())
    assert [c.docket_number for c in notice.cases] == ["26-ap-03011", "26-30774"]
    assert [c.entries[0].entry_number for c in notice.cases] == [1, 69]
    assert len(notice.free_looks) == 2


def test_not_a_court_notice() -> None:
    raw = (b"From: friend@example.org\r\nTo: me@example.org\r\nSubject: lunch\r\n"
           b"Message-ID: <1@example.org>\r\n\r\nCase Number: 1:26-cv-1 see you at noon\r\n")
    with pytest.raises(NotACourtNotice):
        parse_notice(raw)


def test_message_key_is_the_message_id_or_the_bytes() -> None:
    raw = (FIXTURES / "dcd_plain.eml").read_bytes()
    assert message_key(raw) == message_key(raw.replace(b"Return-Path", b"X-Return-Path"))
    no_id = b"From: a@b.c\r\n\r\nhello"
    assert message_key(no_id) != message_key(no_id + b"!")


def test_a_text_only_entry_has_its_number_and_no_link() -> None:
    notice = parse_notice((FIXTURES / "flmd_no_document_html.eml").read_bytes())
    entry = notice.cases[0].entries[0]
    assert (entry.entry_number, entry.document_url, notice.free_looks) == (12, "", ())
    assert notice.entered_at is not None
    assert notice.entered_at.isoformat() == "2026-03-11T17:33:00+00:00"  # 1:33 PM EDT


def test_a_court_missing_from_the_table_reads_the_senders_offset() -> None:
    raw = (FIXTURES / "flmd_no_document_html.eml").read_bytes()
    raw = raw.replace(b"1:33 PM EDT", b"1:33 PM").replace(b"flmd", b"ohnd")
    notice = parse_notice(raw)
    assert notice.court == "ohnd"
    assert notice.entered_at is not None
    assert notice.entered_at.isoformat() == "2026-03-11T17:33:00+00:00"  # Date: ... -0400


@settings(deadline=None, max_examples=150)
@given(st.binary(max_size=3000))
def test_any_bytes_are_a_notice_or_set_aside_never_a_crash(raw: bytes) -> None:
    for message in (raw, (FIXTURES / "dcd_plain.eml").read_bytes()[:600] + raw):
        with contextlib.suppress(ParseError):
            parse_notice(message)
        intake = take_message(message, TrustVerdict(True, "test"))
        assert intake.outcome in ("notice", "not_a_notice")


@settings(deadline=None, max_examples=100)
@given(st.text(max_size=400))
def test_hostile_docket_text_is_kept_as_text(text: str) -> None:
    raw = (FIXTURES / "dcd_plain.eml").read_bytes().decode()
    raw = raw.replace("SUMMONS (3) Returned Executed", text.replace("\r", " "), 1)
    try:
        notice = parse_notice(raw.encode("utf-8", "surrogatepass"))
    except ParseError:
        return
    for case in notice.cases:
        for entry in case.entries:
            assert "\x00" not in entry.description and "\u202e" not in entry.description
            assert not entry.document_url or entry.document_url.startswith("https://")


def test_a_link_that_is_not_http_is_dropped() -> None:
    raw = (FIXTURES / "txsb_multi_html.eml").read_bytes().replace(
        b"https://ecf.txsb.uscourts.gov/doc1/170012345678", b"javascript:alert(1)//doc1/1")
    notice = parse_notice(raw)
    assert notice.cases[0].entries[0].document_url == ""
    assert all(look.url.startswith("https://") for look in notice.free_looks)


def test_a_plain_notice_of_several_cases_gives_each() -> None:
    raw = (FIXTURES / "dcd_plain.eml").read_bytes()
    second = (b"Case Name: ROE v. NOEM\n\nCase Number: 1:26-cv-00413-ABJ "
              b"https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?271240\n\nFiler:  JANE DOE\n\n"
              b"Document Number: 5\n\nCopy the URL address from the line below into the "
              b"location bar\nof your Web browser to view the document:\n"
              b"https://ecf.dcd.uscourts.gov/doc1/04519876600?caseid=271240&de_seq_num=20"
              b"&magic_num=11111\n\n\nDocket Text:")
    notice = parse_notice(raw.replace(b"Docket Text:", second, 1))
    assert [(c.docket_number, c.entries[0].entry_number, c.pacer_case_id)
            for c in notice.cases] == [("1:26-cv-00412", 7, "271234"),
                                       ("1:26-cv-00413", 5, "271240")]
    assert notice.cases[0].entries[0].description == notice.cases[1].entries[0].description
    assert len(notice.free_looks) == 2
