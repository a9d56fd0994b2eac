"""Identity helpers shared by sources and the core: docket numbers and PACER document ids.

Rules (contracts.md, "Identity and normalization"):
- the office prefix (`1:`) is kept as displayed but compared without it (`docket_key`);
- judge initials and a criminal defendant suffix are stripped;
- a typed district sequence is zero-padded to 5 (`25-cv-1234` -> `25-cv-01234`);
- appellate (`23-1104`) and untyped bankruptcy numbers keep their digits;
- the case type is kept (`ap` for an adversary proceeding never collides with the main case);
- PACER document ids compare with their fourth digit set to 0.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from functools import lru_cache

__all__ = [
    "docket_key",
    "entry_fingerprint",
    "is_docket_number",
    "normalize_docket_number",
    "normalize_pacer_doc_id",
    "parse_tracked_docket",
]

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
    """Return the normalized docket number (office kept), or the stripped raw text if unknown."""
    plain = _normalize_plain(raw)
    if plain:
        return plain
    m = _DOCKET.match(raw)
    if not m:
        return " ".join(raw.split())
    year, case_type, seq = m["year"], (m["type"] or "").lower(), m["seq"]
    body = f"{year}-{case_type}-{int(seq):05d}" if case_type else f"{year}-{seq}"
    return f"{int(m['office'])}:{body}" if m["office"] else body


def _normalize_plain(raw: str) -> str:
    """`normalize_docket_number` of the common shapes (ASCII, no spaces: `1:25-cv-00612-ABJ`,
    `16-10992-smb`, `23-1104`) by str methods, exactly as `_DOCKET` reads them; "" for any
    other text, which the regex decides."""
    if not raw.isascii() or not raw.isprintable() or " " in raw:
        return ""
    office, colon, number = raw.partition(":")
    if colon:
        if not (0 < len(office) <= 2 and office.isdigit()):
            return ""
        office = f"{int(office)}:"
    else:
        office, number = "", raw
    parts = number.split("-")
    if len(parts) < 2:
        return ""
    year, second = parts[0], parts[1]
    if len(year) not in (2, 4) or not year.isdigit():
        return ""
    if second.isdigit():
        case_type, seq, rest = "", second, parts[2:]
    elif len(parts) > 2 and len(second) <= 4 and second.isalpha():
        case_type, seq, rest = second.lower(), parts[2], parts[3:]
    else:
        return ""
    if not (0 < len(seq) <= 6 and seq.isdigit()):
        return ""
    # after the sequence number: "-" and then only word characters and dashes
    for part in rest:
        if part and not part.replace("_", "a").isalnum():
            return ""
    body = f"{year}-{case_type}-{int(seq):05d}" if case_type else f"{year}-{seq}"
    return office + body


@lru_cache(maxsize=65536)
def docket_key(docket_number: str) -> str:
    """The comparison form of a (normalized or raw) docket number: no office prefix (memoized:
    the same numbers come back in every poll)."""
    normalized = normalize_docket_number(docket_number)
    _, sep, rest = normalized.partition(":")
    return rest if sep and normalized.split(":", 1)[0].isdigit() else normalized


def normalize_pacer_doc_id(doc_id: str) -> str:
    """PACER links the same document with 0 or 1 in the fourth digit: compare with 0."""
    doc_id = doc_id.strip()
    if len(doc_id) >= 4 and doc_id.isdigit():
        return doc_id[:3] + "0" + doc_id[4:]
    return doc_id


def entry_fingerprint(date_filed: date | None, short_description: str) -> str:
    """Last-resort identity of an entry with no number, document id or sequence number."""
    text = " ".join(short_description.lower().split())
    raw = f"{date_filed.isoformat() if date_filed else ''}|{text}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def parse_tracked_docket(spec: str) -> tuple[str, str]:
    """Split a config docket spec `court:docket` (`dcd:1:25-cv-01234`) into (court, normalized)."""
    court, sep, number = spec.partition(":")
    if not sep or not court or not number or not is_docket_number(number):
        raise ValueError(f"expected COURT:DOCKET (e.g. dcd:1:25-cv-01234), got {spec!r}")
    return court.strip().lower(), normalize_docket_number(number)


def is_docket_number(raw: str) -> bool:
    """Whether `raw` has the shape of a docket number (`1:25-cv-1234`, `23-1104`, `16-10992`)."""
    return _DOCKET.match(raw) is not None
