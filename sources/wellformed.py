"""Repairs of XML that is not well-formed in the ways real feeds are not, before lxml reads it.

lxml's recovery mode does not recover from a bare `&` ("Memorandum & Order"): it drops the
ampersand and then every later entity reference of the document, so entry numbers and document
links (which sit in `&lt;a href=...&gt;`) vanish and text reads "amp; Order". Repairing the
bytes first makes a damaged feed parse exactly as its clean twin does, so an entry keeps one
identity whichever form arrives.

Pure functions over bytes (ASCII-compatible encodings: UTF-8, ISO-8859-1, cp1252).
"""

from __future__ import annotations

import codecs
import re
from html.entities import name2codepoint

__all__ = ["mend_utf8", "repair_ampersands"]

_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
#: an ampersand that is not one of XML's five references, and whatever reference it may start
_AMPERSAND = re.compile(
    rb"&(?!(?:amp|lt|gt|quot|apos);)"
    rb"(?:(#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};)|([A-Za-z][A-Za-z0-9]{0,31});)?")
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
#: a quick test: is there any ampersand that starts neither one of XML's five references nor a
#: short numeric one (feeds are full of `&lt;` and `&#x3C;`)?
_SUSPECT = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,5}|#x[0-9A-Fa-f]{1,4});)")


def repair_ampersands(content: bytes) -> bytes:
    """`content` with each `&` that starts no valid XML reference escaped as `&amp;`, and HTML
    named references (`&nbsp;`, `&sect;`), undefined in XML, turned into character references.
    CDATA sections are left as they are. Well-formed input comes back unchanged (same object).
    """
    if not _needs_repair(content):
        return content
    parts: list[bytes] = []
    last = 0
    for cdata in _CDATA.finditer(content):
        parts.append(_AMPERSAND.sub(_fix, content[last:cdata.start()]))
        parts.append(cdata[0])
        last = cdata.end()
    parts.append(_AMPERSAND.sub(_fix, content[last:]))
    repaired = b"".join(parts)
    return content if repaired == content else repaired


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""", re.I)
_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def _stray_byte_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    stray = error.object[error.start:error.start + 1]
    try:
        return stray.decode("cp1252"), error.start + 1
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return stray.decode("latin-1"), error.start + 1


codecs.register_error("court-monitor-cp1252", _stray_byte_as_cp1252)


def mend_utf8(content: bytes) -> bytes:
    """A document in UTF-8 (declared, or by default) with stray bytes that are not UTF-8 (a
    Latin-1 "é" pasted into a UTF-8 feed): each stray byte read as cp1252, the whole re-encoded
    as UTF-8; libxml2 would turn each into U+FFFD or stop. Anything else comes back unchanged
    (same object): valid UTF-8, other declared encodings, UTF-16/32 with a byte-order mark.
    """
    if content.isascii() or content.startswith(_BOMS):
        return content
    declared = _DECLARED.match(content)
    if declared and declared[1].lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return content
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("utf-8", errors="court-monitor-cp1252").encode("utf-8")
    return content


def _needs_repair(content: bytes) -> bool:
    """Whether any suspect ampersand lies outside a CDATA section (where `&` is plain text)."""
    for suspect in _SUSPECT.finditer(content):
        at = suspect.start()
        if content.rfind(b"<![CDATA[", 0, at) <= content.rfind(b"]]>", 0, at):
            return True
    return False


def _fix(match: re.Match[bytes]) -> bytes:
    numeric, name = match[1], match[2]
    if numeric is not None:
        digits = numeric[1:-1]
        codepoint = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
        return match[0] if _xml_char(codepoint) else b"&amp;" + numeric
    if name is None:
        return b"&amp;"  # a bare ampersand
    if name in _XML_ENTITIES:
        return match[0]
    html_char = name2codepoint.get(name.decode("ascii"))
    if html_char is not None:
        return b"&#%d;" % html_char
    return b"&amp;" + name + b";"


def _xml_char(codepoint: int) -> bool:
    """Whether XML 1.0 allows the character (a reference to any other is a fatal error)."""
    return (codepoint in (0x9, 0xA, 0xD) or 0x20 <= codepoint <= 0xD7FF
            or 0xE000 <= codepoint <= 0xFFFD or 0x10000 <= codepoint <= 0x10FFFF)
