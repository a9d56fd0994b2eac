"""Court notices by email: CM/ECF's Notice of Electronic Filing (district and bankruptcy) and
the appellate Notice of Docket Activity (CM/ECF and ACMS), plain text or HTML, into the same
case and entry observations as the other sources.

A notice names one or more cases (a multi-case NEF repeats "Case Name / Case Number / Document
Number" for each case the filing was docketed in, sharing one docket text), the entry's number
and document link per case, the docket text, and when it was entered and filed. The HTML and
the plain variants carry the same labels, so both are read as labelled text: the HTML is first
flattened to lines (anchors remembered), then one reader handles either.

The document link of a notice is the one free look an attorney of record gets (`magic_num` on
CM/ECF, the ACMS `NDA/<guid>` link). It stays in `CourtNotice.free_looks` (kept only in the
store); the entry's `document_url` is the link without its magic number, which asks for a
PACER login like any docket link, so it is safe wherever entries are shown.

Pure: bytes in, a `CourtNotice` out; `NotACourtNotice` (a `ParseError`) for anything else.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import html as lxml_html

from monitor.errors import ParseError
from sources import sanitize
from sources.base import CaseObservation, EntryObservation
from sources.courts import COURTS, court_for_host, court_timezone
from sources.identity import normalize_docket_number, normalize_pacer_doc_id
from sources.pacer_rss import parse_pub_date

__all__ = [
    "CourtNotice",
    "FreeLook",
    "NotACourtNotice",
    "message_key",
    "parse_notice",
    "sender_address",
]

#: a notice bigger than this is not a notice (NEFs are a few kilobytes)
MAX_NOTICE_BYTES = 2_000_000


class NotACourtNotice(ParseError):
    """The message is no NEF or NDA (or names no case)."""


@dataclass(frozen=True)
class FreeLook:
    """The free-look link of one entry of a notice: for the store only, never shown."""

    court: str
    docket_number: str
    entry_number: int | None
    url: str


@dataclass(frozen=True)
class CourtNotice:
    """One parsed notice: its cases (each with the one entry it announces) and free looks."""

    kind: Literal["nef", "nda"]
    court: str
    message_id: str
    subject: str
    sender: str
    sent_at: datetime | None
    entered_at: datetime | None
    cases: tuple[CaseObservation, ...]
    free_looks: tuple[FreeLook, ...] = ()


def message_key(raw: bytes) -> str:
    """The identity of a message: its Message-ID, else a digest of its bytes (the same message
    delivered twice, by pipe or mailbox, has one key)."""
    msg = email.message_from_bytes(raw[:200_000], policy=email.policy.compat32)
    message_id = (msg.get("Message-ID") or "").strip()
    if message_id:
        return "mid:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()[:32]
    return "sha:" + hashlib.sha256(raw).hexdigest()[:32]


def sender_address(msg: EmailMessage) -> str:
    """The From address, lower case ("" when none)."""
    return parseaddr(str(msg.get("From", "")))[1].strip().lower()


# ---------------------------------------------------------------------------- the message


def parse_notice(raw: bytes) -> CourtNotice:
    """Parse one email message into a `CourtNotice`; `NotACourtNotice` when it is none."""
    if len(raw) > MAX_NOTICE_BYTES:
        raise NotACourtNotice(f"message of {len(raw)} bytes is too big for a court notice")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body, is_html = _body(msg)
    if not body:
        raise NotACourtNotice("no text body")
    lines, anchors = _html_lines(body) if is_html else (_plain_lines(body), [])
    text = "\n".join(lines)
    if "Notice of Docket Activity" in text:
        kind: Literal["nef", "nda"] = "nda"
    elif "Notice of Electronic Filing" in text:
        kind = "nef"
    else:
        raise NotACourtNotice("neither a Notice of Electronic Filing nor of Docket Activity")
    subject = _clean(str(msg.get("Subject", "")))
    sender = sender_address(msg)
    court = _court(anchors, text, sender)
    if not court:
        raise NotACourtNotice("no court named by the notice's links or sender")
    entered_at, filed_on = _dates(text, court, _sent_local(msg))
    blocks = _case_blocks(lines, anchors)
    if not blocks:
        raise NotACourtNotice("the notice names no case")
    docket_text = _docket_text(lines, kind)
    cases, looks = [], []
    for block in blocks:
        obs, look = _case(block, court=court, kind=kind, subject=subject,
                          docket_text=docket_text, filed_on=filed_on, entered_at=entered_at)
        cases.append(obs)
        if look is not None:
            looks.append(look)
    return CourtNotice(
        kind=kind, court=court, message_id=str(msg.get("Message-ID", "")).strip(),
        subject=subject, sender=sender, sent_at=_sent_at(msg), entered_at=entered_at,
        cases=tuple(cases), free_looks=tuple(looks),
    )


def _body(msg: EmailMessage) -> tuple[str, bool]:
    """The notice's text: the HTML part when there is one, else the plain one."""
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "", False
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown or broken charset
        payload = part.get_payload(decode=True)
        content = payload.decode("latin-1") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return "", False
    is_html = part.get_content_subtype() == "html" or bool(
        re.search(r"<(?:html|body|table|p|div|br)\b", content[:4000], re.I))
    return content, is_html


