"""A list watched row by row: an HTML table or list, a JSON answer, or an RSS/Atom feed.

State-court case searches, DHS OIG's and CRCL's lists of reports, ICE's news releases: each is a
list of items. This source reads every row of the list (following a next-page link up to a cap),
picks each row's fields, filters the rows by regex, and hands the store a `ListSnapshot`; the
store (`monitor.list_store`) turns the differences into `item.added`, `item.changed` and, once a
later fetch confirms an absence, `item.removed`.

- `format = "html"`: `rows` is a CSS selector (BeautifulSoup `select` over lxml); each field is
  `"css"` (the text of the first match inside the row), `"css@attr"` (an attribute: `a@href`),
  `"@attr"` (an attribute of the row itself) or `""` (the row's text). `href`/`src` values are
  resolved against the page URL. `next` is a CSS selector of the next-page link (`a[rel=next]`,
  its `href` unless `@attr` says otherwise).
- `format = "json"`: `rows` is a JSON path (jsonpath-ng) to the list (or to each row); fields are
  JSON paths relative to a row (`title`, `links.self`); `next` a JSON path to the next URL.
- `format = "feed"`: RSS 2.0 / RSS 1.0 / Atom items, with the fields `title`, `link`, `id`,
  `published` and `summary` (markup stripped); the next page is Atom's `link rel="next"`.

A row's key is the field named by `key`, else its link, else a hash of its fields. A page whose
rows cannot be found (a 200 maintenance page, a moved layout, not JSON, not a feed) raises
`ParseError`, counted by the core's failure reporting: a broken page never looks like a list
that emptied. A search that can legitimately find nothing says so in its own words: `empty_ok`
is a regex over the page text that makes "no rows" an empty list instead of an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Self, cast
from urllib.parse import urljoin

from lxml import etree
from pydantic import Field, model_validator

from monitor.errors import ParseError
from sources.base import (
    Fetched,
    ListItem,
    ListRules,
    ListSnapshot,
    Observation,
    Plan,
    Source,
    SourceOptions,
    Target,
    TargetState,
)
from sources.fetching import DEFAULT_MAX_BYTES, conditional_get
from sources.web_page import (
    charset_of,
    check_regex,
    check_selector,
    compile_json_path,
    element_text,
    json_text,
)
from sources.wellformed import mend_utf8, repair_ampersands

__all__ = ["ListPage", "FieldSpec", "item_key", "keep_row", "pack_pages", "unpack_pages"]

#: the first bytes of a `Fetched` that holds several pages (see `pack_pages`)
_PAGES_MAGIC = b"court-monitor/list-pages\n"
_FEED_FIELDS = ("title", "link", "id", "published", "summary")
_LINK_ATTRS = frozenset({"href", "src"})
_ATTR = re.compile(r"^(.*?)@([A-Za-z_:][-\w:.]*)$")


# ---------------------------------------------------------------------------- pure helpers


@dataclass(frozen=True)
class FieldSpec:
    """An HTML field: a CSS selector inside the row ("" is the row) and an attribute ("" text)."""

    selector: str
    attribute: str = ""

    @classmethod
    def parse(cls, spec: str) -> FieldSpec:
        """`"a@href"` -> (`a`, `href`); `"@data-id"` -> (row, `data-id`); `"td.title"` -> text."""
        found = _ATTR.match(spec.strip())
        if found is None:
            return cls(spec.strip())
        return cls(found.group(1).strip(), found.group(2))


@dataclass(frozen=True)
class Page:
    """One fetched page of a list: its URL, bytes and content type."""

    url: str
    content: bytes
    content_type: str = ""


def pack_pages(pages: Sequence[Page]) -> bytes:
    """Several pages as one response body (`unpack_pages` reads it back); one page as itself."""
    if len(pages) == 1:
        return pages[0].content
    return _PAGES_MAGIC + json.dumps([
        {"url": p.url, "type": p.content_type, "body": base64.b64encode(p.content).decode()}
        for p in pages]).encode()


def unpack_pages(fetched: Fetched) -> list[Page]:
    """The pages in a response body (a plain body is one page: the target's)."""
    if not fetched.content.startswith(_PAGES_MAGIC):
        content_type = next((v for k, v in fetched.headers.items()
                             if k.lower() == "content-type"), "")
        return [Page(fetched.target.url, fetched.content, content_type)]
    raw = json.loads(fetched.content[len(_PAGES_MAGIC):])
    return [Page(str(p["url"]), base64.b64decode(p["body"]), str(p.get("type", "")))
            for p in raw]


def _collapse(text: str) -> str:
    return " ".join(text.split())


def item_key(fields: Mapping[str, str], key_field: str, link: str) -> str:
    """A row's key: its `key_field`, else its link, else a hash of its fields ("" when empty)."""
    if key_field:
        return fields.get(key_field, "")
    if link:
        return link
    if not any(fields.values()):
        return ""
    digest = hashlib.sha256(json.dumps(sorted(fields.items())).encode()).hexdigest()[:20]
    return f"h:{digest}"


def keep_row(fields: Mapping[str, str], include: Sequence[re.Pattern[str]],
             exclude: Sequence[re.Pattern[str]], only: Sequence[str] = ()) -> bool:
    """Whether a row passes the filters: any `include` regex (when there are some) and no
    `exclude` regex finds a match in the fields named by `only` (all fields when empty)."""
    values = [v for k, v in fields.items() if not only or k in only]
    if include and not any(p.search(v) for p in include for v in values):
        return False
    return not any(p.search(v) for p in exclude for v in values)


def _html_rows(page: Page, rows: str, fields: Mapping[str, FieldSpec]
               ) -> tuple[list[dict[str, str]], str]:
    """Each row's fields, and the page text (for `empty_ok`)."""
    from bs4 import BeautifulSoup

    headers = {"content-type": page.content_type} if page.content_type else {}
    soup = BeautifulSoup(page.content, "lxml", from_encoding=charset_of(headers))
    found = []
    for row in soup.select(rows):
        values: dict[str, str] = {}
        for name, spec in fields.items():
            element = row.select_one(spec.selector) if spec.selector else row
            values[name] = _html_value(element, spec.attribute, page.url)
        found.append(values)
    return found, _collapse(element_text(soup))


def _html_value(element: Any, attribute: str, base: str) -> str:
    if element is None:
        return ""
    if not attribute:
        return _collapse(element_text(element))
    value = element.get(attribute)
    text = _collapse(" ".join(value) if isinstance(value, list) else str(value or ""))
    return urljoin(base, text) if text and attribute.lower() in _LINK_ATTRS else text


def _html_next(page: Page, spec: FieldSpec) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.content, "lxml")
    element = soup.select_one(spec.selector) if spec.selector else None
    return _html_value(element, spec.attribute or "href", page.url) if element else ""


