"""The one home of text and link sanitizing, for what we parse and for what we render.

Docket text is written by strangers. What reaches a person (email, chat, Atom, iCalendar, the
console) is cleaned here:

- `clean_text`: control characters, lone surrogates and non-characters removed (XML and some
  mailers reject them), and the invisible characters that make text read other than it is:
  bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069: "Trojan Source") and zero-width
  characters (U+200B-U+200F, U+2060-U+2064, U+FEFF, ...). Newlines and tabs are kept.
- `safe_url`: a link is kept only when it is http(s) with a host (`javascript:`, `data:`,
  `file:` and friends become "").
- `cap_text`: long text cut at a word boundary with a note saying where to read the rest.

Pure functions; sources may use them (this module imports nothing from the project).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["ENTRY_TEXT_LIMIT", "cap_text", "clean_text", "safe_url"]

#: characters of an entry's text shown in an alert or a feed before the rest is left out
ENTRY_TEXT_LIMIT = 2000

_UNSAFE = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # C0 controls but tab, newline, carriage return; DEL
    "\x80-\x9f"  # C1 controls
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ud800-\udfff"  # lone surrogates
    "\ufeff"  # zero-width no-break space (BOM)
    "\ufff9-\ufffb"  # interlinear annotation
    "\ufffe\uffff"  # non-characters
    "]"
)


def clean_text(text: str) -> str:
    """`text` without control, bidi-override and zero-width characters (newlines kept)."""
    return _UNSAFE.sub("", text)


#: the common case, decided without urlsplit: printable ASCII after an http(s) scheme and host
_PLAIN_HTTP = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?\Z",
                         re.IGNORECASE)


def safe_url(url: str) -> str:
    """`url` when it is an http(s) link with a host and no space or control in it, else ""."""
    if _plain_http(url) or _PLAIN_HTTP.match(url):
        return url
    url = url.strip()
    if not url or any(ch.isspace() for ch in url) or _UNSAFE.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url


def _plain_http(url: str) -> bool:
    """The commonest case of `_PLAIN_HTTP` by str methods: `https://host/printable-ASCII`
    (True only where the regex matches; False leaves the rest to it)."""
    if url.startswith("https://"):
        rest = url[8:]
    elif url.startswith("http://"):
        rest = url[7:]
    else:
        return False
    host, slash, path = rest.partition("/")
    return (bool(host) and host.isascii() and host.replace(".", "a").replace("-", "a").isalnum()
            and path.isascii() and path.isprintable() and " " not in path)


def cap_text(text: str, limit: int, *, rest_at: str = "") -> str:
    """`text` when it has at most `limit` characters; else its start (cut at a word) and
    "… (truncated; full text in REST_AT)" — or "… (truncated)" without `rest_at`."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit // 2)
    if space > 0:
        cut = cut[:space]
    where = f"; full text in {rest_at}" if rest_at else ""
    return f"{cut.rstrip()}… (truncated{where})"
