"""A watched web page (or JSON answer): the text a CSS selector or a JSON path picks out.

Agency request trackers, FOIA portals and state-court case pages publish a status as plain text.
This source fetches the page (conditionally: ETag / Last-Modified), picks the watched part and
normalizes it, so that only a change of the words is a change:

1. pick: `selector` (CSS, BeautifulSoup `select` over lxml; every match, in document order) or
   `json_path` (jsonpath-ng with its filter extension; every match; objects and lists as sorted
   JSON). Exactly one of the two is configured.
2. text: inline markup (`<b>`, `<span>`, `<a>`...) adds nothing and block elements separate words,
   so re-styling a page gives the same text; `<script>`, `<style>`, `<template>` are dropped.
3. normalize: whitespace collapsed, then each `ignore` regex removed (timestamps, counters), then
   `capture` (group 1, or the whole match) keeps only the status.

A selector, JSON path or capture that matches nothing raises `ParseError`: a broken or moved page
must never look like a status change. Regexes take inline flags (`(?i)status: (\\w+)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from typing import Any, Self, cast

from pydantic import Field, model_validator

from monitor.errors import ParseError
from sources.base import (
    Fetched,
    Observation,
    PageObservation,
    Plan,
    Source,
    SourceOptions,
    Target,
    TargetState,
)
from sources.fetching import DEFAULT_MAX_BYTES, fetch_for

__all__ = ["WebPage", "charset_of", "check_regex", "check_selector", "compile_json_path",
           "element_text", "json_text", "normalize_text"]

#: elements that do not break a word: markup changes among them leave the text as it was
_INLINE_NAMES = (
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd label mark q s samp small span "
    "strike strong sub sup time tt u var wbr"
)
_INLINE = frozenset(_INLINE_NAMES.split())
_DROPPED = frozenset({"script", "style", "template", "noscript", "head"})
#: a block boundary on the walk's stack
_BREAK = object()


# ---------------------------------------------------------------------------- pure helpers


def element_text(element: Any) -> str:
    """The visible text of a BeautifulSoup element, block elements separated by a space."""
    from bs4 import Tag
    from bs4.element import NavigableString, PreformattedString

    parts: list[str] = []
    stack: list[Any] = [element]
    while stack:
        node = stack.pop()
        if node is _BREAK:
            parts.append(" ")
        elif isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, CDATA, doctype
                parts.append(str(node))
        elif isinstance(node, Tag) and node.name not in _DROPPED:
            block = node.name not in _INLINE
            stack.extend([_BREAK] if block else [])
            stack.extend(reversed(node.contents))
            stack.extend([_BREAK] if block else [])
    return "".join(parts)


def json_text(value: Any) -> str:
    """One JSON value as text: strings as they are, the rest as compact, key-sorted JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def normalize_text(
    text: str, ignore: Sequence[re.Pattern[str]] = (), capture: re.Pattern[str] | None = None
) -> str | None:
    """Collapse whitespace, remove `ignore` matches, apply `capture`; None if capture misses."""
    text = _collapse(text)
    for pattern in ignore:
        text = _collapse(pattern.sub("", text))
    if capture is None:
        return text
    match = capture.search(text)
    if match is None:
        return None
    return _collapse(match.group(1) if capture.groups else match.group(0))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def charset_of(headers: Mapping[str, str]) -> str | None:
    """The charset a Content-Type header names (None: none named)."""
    for name, value in headers.items():
        if name.lower() == "content-type":
            found = re.search(r"charset=[\"']?([\w.:-]+)", value, re.IGNORECASE)
            return found.group(1) if found else None
    return None


# ---------------------------------------------------------------------------- the source


class WebPage(Source):
    """The watched text of one page: one `PageObservation` per fetch."""

    kind = "web_page"

    class Options(SourceOptions):
        """Config keys of `kind = "web_page"` (empty string means unset)."""

        url: str
        selector: str = ""
        json_path: str = ""
        capture: str = ""
        ignore: list[str] = Field(default_factory=list)
        matter: str = ""
        max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)

        @model_validator(mode="after")
        def _check(self) -> Self:
            if not self.url:
                raise ValueError("url is required")
            if bool(self.selector) == bool(self.json_path):
                raise ValueError("set exactly one of selector and json_path")
            if self.selector:
                check_selector(self.selector)
            if self.json_path:
                compile_json_path(self.json_path)
            for pattern in [self.capture, *self.ignore]:
                check_regex(pattern)
            return self

    @property
    def _options(self) -> WebPage.Options:
        return cast(WebPage.Options, self.options)

    @cached_property
    def _ignore(self) -> list[re.Pattern[str]]:
        return [re.compile(pattern) for pattern in self._options.ignore if pattern]

    @cached_property
    def _capture(self) -> re.Pattern[str] | None:
        return re.compile(self._options.capture) if self._options.capture else None

    def targets(self, plan: Plan) -> list[Target]:
        """The one page."""
        return [Target(key="page", url=self._options.url)]

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """GET the page with If-None-Match / If-Modified-Since; a 304 is `not_modified`."""
        return fetch_for(self, target, state, max_bytes=self._options.max_bytes)

    def parse(self, fetched: Fetched) -> list[Observation]:
        """The watched text, normalized (nothing for a 304). Raises `ParseError` on no match."""
        if fetched.not_modified:
            return []
        url = fetched.target.url
        raw = self._pick(fetched)
        text = normalize_text(raw, self._ignore, self._capture)
        if text is None:
            raise self._error(f"capture {self._options.capture!r} matched nothing", url)
        return [PageObservation(url=url, text=text, matter=self._options.matter)]

    def _pick(self, fetched: Fetched) -> str:
        if self._options.selector:
            return self._select(fetched)
        return self._json(fetched)

    def _select(self, fetched: Fetched) -> str:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(fetched.content, "lxml", from_encoding=charset_of(fetched.headers))
        found = soup.select(self._options.selector)
        if not found:
            raise self._error(f"selector {self._options.selector!r} matched nothing", fetched)
        return " ".join(element_text(element) for element in found)

    def _json(self, fetched: Fetched) -> str:
        try:
            data = json.loads(fetched.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._error(f"not JSON: {exc}", fetched) from exc
        matches = compile_json_path(self._options.json_path).find(data)
        if not matches:
            raise self._error(f"json_path {self._options.json_path!r} matched nothing", fetched)
        return " ".join(_values_text(match.value for match in matches))

    def _error(self, message: str, where: Fetched | str) -> ParseError:
        url = where if isinstance(where, str) else where.target.url
        return ParseError(message, source=self.source_id, url=url)


def _values_text(values: Iterable[Any]) -> list[str]:
    return [json_text(value) for value in values]


def check_selector(selector: str) -> None:
    """Raise ValueError unless `selector` is a valid CSS selector."""
    import soupsieve

    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from exc


@lru_cache(maxsize=64)
def compile_json_path(path: str) -> Any:
    """The compiled jsonpath-ng expression (filters allowed); ValueError when invalid."""
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(path)
    except Exception as exc:  # jsonpath-ng raises bare Exception / JsonPathLexerError
        raise ValueError(f"invalid json_path {path!r}: {exc}") from exc


def check_regex(pattern: str) -> None:
    """Raise ValueError unless `pattern` is a valid Python regex."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
