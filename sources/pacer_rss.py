"""PACER CM/ECF RSS feeds: one feed per court, each item one docket event of one case.

An item's title holds the docket number and the case name; its description the short entry
text in brackets (bankruptcy feeds put `Type: bk Office: 1 Chapter: 7 Trustee: ...` first), and,
when the entry has a document, a link `(<a href='.../doc1/NNN?...'>12</a>)` whose text is the
entry number (appellate feeds link `/docs1/` ids, with the entry number or just "Document").
CM/ECF renders an entry with several events as several items with the same time, title and
link: those are merged into one entry whose short descriptions are sorted and joined by
" AND " (as juriscraper does).

Parsing is pure and fast: lxml in recover mode (PACER feeds are often not well-formed), with
entity expansion, network access and huge trees off, so entity bombs and XXE do nothing. Bare
ampersands ("Memorandum & Order"), which recover mode cannot mend, are repaired first
(`sources.wellformed`), so a damaged feed yields the same entries as its clean twin.

The general regexes define what is read. The shapes nearly every item has take shortcuts that
give exactly what those give: a title `1:25-cv-00612-ABJ Name` is split and its docket number
normalized in one match; a pubDate `Tue, 22 May 2018 22:10:04 GMT` is read by slices, its hour
(and the court's date for it) once per feed; a link `DktRpt.pl?123` is read by str methods.
Anything else goes to the regexes (tests/test_pacer_rss_paths.py parses the corpus and generated
feeds both ways and compares every field).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import MISSING, dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_tz
from functools import lru_cache
from typing import ClassVar
from zoneinfo import ZoneInfo

from lxml import etree
from pydantic import Field, field_validator, model_validator

from monitor.errors import ParseError
from sources import sanitize
from sources.base import (
    CaseGate,
    CaseObservation,
    EntryObservation,
    Fetched,
    Observation,
    Plan,
    Source,
    SourceOptions,
    Target,
    TargetState,
)
from sources.courts import COURTS, DEFAULT_RSS_COURTS, court_for_host, court_timezone
from sources.fetching import DEFAULT_MAX_BYTES, fetch_for
from sources.identity import normalize_docket_number, normalize_pacer_doc_id
from sources.wellformed import mend_utf8, repair_ampersands

__all__ = [
    "DEFAULT_URL_TEMPLATE",
    "PacerRss",
    "feed_text",
    "feed_url",
    "parse_feed",
    "parse_feed_gated",
    "parse_pub_date",
]

DEFAULT_URL_TEMPLATE = "https://ecf.{court}.uscourts.gov/cgi-bin/rss_outside.pl"

_ACCEPT = "application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


# ---------------------------------------------------------------------------- the source


class PacerRss(Source):
    """Polls the CM/ECF RSS feed of each configured court."""

    kind: ClassVar[str] = "pacer_rss"
    #: one feed per court, independent of one another; the tracked cases are not needed
    parallel_fetch: ClassVar[bool] = True
    parse_in_fetch: ClassVar[bool] = True
    reads_tracked: ClassVar[bool] = False

    class Options(SourceOptions):
        """Config keys of a `pacer_rss` source (the core handles id, interval, ... itself)."""

        courts: list[str] = Field(default_factory=lambda: list(DEFAULT_RSS_COURTS))
        url_template: str = DEFAULT_URL_TEMPLATE
        #: court id -> explicit feed URL; wins over the template and the court table
        feed_urls: dict[str, str] = Field(default_factory=dict)
        max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)

        @field_validator("courts")
        @classmethod
        def _court_ids(cls, courts: list[str]) -> list[str]:
            ids = [c.strip().lower() for c in courts]
            bad = [c for c in ids if not re.fullmatch(r"[a-z0-9]+", c)]
            if bad:
                raise ValueError(f"not court ids (CourtListener style, e.g. dcd): {bad}")
            return list(dict.fromkeys(ids))

        @field_validator("url_template")
        @classmethod
        def _template_has_court(cls, template: str) -> str:
            if "{court}" not in template:
                raise ValueError("url_template must contain {court}")
            return template

        @field_validator("feed_urls")
        @classmethod
        def _feed_url_keys(cls, feed_urls: dict[str, str]) -> dict[str, str]:
            return {k.strip().lower(): v.strip() for k, v in feed_urls.items()}

        @model_validator(mode="after")
        def _courts_with_feeds(self) -> PacerRss.Options:
            # Polling a court known to publish no feed only ever fails: say so at load time.
            dead = [
                c for c in self.courts
                if c in COURTS and COURTS[c].rss == "none" and c not in self.feed_urls
                and self.url_template == DEFAULT_URL_TEMPLATE
            ]
            if dead:
                raise ValueError(
                    f"the court table says {dead} publish no RSS feed; "
                    "remove them or give their URL in feed_urls"
                )
            return self

    options: PacerRss.Options

    def targets(self, plan: Plan) -> list[Target]:
        """One target per configured court: its feed, keyed by court id."""
        return [
            Target(key=court, url=feed_url(court, self.options), context={"court": court})
            for court in self.options.courts
        ]

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """Conditional GET of one court's feed (ETag / Last-Modified, size cap)."""
        return fetch_for(self, target, state, max_bytes=self.options.max_bytes,
                         headers={"Accept": _ACCEPT})

    def parse(self, fetched: Fetched) -> list[Observation]:
        """The cases (with their entries) of one fetched feed; nothing for a 304."""
        court = self._feed_court(fetched)
        if court is None:
            return []
        return list(
            parse_feed(fetched.content, court=court, source_id=self.source_id,
                       url=fetched.target.url)
        )

    def parse_gated(self, fetched: Fetched, gate: CaseGate) -> tuple[list[Observation], int]:
        """`parse`, building only the cases `gate` does not rule out (`parse_feed_gated`),
        and how many cases the whole feed has."""
        court = self._feed_court(fetched)
        if court is None:
            return [], 0
        cases, total = parse_feed_gated(fetched.content, gate, court=court,
                                        source_id=self.source_id, url=fetched.target.url)
        return list(cases), total

    def _feed_court(self, fetched: Fetched) -> str | None:
        """The court whose feed `fetched` is (None: a 304, nothing to parse); ParseError for
        an answer that is no feed."""
        if fetched.not_modified:
            return None
        if not 200 <= fetched.status < 300:
            raise ParseError(
                f"HTTP {fetched.status}: no feed to parse", source=self.source_id,
                url=fetched.target.url,
            )
        return str(fetched.target.context.get("court") or fetched.target.key)


