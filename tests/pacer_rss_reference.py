"""The PACER RSS parser as it was before its fast paths (commit 688a149), kept verbatim as the
reference the fast parser must equal, observation for observation (tests/test_pacer_rss_paths.py).

Do not optimize this file: its value is that it is the slow, obviously-regex path. Its two
helpers from elsewhere that have since gained fast paths (`normalize_docket_number`,
`safe_url`) are copied here as they were, for the same reason.
"""

# mypy: ignore-errors
# ruff: noqa

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from lxml import etree

from monitor.errors import ParseError
from sources import sanitize as _sanitize
from sources.base import CaseObservation, EntryObservation
from sources.courts import court_for_host, court_timezone
from sources.identity import normalize_pacer_doc_id
from sources.wellformed import mend_utf8, repair_ampersands

_DOCKET = re.compile(
    r"""^\s*
    (?:(?P<office>\d{1,2}):)?
    (?P<year>\d{2}|\d{4})
    -(?:(?P<type>[a-z]{1,4})-)?
    (?P<seq>\d{1,6})
    (?:-(?P<rest>[\w-]*))?
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def normalize_docket_number(raw: str) -> str:
    m = _DOCKET.match(raw)
    if not m:
        return " ".join(raw.split())
    year, case_type, seq = m["year"], (m["type"] or "").lower(), m["seq"]
    body = f"{year}-{case_type}-{int(seq):05d}" if case_type else f"{year}-{seq}"
    return f"{int(m['office'])}:{body}" if m["office"] else body


_PLAIN_HTTP = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?\Z",
                         re.IGNORECASE)


def _safe_url(url: str) -> str:
    if _PLAIN_HTTP.match(url):
        return url
    url = url.strip()
    if not url or any(ch.isspace() for ch in url) or _sanitize._UNSAFE.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url


class sanitize:  # the two names the parser used
    clean_text = staticmethod(_sanitize.clean_text)
    safe_url = staticmethod(_safe_url)


# ---------------------------------------------------------------------------- parsing


def parse_feed(
    content: bytes, *, court: str, source_id: str = "", url: str = ""
) -> list[CaseObservation]:
    """Parse one RSS feed into one `CaseObservation` per case, in order of first appearance.

    `court` is used when an item's link does not name its court. Raises `ParseError` for
    anything that is not a complete RSS document (an HTML error page, truncated XML, ...).
    """
    channel = _channel(content, source_id=source_id, url=url)
    builder = _FeedBuilder(default_court=court)
    add = builder.add
    for item in channel.iterchildren("item"):
        # One pass over the item's children: several times faster than a find per field.
        title = link = description = pub_date = guid = ""
        for child in item:
            text = child.text if not len(child) else _inner_markup(child)
            if not text:
                continue
            tag = child.tag
            if tag == "title":
                title = text
            elif tag == "description":
                description = text
            elif tag == "link":
                link = text
            elif tag == "pubDate":
                pub_date = text
            elif tag == "guid":
                guid = text
        add(title, link, description, pub_date, guid)
    return builder.cases()


def _channel(content: bytes, *, source_id: str, url: str) -> etree._Element:
    """The `<channel>` of a complete RSS document, or ParseError."""

    def fail(why: str) -> ParseError:
        return ParseError(why, source=source_id, url=url)

    tail = content[-4096:].rstrip() or content.rstrip()
    if not tail:
        raise fail("empty response")
    head = content[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or (b"<html" in head and b"<rss" not in head):
        raise fail("an HTML page, not an RSS feed")
    if not tail.endswith(b">") or b"</rss" not in tail:
        raise fail("truncated or not an RSS feed (no closing </rss>)")
    parser = etree.XMLParser(
        encoding=_misdeclared_utf8(content),
        recover=True,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(repair_ampersands(mend_utf8(content)), parser)
    except etree.XMLSyntaxError as exc:
        raise fail(f"not XML: {exc}") from exc
    if root is None or not isinstance(root.tag, str):
        raise fail("not XML")
    if root.tag != "rss":
        raise fail(f"not an RSS feed (root element <{root.tag}>)")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # A feed never declares entities; a document that does is an attack or not a feed.
        raise fail("XML entity declarations are refused")
    channel = root.find("channel")
    if channel is None:
        raise fail("RSS without a <channel>")
    return channel


_LATIN1_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"'](?:iso-8859-1|latin-?1)[\"']", re.I)


def _misdeclared_utf8(content: bytes) -> str | None:
    """"utf-8" for a feed that declares ISO-8859-1 (as CM/ECF does) but whose bytes are UTF-8,
    which read as Latin-1 would turn "é" into "Ã©"; None to follow the declaration."""
    if content.isascii() or not _LATIN1_DECLARED.match(content):
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _inner_markup(element: etree._Element) -> str:
    """An element's content as markup: unescaped HTML in a description parsed as elements,
    or an entity reference left unexpanded."""
    parts = [element.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", with_tail=True) for child in element)
    return "".join(parts)


# -- text


def _control_table() -> dict[int, str | None]:
    """C0 controls -> space; C1 controls (cp1252 bytes decoded as Latin-1) -> their cp1252 char."""
    table: dict[int, str | None] = {c: " " for c in range(32)}
    table[0x7F] = None
    for c in range(0x80, 0xA0):
        try:
            table[c] = bytes([c]).decode("cp1252")
        except UnicodeDecodeError:
            table[c] = None
    return table


_CONTROL = _control_table()
_HAS_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def feed_text(text: str) -> str:
    """Text for humans: entities decoded (PACER double-escapes), controls gone (C1 read as the
    cp1252 characters they were meant to be), bidi and zero-width characters gone
    (`sources.sanitize`), spaces collapsed."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isprintable():
        if _HAS_CONTROL.search(text):
            text = text.translate(_CONTROL)
        if not text.isascii():  # bidi and zero-width characters are never ASCII
            text = sanitize.clean_text(text)
    return " ".join(text.split())


# -- title


#: a docket number first (`1:25-cv-00612-ABJ`, `16-10992-smb`, `23-1104`), then the case name
_TITLE = re.compile(
    r"((?:\d{1,2}:)?\d{2,4}-(?:[A-Za-z]{1,5}-)?\d+(?:-[A-Za-z0-9]+)*)(?: (.*))?$"
)
_DOCKET_ANYWHERE = re.compile(r"(?<![\w:])((?:\d{1,2}:)?\d{2}-[A-Za-z]{1,5}-\d{1,10})")


@lru_cache(maxsize=8192)
def _case_of_title(title: str, case_type: str) -> tuple[str, str, str]:
    """(raw docket number, normalized docket number, case name) of an item title, memoized
    (a court's feed repeats its titles from item to item and from poll to poll)."""
    raw, case_name = _split_title(title)
    return raw, _docket_number(raw, case_type) if raw else "", case_name


def _split_title(title: str) -> tuple[str, str]:
    """(raw docket number, case name) of an item title; ("", "") when it names no case."""
    text = feed_text(title)
    m = _TITLE.match(text)
    if m:
        return m[1], m[2] or ""
    m = _DOCKET_ANYWHERE.search(text)
    if m:
        name = (text[: m.start()] + " " + text[m.end() :]).strip()
        return m[1], " ".join(name.split())
    return "", ""


_UNTYPED = re.compile(r"^(\d{1,2}:)?(\d{2,4})-(\d+)(.*)$")


def _docket_number(raw: str, case_type: str) -> str:
    """Normalized docket number; a bankruptcy adversary proceeding keeps its `ap` type."""
    if case_type == "ap":
        m = _UNTYPED.match(raw)
        if m:
            raw = f"{m[1] or ''}{m[2]}-ap-{m[3]}{m[4]}"
    return normalize_docket_number(raw)


# -- description


_BANKRUPTCY_TYPE = re.compile(r"\s*Type:\s*(\S*)\s+Office:")
#: a bracketed short description, with one level of brackets inside allowed
_BRACKETS = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\s*")
_ANCHOR = re.compile(
    r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>\s*(.*?)\s*</a\s*>""",
    re.IGNORECASE | re.DOTALL,
)
_DOC_ID = re.compile(r"/docs?1/(\d+)")
_SEQ_NO = re.compile(r"de_seq_num=(\d+)")
_CASE_ID_PARAM = re.compile(r"caseid=(\d+)")
_SHOW_CASE_DOC = re.compile(r"show_case_doc\?\d*,(\d+)")


def _short_descriptions(description: str) -> list[str]:
    """The bracketed short description(s): the first `[...]`, plus any that follow it directly
    (several events in one item)."""
    start = description.find("[")
    if start < 0:
        return []
    end = description.find("]", start)
    if end > 0 and description.find("[", start + 1, end) < 0:
        # The common shape: one bracket group, nothing nested, no second group.
        rest = description[end + 1 :].lstrip()
        if not rest.startswith("["):
            text = feed_text(description[start + 1 : end])
            return [text] if text else []
    found = []
    m = _BRACKETS.match(description, start)
    while m:
        text = feed_text(m[1])
        if text:
            found.append(text)
        end = m.end()
        m = _BRACKETS.match(description, end) if description.startswith("[", end) else None
    return found


_DOC_LINK = re.compile(r"\(?\s*<a\s.*?</a\s*>\s*\)?", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _plain_text(description: str) -> str:
    """A description without its document link and markup."""
    if "<" in description:
        description = _TAG.sub(" ", _DOC_LINK.sub(" ", description))
    return feed_text(description)


#: (url, entry number, pacer_doc_id, sequence number, pacer_case_id) of a document link
_Document = tuple[str, int | None, str, int | None, str]


def _document(description: str) -> _Document | None:
    """The document link of a description (its first anchor), if any."""
    start = description.find("<a ")
    m = _ANCHOR.match(description, start) if start >= 0 else _ANCHOR.search(description)
    if not m:
        return None
    url = (m[1] or m[2] or m[3] or "").strip()
    if "&amp;" in url:
        url = url.replace("&amp;", "&")
    label = m[4]
    ident = _DOC_ID.search(url) if "1/" in url else None
    seq = _SEQ_NO.search(url) if "de_seq_num" in url else None
    case_id = _CASE_ID_PARAM.search(url) if "caseid" in url else None
    if case_id is None and "show_case_doc" in url:
        case_id = _SHOW_CASE_DOC.search(url)
    return (
        sanitize.safe_url(url),  # identity comes from the raw link; only http(s) is kept
        int(label) if label.isdigit() else None,
        normalize_pacer_doc_id(ident[1]) if ident else "",
        int(seq[1]) if seq else None,
        case_id[1] if case_id else "",
    )


# -- link and guid


_LINK_CASE_ID = re.compile(r"\.pl\?(?:[^&#]*?-L_[^-&#]*-\d+-)?(\d+)(?:$|[-&#])")
_GUID_SEQ = re.compile(r"\.pl\?\d+-(\d+)\s*$")


@lru_cache(maxsize=8192)
def _case_of_link(link: str) -> tuple[str | None, str]:
    """(court id from the host, pacer_case_id) of an item's docket link
    (`https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?123`, `iquery.pl?...-L_1_0-1-123`)."""
    m = _LINK_CASE_ID.search(link)
    end = link.find("/", 8)
    return _court_of_host(link if end < 0 else link[:end]), m[1] if m else ""


@lru_cache(maxsize=256)
def _court_of_host(prefix: str) -> str | None:
    return court_for_host(prefix)


@lru_cache(maxsize=256)
def _court_zone(court: str) -> tuple[str, ZoneInfo]:
    name = court_timezone(court)
    return name, ZoneInfo(name)


# -- dates


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
#: RFC 822 zones plus the US ones PACER prints (hours east of UTC).
_ZONES = {
    "GMT": 0, "UT": 0, "UTC": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "HDT": -9, "AST": -4, "ADT": -3, "CHST": 10,
    "SST": -11,
}
_OFFSETS = {name: timedelta(hours=hours) for name, hours in _ZONES.items()}
_PUB_DATE = re.compile(
    r"\s*(?:[A-Za-z]+,?\s+)?(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{4})\s+"
    r"(\d{1,2}):(\d\d)(?::(\d\d))?\s*([A-Za-z]+|[+-]\d{4})?\s*$"
)


def parse_pub_date(text: str, local_zone: str = "UTC") -> datetime | None:
    """An RSS pubDate (RFC 822, US zone names allowed) as an aware UTC datetime.

    A time without a zone, or with a zone name we do not know, is read in `local_zone`.
    Returns None when the text is not a date.
    """
    m = _PUB_DATE.match(text)
    if m is None:
        return _parse_pub_date_slow(text, local_zone)
    day, month, year, hour, minute, second, zone = m.groups()
    month_n = _MONTHS.get(month.lower())
    if month_n is None:
        return _parse_pub_date_slow(text, local_zone)
    offset = _OFFSETS.get(zone) if zone else None
    if offset is None and zone:
        offset = _zone_offset(zone)
    try:
        if offset is not None:
            return datetime(int(year), month_n, int(day), int(hour), int(minute),
                            int(second) if second else 0, 0, UTC) - offset
        # No zone, or one we know only by name: the wall-clock time in the court's zone.
        local = datetime(int(year), month_n, int(day), int(hour), int(minute),
                         int(second) if second else 0, 0, _zone(local_zone))
    except ValueError:
        return None
    return local.astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _zone_offset(zone: str) -> timedelta | None:
    """The UTC offset of an RFC 822 zone (`EST`, `+0000`, `-0500`); None when unknown."""
    hours = _ZONES.get(zone.upper())
    if hours is not None:
        return timedelta(hours=hours)
    if len(zone) == 5 and zone[0] in "+-" and zone[1:].isdigit():
        minutes = int(zone[1:3]) * 60 + int(zone[3:])
        return timedelta(minutes=minutes if zone[0] == "+" else -minutes)
    return None


def _parse_pub_date_slow(text: str, local_zone: str) -> datetime | None:
    """The email module's RFC 822 parser, for shapes the fast path does not know."""
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    try:
        naive = datetime(*parsed[:6])
    except (TypeError, ValueError):
        return None
    if parsed[9] is None:
        return naive.replace(tzinfo=_zone(local_zone)).astimezone(UTC)
    return naive.replace(tzinfo=UTC) - timedelta(seconds=parsed[9])


# -- assembling


def _joined(shorts: list[str]) -> str:
    """Several events of one entry: their short descriptions sorted and joined by " AND "."""
    return " AND ".join(sorted(shorts)) if len(shorts) > 1 else (shorts[0] if shorts else "")


#: The observations are built positionally (keywords cost a tenth of the whole parse): the
#: fields passed, in order. `_check_field_order` compares them with base.py when this module is
#: imported, so a field reordered or inserted there fails at once, naming itself, instead of
#: shifting values into the wrong fields of every observation.
_ENTRY_FIELDS = ("entry_number", "date_filed", "short_description", "description",
                 "document_url", "pacer_doc_id", "pacer_seq_no", "published")
_CASE_FIELDS = ("court", "docket_number", "docket_number_raw", "case_name", "pacer_case_id",
                "cl_docket_id", "cause", "nature_of_suit", "date_filed", "date_terminated",
                "entries", "url")


def _check_field_order(cls: type, passed: tuple[str, ...]) -> None:
    """Raise TypeError when `cls` no longer starts with the fields `passed`, in that order."""
    declared = tuple(f.name for f in fields(cls))[:len(passed)]
    if declared != passed:
        raise TypeError(f"{cls.__name__} declares {declared}; the RSS parser passes {passed}")




@dataclass(slots=True)
class _Case:
    """A case being assembled from the items that name it."""

    court: str
    docket_number: str
    docket_number_raw: str
    case_name: str
    pacer_case_id: str
    url: str
    entries: dict[tuple[object, ...], EntryObservation] = field(default_factory=dict)
    #: the short descriptions of each entry, kept to merge later items of the same entry
    shorts: dict[tuple[object, ...], list[str]] = field(default_factory=dict)

    def observation(self) -> CaseObservation:
        # Positional, in the order `_CASE_FIELDS` names and the import-time check confirms.
        return CaseObservation(
            self.court,
            self.docket_number,
            self.docket_number_raw,
            self.case_name,
            self.pacer_case_id,
            None,  # cl_docket_id
            "",  # cause
            "",  # nature_of_suit
            None,  # date_filed (feeds do not say when a case was filed)
            None,  # date_terminated
            tuple(self.entries.values()),
            self.url,
        )


class _FeedBuilder:
    """Folds items into cases, and the items of one multi-event entry into one entry."""

    def __init__(self, default_court: str) -> None:
        self.default_court = default_court
        self._cases: dict[tuple[str, str, str], _Case] = {}

    def add(self, title: str, link: str, description: str, pub_date: str, guid: str) -> None:
        """Fold one item (its raw XML-decoded field texts) in."""
        case_type = ""
        if "Type:" in description[:16]:
            bk = _BANKRUPTCY_TYPE.match(description)
            case_type = bk[1].lower() if bk else ""
        raw, docket_number, case_name = _case_of_title(title, case_type)
        if not raw:
            return  # an item that names no case cannot be placed
        link = link.strip()
        link_court, case_id = _case_of_link(link)
        court = link_court or self.default_court
        doc = _document(description) if "</" in description else None
        # Defendants of one criminal case share its docket number but each has its own
        # pacer_case_id (and their own copy of a joint order): one observation per case id.
        case_id = case_id or (doc[4] if doc else "")
        key = (court, docket_number, case_id)
        case = self._cases.get(key)
        if case is None:
            case = self._cases[key] = _Case(court, docket_number, raw, case_name, case_id, link)
        elif not case.case_name:
            case.case_name = case_name

        zone_name, zone = _court_zone(court)
        published = parse_pub_date(pub_date, zone_name) if pub_date else None
        date_filed = published.astimezone(zone).date() if published else None
        shorts = _short_descriptions(description)
        if doc is not None:
            url, number, doc_id, seq, _ = doc
        else:
            url, number, doc_id, seq = "", None, "", None
        if seq is None and guid:
            # The guid of a district or bankruptcy item is DktRpt.pl?<case id>-<sequence no>.
            m = _GUID_SEQ.search(guid)
            seq = int(m[1]) if m else None
        entry_key = (published, number, doc_id, seq)
        entry = case.entries.get(entry_key)
        if entry is None:
            # Without a bracketed short text, the text itself is all there is to say.
            text = "" if shorts else _plain_text(description)
            # Positional, in the order `_ENTRY_FIELDS` names (see `_check_field_order`).
            case.entries[entry_key] = EntryObservation(
                number, date_filed, _joined(shorts), text, url, doc_id, seq, published
            )
            case.shorts[entry_key] = shorts
        else:  # another event of the same entry (rare)
            merged = case.shorts[entry_key]
            merged.extend(shorts)
            case.entries[entry_key] = replace(entry, short_description=_joined(merged))

    def cases(self) -> list[CaseObservation]:
        """The observations, cases in order of first appearance, entries in feed order."""
        return [c.observation() for c in self._cases.values()]