def _sent_local(msg: EmailMessage) -> datetime | None:
    """The Date header as written (with the sender's offset)."""
    try:
        return parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None


def _sent_at(msg: EmailMessage) -> datetime | None:
    try:
        sent = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    if sent is None:
        return None
    return sent.astimezone(UTC) if sent.tzinfo else sent.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- text


@dataclass(frozen=True)
class _Anchor:
    line: int
    href: str
    text: str


_BLOCK_TAGS = {"p", "div", "br", "tr", "table", "li", "h1", "h2", "h3", "h4", "center", "ul",
               "ol", "blockquote", "hr", "html", "body", "dd", "dt"}


def _html_lines(body: str) -> tuple[list[str], list[_Anchor]]:
    """The HTML flattened to lines (block elements and table rows break lines; the two cells
    of a label row stay on one line), with each anchor's line, link and text."""
    try:
        root = lxml_html.document_fromstring(body)
    except (ValueError, lxml_html.etree.ParserError):
        return _plain_lines(re.sub(r"<[^>]*>", " ", body)), []
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    lines: list[str] = []
    anchors: list[_Anchor] = []
    current: list[str] = []

    def flush() -> None:
        line = _clean("".join(current))
        current.clear()
        if line:
            lines.append(line)

    def walk(el: lxml_html.HtmlElement) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag.lower() in _BLOCK_TAGS
        if block:
            flush()
        if tag.lower() == "a":
            href = (el.get("href") or "").strip()
            label = _clean(el.text_content())
            if href:
                anchors.append(_Anchor(len(lines), href, label))
        if el.text and tag:
            current.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                current.append(child.tail)
        if tag.lower() == "td":
            current.append(" ")
        if block:
            flush()

    walk(root)
    flush()
    return lines, anchors


_INLINE_TAG = re.compile(r"</?(?:i|b|u|em|strong|span|font)\b[^>]*>", re.I)


def _plain_lines(body: str) -> list[str]:
    """A plain notice's lines (CM/ECF leaves inline tags such as `<i></i>` in its text)."""
    return [line for line in (_clean(_INLINE_TAG.sub("", raw)) for raw in body.splitlines())
            if line]


def _clean(text: str) -> str:
    """One line of human text: entities decoded, invisible characters gone, spaces collapsed."""
    if "&" in text:
        text = html.unescape(text)
    return " ".join(sanitize.clean_text(text.replace("\xa0", " ")).split())


# ---------------------------------------------------------------------------- court and dates


_SENDER_COURT = re.compile(
    r"@(?:[\w-]+\.)*?([a-z]{2,5}\d{0,2}[a-z]?)\.(?:uscourts\.gov|fedcourts\.us)$")


def _court(anchors: list[_Anchor], text: str, sender: str) -> str:
    """The court: from the PACER host of a link, else from the sender's court domain."""
    for anchor in anchors:
        court = court_for_host(anchor.href)
        if court:
            return court
    for url in re.findall(r"https?://\S+", text):
        court = court_for_host(url)
        if court:
            return court
    for anchor in anchors:  # ACMS links: https://ca9-showdoc.azurewebsites.us/...
        host = urlsplit(anchor.href).hostname or ""
        m = re.match(r"(ca\d{1,2}|cadc|cafc)-", host)
        if m:
            return m[1]
    m = _SENDER_COURT.search(sender)
    if m and (m[1] in COURTS or re.fullmatch(r"ca\d{1,2}|[a-z]{2,4}[bd]", m[1])):
        return m[1]
    return ""