def feed_url(court: str, options: PacerRss.Options) -> str:
    """A court's feed URL: `feed_urls`, else the table's URL for courts whose feed is not at
    the default path (appellate) while the template is the default, else the template."""
    explicit = options.feed_urls.get(court)
    if explicit:
        return explicit
    known = COURTS.get(court)
    if known is not None and options.url_template == DEFAULT_URL_TEMPLATE:
        return known.feed_url()
    return options.url_template.replace("{court}", court)


# ---------------------------------------------------------------------------- parsing


def parse_feed(
    content: bytes, *, court: str, source_id: str = "", url: str = ""
) -> list[CaseObservation]:
    """Parse one RSS feed into one `CaseObservation` per case, in order of first appearance.

    `court` is used when an item's link does not name its court. Raises `ParseError` for
    anything that is not a complete RSS document (an HTML error page, truncated XML, ...).
    """
    builder = _FeedBuilder(default_court=court)
    add = builder.add
    for item in _items(_channel(content, source_id=source_id, url=url)):
        add(*item)
    return builder.cases()


#: an item's raw field texts: title, link, description, pubDate, guid
_Item = tuple[str, str, str, str, str]


def _items(channel: etree._Element) -> Iterator[_Item]:
    """Each item's raw (XML-decoded) field texts, in feed order."""
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
        yield title, link, description, pub_date, guid