def _json_document(page: Page) -> Any:
    try:
        return json.loads(page.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc


def _json_rows(page: Page, rows: str, fields: Mapping[str, str]) -> list[dict[str, str]]:
    matches = compile_json_path(rows).find(_json_document(page))
    if not matches:
        raise ValueError(f"rows {rows!r} matched nothing")
    found: list[Any] = []
    for match in matches:
        found.extend(match.value if isinstance(match.value, list) else [match.value])
    out = []
    for row in found:
        out.append({name: _collapse(" ".join(json_text(m.value) for m in
                                             compile_json_path(path).find(row)))
                    for name, path in fields.items()})
    return out


def _json_next(page: Page, path: str) -> str:
    matches = compile_json_path(path).find(_json_document(page))
    value = matches[0].value if matches else None
    return urljoin(page.url, value) if isinstance(value, str) and value else ""


def _feed_root(page: Page) -> etree._Element:
    # Strict after the usual repairs (a bare "&", broken UTF-8): a feed cut short must fail,
    # not come back as a shorter list.
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True,
                             huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(repair_ampersands(mend_utf8(page.content)), parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not a well-formed feed: {exc}") from exc
    if root is None or etree.QName(root).localname not in ("rss", "RDF", "feed"):
        raise ValueError("not an RSS or Atom feed")
    return root


def _local(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)
            and etree.QName(child).localname == name]


def _child_text(element: etree._Element, *names: str) -> str:
    for name in names:
        for child in _local(element, name):
            text = "".join(child.itertext())
            if text.strip():
                return _collapse(text)
    return ""


def _feed_link(element: etree._Element, rel: str = "alternate") -> str:
    for link in _local(element, "link"):
        href = link.get("href")
        if href is None:
            if rel == "alternate" and (link.text or "").strip():
                return (link.text or "").strip()  # RSS: <link>URL</link>
            continue
        if link.get("rel", "alternate") == rel:
            return str(href).strip()
    return ""


def _markup_text(text: str) -> str:
    from bs4 import BeautifulSoup

    if "<" not in text:
        return _collapse(text)
    return _collapse(element_text(BeautifulSoup(text, "lxml")))


def _feed_rows(page: Page) -> list[dict[str, str]]:
    root = _feed_root(page)
    items = [e for e in root.iter() if isinstance(e.tag, str)
             and etree.QName(e).localname in ("item", "entry")]
    out = []
    for item in items:
        link = _feed_link(item)
        out.append({
            "title": _markup_text(_child_text(item, "title")),
            "link": urljoin(page.url, link) if link else "",
            "id": _child_text(item, "guid", "id"),
            "published": _child_text(item, "pubDate", "published", "date", "updated"),
            "summary": _markup_text(_child_text(item, "description", "summary", "content")),
        })
    return out


def _feed_next(page: Page) -> str:
    root = _feed_root(page)
    channel = next(iter(_local(root, "channel")), root)
    link = _feed_link(channel, "next")
    return urljoin(page.url, link) if link else ""


# ---------------------------------------------------------------------------- the source


class ListPage(Source):
    """A list watched row by row: one `ListSnapshot` per fetch (every page followed)."""

    kind = "list_page"
    skip_unchanged = True
    reads_tracked = False

    class Options(SourceOptions):
        """Config keys of `kind = "list_page"` (empty string means unset)."""

        url: str
        format: Literal["html", "json", "feed"] = "html"
        #: html: CSS selector of the rows; json: JSON path to the list; feed: unused
        rows: str = ""
        #: field name -> html: `css`, `css@attr`, `@attr`, `""`; json: a JSON path in the row
        fields: dict[str, str] = Field(default_factory=dict)
        #: the field that identifies a row ("": its link, else a hash of its fields)
        key: str = ""
        #: the field holding the row's link ("": a field named `link`, when there is one)
        link: str = ""
        include: list[str] = Field(default_factory=list)
        exclude: list[str] = Field(default_factory=list)
        #: fields the filters look at (empty: all)
        filter_fields: list[str] = Field(default_factory=list)
        #: html: CSS selector of the next-page link (`@attr`, default href); json: JSON path
        next: str = ""
        max_pages: int = Field(default=5, ge=1, le=100)
        #: regex over the page text: no rows here is an empty list, not a broken page
        empty_ok: str = ""
        title: str = ""
        watch: str = ""
        tags: list[str] = Field(default_factory=list)
        confirm_absences: int = Field(default=2, ge=1)
        max_loss: float = Field(default=0.5, gt=0, le=1)
        min_rows: int = Field(default=1, ge=0)
        removals: bool = True
        max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)

        @model_validator(mode="after")
        def _check(self) -> Self:
            if not self.url:
                raise ValueError("url is required")
            if self.format == "feed":
                if self.rows or self.fields:
                    raise ValueError("format = \"feed\" takes no rows or fields (its fields are "
                                     + ", ".join(_FEED_FIELDS) + ")")
            elif not self.rows or not self.fields:
                raise ValueError(f"format = \"{self.format}\" needs rows and fields")
            if self.format == "html":
                check_selector(self.rows)
                for spec in [*self.fields.values(), self.next]:
                    selector = FieldSpec.parse(spec).selector
                    if selector:
                        check_selector(selector)
            if self.format == "json":
                if not all(self.fields.values()):
                    raise ValueError("a JSON field needs a path (\"title\", \"links.self\")")
                for path in [self.rows, *self.fields.values(), self.next]:
                    if path:
                        compile_json_path(path)
            names = set(_FEED_FIELDS) if self.format == "feed" else set(self.fields)
            for option in ("key", "link"):
                value = getattr(self, option)
                if value and value not in names:
                    raise ValueError(f"{option} = {value!r} is not a field ({sorted(names)})")
            for pattern in [*self.include, *self.exclude, self.empty_ok]:
                check_regex(pattern)
            return self

    @property
    def _options(self) -> ListPage.Options:
        return cast(ListPage.Options, self.options)

    @cached_property
    def _rules(self) -> ListRules:
        o = self._options
        return ListRules(confirm_absences=o.confirm_absences, max_loss=o.max_loss,
                         min_rows=o.min_rows, removals=o.removals)

    def targets(self, plan: Plan) -> list[Target]:
        """The list (its first page)."""
        return [Target(key="list", url=self._options.url)]

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """GET the first page (conditionally when it is the only one), then each next page up
        to `max_pages`; several pages come back packed in one body (`pack_pages`)."""
        o = self._options
        first = conditional_get(self.client, target, state if o.max_pages == 1 else TargetState(),
                                source_id=self.source_id, clock=self.clock,
                                max_bytes=o.max_bytes)
        if first.not_modified:
            return first
        pages = [_page(first)]
        seen = {target.url}
        more = self._next_url(pages[-1])
        while more and more not in seen and len(pages) < o.max_pages:
            seen.add(more)
            fetched = conditional_get(self.client, Target(key=target.key, url=more),
                                      TargetState(), source_id=self.source_id,
                                      clock=self.clock, max_bytes=o.max_bytes)
            pages.append(_page(fetched))
            more = self._next_url(pages[-1])
        headers = dict(first.headers)
        if more and more not in seen:
            headers["x-list-truncated"] = more
        if len(pages) > 1:  # the validators of page 1 do not vouch for the others
            headers = {k: v for k, v in headers.items()
                       if k.lower() not in ("etag", "last-modified")}
        return Fetched(target=target, content=pack_pages(pages), status=first.status,
                       headers=headers, fetched_at=first.fetched_at)

    def _next_url(self, page: Page) -> str:
        o = self._options
        if o.max_pages == 1:
            return ""
        try:
            if o.format == "feed":
                return _feed_next(page)
            if not o.next:
                return ""
            if o.format == "json":
                return _json_next(page, o.next)
            return _html_next(page, FieldSpec.parse(o.next))
        except ValueError:
            return ""  # the page itself is broken: `parse` says so

    def parse(self, fetched: Fetched) -> list[Observation]:
        """The list as one `ListSnapshot` (nothing for a 304). Raises `ParseError` when a page
        has no rows (unless `empty_ok` matches it) or is not what `format` says."""
        if fetched.not_modified:
            return []
        o = self._options
        rows: list[dict[str, str]] = []
        for page in unpack_pages(fetched):
            rows += self._page_rows(page)
        items: dict[str, ListItem] = {}
        for fields in rows:
            item = self._item(fields)
            if item is not None and item.key not in items:
                items[item.key] = item
        truncated = any(k.lower() == "x-list-truncated" for k in fetched.headers)
        return [ListSnapshot(
            url=fetched.target.url, items=tuple(items.values()), total_rows=len(rows),
            complete=not truncated, title=o.title, watch=o.watch, tags=tuple(o.tags),
            rules=self._rules)]

    def _page_rows(self, page: Page) -> list[dict[str, str]]:
        o = self._options
        text = ""
        try:
            if o.format == "html":
                specs = {name: FieldSpec.parse(spec) for name, spec in o.fields.items()}
                rows, text = _html_rows(page, o.rows, specs)
            elif o.format == "json":
                rows = _json_rows(page, o.rows, o.fields)
            else:
                rows = _feed_rows(page)
        except ValueError as exc:
            raise ParseError(str(exc), source=self.source_id, url=page.url) from exc
        if not rows and not (o.empty_ok and re.search(o.empty_ok, text or _page_text(page))):
            what = f"rows {o.rows!r}" if o.rows else "the feed"
            raise ParseError(f"{what} matched nothing (a broken or moved page?)",
                             source=self.source_id, url=page.url)
        link = self._link_field
        if link:  # a relative link (JSON's "/opinion/1/x/") is resolved against its page
            rows = [{**r, link: urljoin(page.url, r[link])} if r.get(link) else r for r in rows]
        return rows

    @cached_property
    def _link_field(self) -> str:
        o = self._options
        if o.link:
            return o.link
        return "link" if o.format == "feed" or "link" in o.fields else ""

    def _item(self, fields: dict[str, str]) -> ListItem | None:
        o = self._options
        if not keep_row(fields, self._include, self._exclude, o.filter_fields):
            return None
        link = fields.get(self._link_field, "") if self._link_field else ""
        key_field = o.key or ("id" if o.format == "feed" and fields.get("id") else "")
        key = item_key(fields, key_field, link)
        return ListItem(key=key, fields=fields, link=link) if key else None

    @cached_property
    def _include(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self._options.include if p]

    @cached_property
    def _exclude(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self._options.exclude if p]


def _page(fetched: Fetched) -> Page:
    content_type = next((v for k, v in fetched.headers.items() if k.lower() == "content-type"), "")
    return Page(fetched.target.url, fetched.content, content_type)


def _page_text(page: Page) -> str:
    return _collapse(page.content.decode("utf-8", "replace"))