_ENTERED = re.compile(
    r"entered\b.*?\bon\s+(\d{1,2}/\d{1,2}/\d{4})(?:\s+(?:at\s+)?(\d{1,2}:\d{2}(?::\d{2})?"
    r"\s*[AP]M)(?:\s+([A-Za-z]+(?:\s+(?:Daylight|Standard)\s+Time)?))?)?", re.I | re.S)
#: the zones CM/ECF prints after a time ("EDT", "Eastern Daylight Time" read as "EDT")
_US_ZONES = {"EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST",
             "HDT", "AST", "ADT", "CHST", "SST", "UTC", "GMT"}
_FILED = re.compile(r"\bfiled\s+on\s+(\d{1,2}/\d{1,2}/\d{4})", re.I)


def _dates(text: str, court: str, sent_at: datetime | None
           ) -> tuple[datetime | None, date | None]:
    """(entered at, in UTC; filed on) from "The following transaction was entered ... on
    3/15/2019 9:52 AM and filed on 3/15/2019". The time is read in the zone it names, else in
    the court's (the court table), else at the offset of the message's Date (CM/ECF sends in
    its own local time)."""
    head = text[:6000]
    filed_m = _FILED.search(head)
    filed = _mdy(filed_m[1]) if filed_m else None
    entered_at = None
    m = _ENTERED.search(head)
    if m:
        day = _mdy(m[1])
        if day is not None and m[2]:
            try:
                clock = datetime.strptime(" ".join(m[2].upper().split()).replace(" ", ""),
                                          "%I:%M%p" if m[2].count(":") == 1 else "%I:%M:%S%p")
            except ValueError:
                clock = None
            if clock is not None:
                stamp = f"{day:%d %b %Y} {clock:%H:%M:%S} {_zone(m[3], court, sent_at)}"
                entered_at = parse_pub_date(stamp.strip(), court_timezone(court))
        if filed is None:
            filed = day
    return entered_at, filed


def _zone(named: str | None, court: str, sent_at: datetime | None) -> str:
    """The zone to read a notice's time in: as named, else "" (the court's, when the table
    knows the court), else the Date header's offset (`-0400`)."""
    words = (named or "").split()
    zone = "".join(w[0] for w in words).upper() if len(words) > 1 else (named or "").upper()
    if zone in _US_ZONES:
        return zone
    if court in COURTS or sent_at is None or sent_at.utcoffset() in (None, timedelta(0)):
        return ""
    return sent_at.strftime("%z")