def parse_feed_gated(
    content: bytes, gate: CaseGate, *, court: str, source_id: str = "", url: str = ""
) -> tuple[list[CaseObservation], int]:
    """`parse_feed`, building only the cases `gate` does not rule out (the others cost their
    title, link and a look at their texts), and how many cases the whole feed has.

    A case is ruled out when the gate does not keep it outright (`CaseGate.keeps`), no
    item's case name may match and no watch's words can be in its entries' texts: those
    texts are made of the items' descriptions (entities decoded, markup and links replaced by
    spaces, spaces collapsed, short descriptions joined by " AND "), so a word some text holds
    has each of its space-separated parts (but a bare "AND") in some description, decoded. A
    description with control characters or outside ASCII is never ruled out (its decoding
    may drop or fold characters). The cases built are those `parse_feed` builds, in order.
    """
    items = list(_items(_channel(content, source_id=source_id, url=url)))
    cases: dict[_CaseKey, _Candidate] = {}
    item_cases: list[_Candidate | None] = []
    for title, link, description, _, _ in items:
        found = _item_case(title, link, description, court)
        if found is None:
            item_cases.append(None)
            continue
        _, docket_number, case_name, item_court, case_id, _ = found
        if not case_id and "</" in description:
            doc = _document(description)
            case_id = doc[4] if doc else ""
        key = (item_court, docket_number, case_id)
        candidate = cases.get(key)
        if candidate is None:
            candidate = cases[key] = _Candidate(item_court, docket_number)
        candidate.names.add(case_name)
        candidate.descriptions.append(description)
        item_cases.append(candidate)
    words = gate.text_words
    for candidate in cases.values():
        candidate.wanted = (
            gate.keeps(candidate.court, candidate.docket_number)
            or any(gate.name_may_match(name) for name in candidate.names if name)
            or _texts_may_hold(candidate.descriptions, words))
    builder = _FeedBuilder(default_court=court)
    for item, candidate in zip(items, item_cases, strict=True):
        if candidate is not None and candidate.wanted:
            builder.add(*item)
    return builder.cases(), len(cases)


class _Candidate:
    """A case of a gated parse, before it is built: what the gate is asked about."""

    __slots__ = ("court", "descriptions", "docket_number", "names", "wanted")

    def __init__(self, court: str, docket_number: str) -> None:
        self.court = court
        self.docket_number = docket_number
        self.names: set[str] = set()
        self.descriptions: list[str] = []
        self.wanted = True


def _texts_may_hold(descriptions: list[str],
                    words: tuple[tuple[str, ...], tuple[str, ...]] | None) -> bool:
    """Some entry text made of `descriptions` may hold one of `words` (see
    `parse_feed_gated`): False only when none can."""
    if words is None:
        return True
    test = _word_test(words)
    if test.always or not (test.exact or test.folded):
        return test.always
    decoded = []
    for description in descriptions:
        if "&" in description:
            description = html.unescape(description)
        if not description.isascii() or _HAS_CONTROL.search(description):
            return True
        decoded.append(description)
    text = "\n".join(decoded)
    if test.exact_any is not None and test.exact_any.search(text) and any(
            all(part in text for part in parts) for parts in test.exact):
        return True
    if test.folded_any is not None and test.folded_any.search(text):
        lowered = text.lower()
        return any(all(part in lowered for part in parts) for parts in test.folded)
    return False


@dataclass(frozen=True)
class _WordTest:
    """The words of a gate as the parts a text must hold (`_word_parts`), with one regex per
    kind finding the longest part of some word (most texts hold none: one scan in C)."""

    exact: tuple[tuple[str, ...], ...]
    folded: tuple[tuple[str, ...], ...]
    exact_any: re.Pattern[str] | None
    folded_any: re.Pattern[str] | None
    #: a word with no part left ("AND"): every text may hold it
    always: bool


@lru_cache(maxsize=16)
def _word_test(words: tuple[tuple[str, ...], tuple[str, ...]]) -> _WordTest:
    """The `_WordTest` of a gate's `(exact, folded)` words (a few gates a process: cached)."""
    exact = tuple(_word_parts(word, "AND") for word in words[0])
    folded = tuple(_word_parts(word, "and") for word in words[1])

    def any_of(parts: tuple[tuple[str, ...], ...], flags: int) -> re.Pattern[str] | None:
        longest = sorted({max(p, key=len) for p in parts if p}, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, longest)), flags) if longest else None

    # folded words are ASCII lower-cased, compared with ASCII texts: an ASCII-only
    # case-insensitive regex finds what `in text.lower()` finds
    return _WordTest(exact=exact, folded=folded, exact_any=any_of(exact, 0),
                     folded_any=any_of(folded, re.IGNORECASE | re.ASCII),
                     always=any(not p for p in (*exact, *folded)))


def _word_parts(word: str, joiner: str) -> tuple[str, ...]:
    """The space-separated parts of a word a text must hold, less the `joiner` of short
    descriptions (" AND " may have made it)."""
    return tuple(part for part in word.split() if part != joiner)


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
    text = feed_text(title)
    m = _COMMON_TITLE.match(text)
    if m:
        # What `_split_title` and `_docket_number` make of it, in one match (see below).
        office, year, typed, seq = m[1], m[2], m[3], m[4]
        typed = typed.lower() if typed else "ap" if case_type == "ap" else ""
        body = f"{year}-{typed}-{int(seq):05d}" if typed else f"{year}-{seq}"
        return text[:m.end(5)], f"{int(office)}:{body}" if office else body, m[6] or ""
    raw, case_name = _split_title(title)
    return raw, _docket_number(raw, case_type) if raw else "", case_name


#: A title whose docket number has the shape `normalize_docket_number` reads (`_DOCKET` of
#: sources.identity, in ASCII), and so also `_TITLE`'s (which allows 3-digit years, 5-letter
#: types and longer numbers): both then read the same office, year, type and number out of it
#: (each part ends where the next "-" is), and `_UNTYPED` gives an untyped one the `ap` type.
_COMMON_TITLE = re.compile(
    r"(?:([0-9]{1,2}):)?([0-9]{2}|[0-9]{4})-(?:([A-Za-z]{1,4})-)?([0-9]{1,6})"
    r"((?:-[A-Za-z0-9]+)*)(?: (.*))?\Z"
)


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
        # The common shape: one bracket group, nothing nested, no second group (no "[" after
        # it, or text other than spaces before the next one).
        after = description.find("[", end + 1)
        if after < 0 or description[end + 1 : after].strip():
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
    end = link.find("/", 8)
    host = _court_of_host(link if end < 0 else link[:end])
    after = link[link.find(".pl?") + 4:]
    if ".pl?" in link and after.isdigit() and after.isascii():
        return host, after  # `DktRpt.pl?123`: all digits after it, what `_LINK_CASE_ID` finds
    m = _LINK_CASE_ID.search(link)
    return host, m[1] if m else ""


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
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # no such day or time; before year 1 or after 9999
        return None


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
    try:
        if parsed[9] is None:
            return naive.replace(tzinfo=_zone(local_zone)).astimezone(UTC)
        return naive.replace(tzinfo=UTC) - timedelta(seconds=parsed[9])
    except OverflowError:
        return None


# -- dates, fast


#: two ASCII digits -> their value (a pubDate's minutes and seconds, read without int())
_TWO_DIGITS = {f"{n:02d}": n for n in range(100)}


@dataclass(frozen=True, slots=True)
class _Hour:
    """One hour of one feed's pubDates in the common shape (`Tue, 22 May 2018 22:...:.. GMT`):
    its start in UTC, and the court's date for the whole hour when it is the same throughout."""

    start: datetime
    local_date: date | None


def _hour_of(text: str, zone: ZoneInfo) -> _Hour | None:
    """The `_Hour` of a pubDate whose day, hour and zone are in the common shape, exactly as
    `parse_pub_date` reads them; None for any other text (the regex path decides those)."""
    prefix, zone_name = text[:19], text[26:]
    offset = _OFFSETS.get(zone_name)
    if (offset is None or text[25:26] != " " or not prefix.isascii()
            or prefix[3:5] != ", " or prefix[7] != " " or prefix[11] != " " or prefix[16] != " "
            or not prefix[:3].isalpha() or not prefix[8:11].isalpha()):
        return None
    day, year, hour = prefix[5:7], prefix[12:16], prefix[17:19]
    month = _MONTHS.get(prefix[8:11].lower())
    if month is None or not (day.isdigit() and year.isdigit() and hour.isdigit()):
        return None
    try:
        # Every zone of `_OFFSETS` is whole hours off UTC: the hour starts on an hour in UTC.
        start = datetime(int(year), month, int(day), int(hour), 0, 0, 0, UTC) - offset
        first = start.astimezone(zone)
        last = (start + _LAST_SECOND).astimezone(zone)
    except (ValueError, OverflowError):
        return None
    # The court's offset the same at both ends of the hour: no change of offset within it (no
    # zone changes twice within an hour: tests/test_pacer_rss_paths.py checks the tz database),
    # so the date is the same throughout when it is at both ends.
    same = first.utcoffset() == last.utcoffset() and first.date() == last.date()
    return _Hour(start, first.date() if same else None)


_LAST_SECOND = timedelta(minutes=59, seconds=59, microseconds=999999)
#: each second of an hour as a timedelta (adding one is much cheaper than `datetime.replace`)
_SECONDS = [timedelta(seconds=n) for n in range(3600)]


# -- assembling


def _joined(shorts: list[str]) -> str:
    """Several events of one entry: their short descriptions sorted and joined by " AND "."""
    return " AND ".join(sorted(shorts)) if len(shorts) > 1 else (shorts[0] if shorts else "")