def _mdy(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%m/%d/%Y").date()
    except ValueError:
        return None


# ---------------------------------------------------------------------------- cases


@dataclass
class _Block:
    """The labelled lines of one case of the notice."""

    case_name: str = ""
    docket_raw: str = ""
    docket_url: str = ""
    number_text: str = ""
    document_url: str = ""


_LABEL = re.compile(r"^(Case Name|Case Number|Document Number|Document\(s\)|Document)\s*:\s*(.*)$",
                    re.I)
_DOCKET_TOKEN = re.compile(r"(?<![\w:])((?:\d{1,2}:)?\d{2,4}-(?:[A-Za-z]{1,5}-)?\d{1,6}"
                           r"(?:-[A-Za-z0-9]+)*)")
_URL = re.compile(r"https?://[^\s<>\"']+")
_STOP = re.compile(r"^(Docket Text|Notice (?:has been|will be)|The following document)", re.I)


def _case_blocks(lines: list[str], anchors: list[_Anchor]) -> list[_Block]:
    """The cases of the notice in order, each with its docket number, name and document."""
    blocks: list[_Block] = []
    block: _Block | None = None
    label = ""
    in_text = False
    for index, line in enumerate(lines):
        if _STOP.match(line):
            label = ""
            if line.lower().startswith("docket text"):
                in_text = True  # an NDA's document link follows its docket text
            elif in_text:
                break
            continue
        m = _LABEL.match(line)
        if m and in_text and not (m[1].lower().startswith("document") and block is not None
                                  and not block.document_url):
            continue
        if m:
            label, value = m[1].lower(), m[2]
            if label == "case name" or (label == "case number" and
                                        (block is None or block.docket_raw)):
                block = _Block()
                blocks.append(block)
            assert block is not None
            if label == "case name":
                block.case_name = _clean(value)
            elif label == "case number":
                _take_docket(block, value, _anchors_at(anchors, index))
            else:
                _take_document(block, value, _anchors_at(anchors, index))
            continue
        if block is None or not label or in_text:
            continue
        # A label's value on the next line(s): the plain NEF's document link, a wrapped name.
        if label == "case name" and not block.docket_raw and not block.case_name:
            block.case_name = line
        elif label == "case number" and not block.docket_raw:
            _take_docket(block, line, _anchors_at(anchors, index))
        elif label.startswith("document") and not block.document_url:
            url = _URL.search(line)
            found = _anchors_at(anchors, index)
            if url or found:
                block.document_url = found[0].href if found else url[0] if url else ""
            elif not block.number_text:
                block.number_text = line
    return [b for b in blocks if b.docket_raw]


def _anchors_at(anchors: list[_Anchor], line: int) -> list[_Anchor]:
    return [a for a in anchors if a.line == line]


def _take_docket(block: _Block, value: str, anchors: list[_Anchor]) -> None:
    m = _DOCKET_TOKEN.search(value)
    if m is None:
        for anchor in anchors:
            m = _DOCKET_TOKEN.search(anchor.text)
            if m:
                break
    if m is None:
        return
    block.docket_raw = m[1]
    url = next((a.href for a in anchors), "") or (_URL.search(value) or [""])[0]
    block.docket_url = url


def _take_document(block: _Block, value: str, anchors: list[_Anchor]) -> None:
    url = _URL.search(value)
    block.document_url = anchors[0].href if anchors else (url[0] if url else "")
    text = _URL.sub("", value).strip()
    if anchors and not text:
        text = anchors[0].text
    block.number_text = text


_DOCKET_END = re.compile(
    r"^(?:.*\bNotice (?:has been|will be) (?:electronically mailed|delivered)"
    r"|The following document\(s\)|Document(?:\(s\))?\s*:|Notice will be)", re.I)


def _docket_text(lines: list[str], kind: str) -> str:
    """The docket text: the lines after "Docket Text:" up to the service list."""
    out: list[str] = []
    started = False
    for line in lines:
        if not started:
            m = re.match(r"^Docket Text\s*:\s*(.*)$", line, re.I)
            if m:
                started = True
                if m[1]:
                    out.append(m[1])
            continue
        if _DOCKET_END.match(line) or re.search(r"\bNotice (?:has been|will be) "
                                                 r"(?:electronically mailed|delivered)", line):
            break
        out.append(line)
    return " ".join(" ".join(out).split())


def _case(block: _Block, *, court: str, kind: str, subject: str, docket_text: str,
          filed_on: date | None, entered_at: datetime | None
          ) -> tuple[CaseObservation, FreeLook | None]:
    """One case of the notice with its entry, and the entry's free look."""
    raw = block.docket_raw
    case_type = "ap" if _is_adversary(raw, docket_text, court) else ""
    docket_number = normalize_docket_number(_typed(raw, case_type))
    number_m = re.match(r"\s*(\d+)\b", block.number_text)
    entry_number = int(number_m[1]) if number_m and kind == "nef" else None
    link = block.document_url
    doc_id, seq, case_id, magic = _doc1_parts(link)
    case_id = case_id or _case_id_of(block.docket_url)
    public_url = _without_free_look(link)
    entry = EntryObservation(
        entry_number=entry_number,
        date_filed=filed_on,
        short_description=_short_description(subject, raw, block.case_name, kind),
        description=docket_text,
        document_url=public_url,
        pacer_doc_id=doc_id,
        pacer_seq_no=seq,
        published=entered_at,
    )
    look = None
    if sanitize.safe_url(link) and (magic or kind == "nda"):
        look = FreeLook(court, docket_number, entry_number, sanitize.safe_url(link))
    obs = CaseObservation(
        court=court, docket_number=docket_number, docket_number_raw=raw,
        case_name=block.case_name, pacer_case_id=case_id, entries=(entry,),
        url=sanitize.safe_url(block.docket_url),
    )
    return obs, look


def _is_adversary(raw: str, docket_text: str, court: str) -> bool:
    known = COURTS.get(court)
    bankruptcy = (known is not None and known.level == "bankruptcy") or court.endswith("b")
    return bankruptcy and bool(re.search(rf"Adversary case {re.escape(raw)}\b", docket_text))


def _typed(raw: str, case_type: str) -> str:
    if case_type != "ap":
        return raw
    m = re.match(r"^(\d{1,2}:)?(\d{2,4})-(\d+)(.*)$", raw)
    return f"{m[1] or ''}{m[2]}-ap-{m[3]}{m[4]}" if m else raw


def _doc1_parts(url: str) -> tuple[str, int | None, str, str]:
    """(pacer_doc_id, sequence number, pacer_case_id, magic number) of a document link."""
    if not url:
        return "", None, "", ""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    m = re.search(r"/docs?1/(\d+)", parts.path)
    doc_id = normalize_pacer_doc_id(m[1]) if m else ""
    seq_text = query.get("de_seq_num", "")
    magic = query.get("magic_num", "") or (query.get("uid", "") if doc_id else "")
    if not magic:
        acms = re.search(r"/NDA/([0-9a-f-]{36})", parts.path, re.I)
        magic = acms[1] if acms else ""
    return doc_id, int(seq_text) if seq_text.isdigit() else None, query.get("caseid", ""), magic


def _case_id_of(url: str) -> str:
    m = re.search(r"(?:DktRpt\.pl\?|caseid=|caseId=)(\d+)", url)
    return m[1] if m else ""


def _without_free_look(url: str) -> str:
    """A document link without its free-look part: CM/ECF's `magic_num` dropped (the link then
    asks for a PACER login); an ACMS free-look link (`/NDA/<guid>`) is dropped whole."""
    if not url:
        return ""
    parts = urlsplit(url)
    if re.search(r"/NDA/", parts.path, re.I):
        return ""
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in ("magic_num", "uid")]
    return sanitize.safe_url(urlunsplit(parts._replace(query=urlencode(query))))