#: The observations are built without their dataclass `__init__` (which sets each field of a
#: frozen dataclass through `object.__setattr__`: a fifth of the whole parse), as the dict
#: `__init__` would have made. The fields set, in order, are checked against base.py when this
#: module is imported, so a field renamed, reordered or inserted there fails at once, naming
#: itself; fields added after these, with a plain default, take their default.
_ENTRY_FIELDS = ("entry_number", "date_filed", "short_description", "description",
                 "document_url", "pacer_doc_id", "pacer_seq_no", "published")
_CASE_FIELDS = ("court", "docket_number", "docket_number_raw", "case_name", "pacer_case_id",
                "cl_docket_id", "cause", "nature_of_suit", "date_filed", "date_terminated",
                "entries", "url")


def _defaults_after(cls: type, passed: tuple[str, ...]) -> dict[str, object]:
    """The default of each field of `cls` after the fields `passed`; TypeError when `cls` no
    longer starts with `passed`, in that order, or cannot be built without its `__init__`."""
    declared = fields(cls)
    names = tuple(f.name for f in declared)[:len(passed)]
    if names != passed:
        raise TypeError(f"{cls.__name__} declares {names}; the RSS parser passes {passed}")
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} needs its __init__; the RSS parser bypasses it")
    defaults: dict[str, object] = {}
    for f in declared[len(passed):]:
        if f.default is MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} has no plain default")
        defaults[f.name] = f.default
    return defaults


_ENTRY_DEFAULTS = _defaults_after(EntryObservation, _ENTRY_FIELDS)
_CASE_DEFAULTS = _defaults_after(CaseObservation, _CASE_FIELDS)
_new = object.__new__
_set = object.__setattr__


def _entry(
    entry_number: int | None, date_filed: date | None, short_description: str,
    description: str, document_url: str, pacer_doc_id: str, pacer_seq_no: int | None,
    published: datetime | None,
) -> EntryObservation:
    """`EntryObservation(...)` of these fields, built without its `__init__` (see above)."""
    entry: EntryObservation = _new(EntryObservation)
    _set(entry, "__dict__", {
        "entry_number": entry_number, "date_filed": date_filed,
        "short_description": short_description, "description": description,
        "document_url": document_url, "pacer_doc_id": pacer_doc_id,
        "pacer_seq_no": pacer_seq_no, "published": published, **_ENTRY_DEFAULTS,
    })
    return entry


def _item_case(title: str, link: str, description: str, default_court: str
               ) -> tuple[str, str, str, str, str, str] | None:
    """(raw docket number, docket number, case name, court, pacer_case_id of the link, the link
    stripped) of an item; None when its title names no case. The case id of an item whose
    link names none is its document link's (`_document`), found by the caller."""
    case_type = ""
    if "Type:" in description[:16]:
        bk = _BANKRUPTCY_TYPE.match(description)
        case_type = bk[1].lower() if bk else ""
    raw, docket_number, case_name = _case_of_title(title, case_type)
    if not raw:
        return None
    link = link.strip()
    link_court, case_id = _case_of_link(link)
    return raw, docket_number, case_name, link_court or default_court, case_id, link


class _Case:
    """A case being assembled from the items that name it."""

    __slots__ = ("case_id", "case_name", "court", "docket_number", "docket_number_raw",
                 "entries", "url")

    def __init__(self, court: str, docket_number: str, docket_number_raw: str, case_name: str,
                 case_id: str, url: str) -> None:
        self.court = court
        self.docket_number = docket_number
        self.docket_number_raw = docket_number_raw
        self.case_name = case_name
        self.case_id = case_id
        self.url = url
        self.entries: list[EntryObservation] = []

    def observation(self) -> CaseObservation:
        """`CaseObservation(...)` of the case, built without its `__init__` (see above)."""
        case: CaseObservation = _new(CaseObservation)
        _set(case, "__dict__", {
            "court": self.court, "docket_number": self.docket_number,
            "docket_number_raw": self.docket_number_raw, "case_name": self.case_name,
            "pacer_case_id": self.case_id, "cl_docket_id": None, "cause": "",
            "nature_of_suit": "",
            "date_filed": None,  # feeds do not say when a case was filed
            "date_terminated": None, "entries": tuple(self.entries), "url": self.url,
            **_CASE_DEFAULTS,
        })
        return case


#: (court, docket number, pacer_case_id): one case of a feed
_CaseKey = tuple[str, str, str]
#: the case's key, then (published, entry number, pacer_doc_id, sequence number): one entry
_EntryKey = tuple[str, str, str, datetime | None, int | None, str, int | None]