def _short_description(subject: str, raw: str, case_name: str, kind: str) -> str:
    """The entry's short description from the subject line: "Activity in Case 1:17-cr-201-ABJ
    USA v. MANAFORT et al Status Report" -> "Status Report"; "Name 25-2120 - Reply Brief
    Submitted for Filing - 490133" -> "Reply Brief Submitted for Filing"."""
    at = subject.find(raw) if raw else -1
    if at < 0:
        m = _DOCKET_TOKEN.search(subject)
        if m is None:
            return ""
        at, raw = m.start(), m[1]
    # Judge initials or a defendant or panel suffix the subject carries beyond the number.
    rest = re.sub(r"^(?:-[A-Za-z0-9]+)+\b", "", subject[at + len(raw):]).strip()
    quoted = re.search(r'"([^"]+)"\s*$', rest)
    if quoted:  # CM/ECF appellate: 21-1975 Name v. Name "Letter RECEIVED"
        return quoted[1].strip()
    if kind == "nda":  # ACMS: Name 25-2120 - Reply Brief Submitted for Filing - 490133
        rest = re.sub(r"\s*-\s*\d+\s*$", "", rest.lstrip("- ").strip())
    return _without_name(rest, case_name).strip()


def _without_name(rest: str, case_name: str) -> str:
    """The subject's tail without the case name it starts with (cut or spelled otherwise)."""
    name = " ".join(case_name.split())
    if name and rest.lower().startswith(name.lower()):
        return rest[len(name):].strip()
    # A subject's name may be cut or spelled otherwise: drop the longest common prefix.
    words, name_words = rest.split(), name.split()
    common = 0
    while common < min(len(words), len(name_words)) and \
            words[common].lower() == name_words[common].lower():
        common += 1
    return " ".join(words[common:]) if common >= 2 else rest