class _FeedBuilder:
    """Folds items into cases, and the items of one multi-event entry into one entry.

    Few objects are kept per item (the entry and its key): every object kept alive while a
    feed is read is work for the garbage collector, which was a sixth of the parse.
    """

    def __init__(self, default_court: str) -> None:
        self.default_court = default_court
        self._cases: dict[_CaseKey, _Case] = {}
        self._entries: dict[_EntryKey, EntryObservation] = {}
        #: the description of each entry's first item (to merge a later one)
        self._descriptions: dict[_EntryKey, str] = {}
        #: the short descriptions of each entry that several items made (rare)
        self._merged: dict[_EntryKey, list[str]] = {}
        #: (day and hour, zone, court) of a pubDate -> its `_Hour` (None: not the common shape)
        self._hours: dict[tuple[str, str, str], _Hour | None] = {}

    def add(self, title: str, link: str, description: str, pub_date: str, guid: str) -> None:
        """Fold one item (its raw XML-decoded field texts) in."""
        found = _item_case(title, link, description, self.default_court)
        if found is None:
            return  # an item that names no case cannot be placed
        raw, docket_number, case_name, court, case_id, link = found
        doc = _document(description) if "</" in description else None
        # Defendants of one criminal case share its docket number but each has its own
        # pacer_case_id (and their own copy of a joint order): one observation per case id.
        case_id = case_id or (doc[4] if doc else "")
        case = self._cases.get((court, docket_number, case_id))
        if case is None:
            case = self._cases[(court, docket_number, case_id)] = _Case(
                court, docket_number, raw, case_name, case_id, link)
        elif not case.case_name:
            case.case_name = case_name

        published, date_filed = self._dates(pub_date, court) if pub_date else (None, None)
        if doc is not None:
            url, number, doc_id, seq, _ = doc
        else:
            url, number, doc_id, seq = "", None, "", None
        if seq is None and guid:
            # The guid of a district or bankruptcy item is DktRpt.pl?<case id>-<sequence no>.
            m = _GUID_SEQ.search(guid)
            seq = int(m[1]) if m else None
        entry_key = (court, docket_number, case_id, published, number, doc_id, seq)
        known = self._entries.get(entry_key)
        if known is None:
            shorts = _short_descriptions(description)
            # Without a bracketed short text, the text itself is all there is to say.
            text = "" if shorts else _plain_text(description)
            entry = _entry(number, date_filed, _joined(shorts), text, url, doc_id, seq, published)
            case.entries.append(entry)
            self._entries[entry_key] = entry
            self._descriptions[entry_key] = description
        else:  # another event of the same entry (rare)
            entry = known
            merged = self._merged.get(entry_key)
            if merged is None:
                merged = self._merged[entry_key] = _short_descriptions(
                    self._descriptions[entry_key])
            merged.extend(_short_descriptions(description))
            changed = replace(entry, short_description=_joined(merged))
            # `is`, not ==: an entry equal to this one has its key, so it is this one
            at = next(i for i, e in enumerate(case.entries) if e is entry)
            case.entries[at] = changed
            self._entries[entry_key] = changed

    def _dates(self, text: str, court: str) -> tuple[datetime | None, date | None]:
        """(published in UTC, date filed in the court's zone) of a pubDate. The common shape
        is read by slices, its hour once per feed; any other text by `parse_pub_date`."""
        hour_key = (text[:19], text[25:], court)
        hours = self._hours
        if hour_key in hours:
            hour = hours[hour_key]
        else:
            hour = hours[hour_key] = _hour_of(text, _court_zone(court)[1])
        if hour is not None:
            minute, second = _TWO_DIGITS.get(text[20:22]), _TWO_DIGITS.get(text[23:25])
            if (minute is not None and second is not None and minute < 60 and second < 60
                    and text[19] == ":" and text[22] == ":"):
                at = hour.start + _SECONDS[minute * 60 + second]
                local_date = hour.local_date
                return at, (local_date if local_date is not None
                            else at.astimezone(_court_zone(court)[1]).date())
        zone_name, zone = _court_zone(court)
        published = parse_pub_date(text, zone_name)
        if published is None:
            return None, None
        try:
            return published, published.astimezone(zone).date()
        except OverflowError:  # a time the court's zone cannot show (year 1 or 9999)
            return None, None

    def cases(self) -> list[CaseObservation]:
        """The observations, cases in order of first appearance, entries in feed order."""
        return [c.observation() for c in self._cases.values()]
