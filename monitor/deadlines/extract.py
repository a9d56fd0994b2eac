"""Dates the court itself set, read out of docket text.

"answer due 11/29/2017", "Plaintiff's Responses due by 1/25/2018", "Answer due for USA on
1/2/2026", "Redacted Transcript Deadline set for 8/7/2017", "... is hereby extended to and
including August 30, 2019", "reply papers shall be submitted no later than 5/28/2004". A date the
court set outranks a computed one (deadline-rules.md).

Only phrases that tie a date to something due are read: a filing date, an entry date, a hearing
"set for" a date or a "served on" date is never a court-set deadline. Pure: text in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["DATE_PATTERN", "CourtSetDate", "extract_court_dates", "normalize_label", "parse_date"]

_MONTH_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?")
#: A date as dockets write it: 3/14/2025, 9/1/03, August 24, 2016. Case-insensitive use.
DATE_PATTERN = (rf"(?:(?<![\d/])\d{{1,2}}/\d{{1,2}}/(?:\d{{4}}|\d{{2}})(?![\d/])"
                rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b)")
_NUMERIC = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})")
_WRITTEN = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


@dataclass(frozen=True)
class CourtSetDate:
    """A date the court set: normalized `label` ("answer", "reply"...), `due`, the phrase read,
    and for whom when the text says so ("USA")."""

    label: str
    due: date
    text: str
    party: str = ""


def parse_date(text: str) -> date | None:
    """`3/14/2025`, `9/1/03` (20xx below 70) or `August 24, 2016` -> date; None when invalid."""
    text = text.strip()
    try:
        numeric = _NUMERIC.fullmatch(text)
        if numeric:
            month, day, year = (int(g) for g in numeric.groups())
            if year < 100:
                year += 2000 if year < 70 else 1900
            return date(year, month, day)
        written = _WRITTEN.fullmatch(text)
        if written:
            name = written.group(1).lower()
            month_number = _MONTH_NAMES.get(name[:4] if name.startswith("sept") else name[:3])
            if month_number:
                return date(int(written.group(3)), month_number, int(written.group(2)))
    except ValueError:
        return None
    return None


# ------------------------------------------------------------------------------ phrases

_DATE = rf"(?P<date>{DATE_PATTERN})"
_PARTY = r"(?:for\s+(?P<party>[^.;()\[\]]{1,100}?)\s+(?:by|on)\s+)"
#: each phrase puts the date in group `date`; the label comes from the words before it
_PHRASES: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    rf"\b(?:(?:is|are|will\s+be|shall\s+be)\s+)?due:?\s+(?:(?:by|on)\s+)?{_PARTY}?{_DATE}",
    rf"\bdeadline\s+(?:(?:re)?set\s+)?(?:for|is|of)\s+{_DATE}",
    rf"\b(?:no|not)\s+later\s+than\s+{_DATE}",
    rf"\bon\s+or\s+before\s+{_DATE}",
    rf"\b(?:shall|should|must)\s+be\s+(?:filed|submitted|served|produced)\s+(?:by|on)\s+{_DATE}",
    rf"\bextended\s+(?:to\s+and\s+including|through|until|up\s+to|to)\s+{_DATE}",
    # "Defendants shall file an answer or otherwise respond to [1] Complaint by 5/13/2025"
    rf"\b(?:shall|must|(?:is|are)\s+(?:hereby\s+)?(?:directed|ordered)\s+to)\s+"
    rf"(?:file|submit|serve|answer|respond|produce)\b[^.;]{{0,160}}?\bby\s+{_DATE}",
    # "shall have ..., until August 8, 2019, to file their answers"
    rf"\buntil\s+{_DATE},?\s+(?:to|in\s+which\s+to)\s+(?:file|submit|serve|answer|respond)\b",
    # "By Friday 7/26/2019, the District Attorney shall file ..."
    rf"(?:^|[.:;]\s*)By\s+(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?{_DATE},?\s+"
    rf"(?=[^.;]{{1,120}}?\b(?:shall|must)\s+(?:file|submit|serve)\b)",
))

_BOUNDARY = re.compile(r"(?<!\b[A-Z])[.;:,](?=\s|$)|[\[\]]|(?:^|(?<=\s))\(|\)(?=\s|$)|\bAND\b")
_ATTACHED_PARENS = re.compile(r"(?<=\w)\((\w{1,3})\)")  # Rule 26(f): not a boundary
_GENERIC_SUBJECTS = frozenset({
    "", "parties", "counsel", "plaintiff", "plaintiffs", "defendant", "defendants", "court",
    "attorneys", "petitioner", "respondent", "government", "deadline",
})

_KEYWORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{p})\b", re.IGNORECASE), label) for p, label in (
        (r"repl(?:y|ies)", "reply"),
        (r"respon(?:se|ses|d|ding)", "response"),
        (r"opposition|oppositions|oppose", "opposition"),
        (r"answers?", "answer"),
        (r"status\s+reports?", "status report"),
        (r"objections?", "objections"),
        (r"briefs?", "brief"),
        (r"appendix", "appendix"),
        (r"discovery", "discovery"),
    ))
_FILLER = re.compile(
    r"^(?:(?:and|that|the|a|an|any|all|such|further|ordered|it\s+is|set/reset|reset|set|"
    r"deadlines?|hereby)\b[\s,]*)+", re.IGNORECASE)
_MODAL = re.compile(r"\s+\b(?:shall|should|must|will|is|are|was|were|to\s+be)\b.*$",
                    re.IGNORECASE | re.DOTALL)
_POSSESSOR = re.compile(r"^[^']{0,60}?['’]s?\s+")
_OBJECT = re.compile(r"\b(?:file|submit|serve|produce)\s+(?:(?:a|an|the|their|its|any|all)\s+)?"
                     r"(?P<what>.+)$", re.IGNORECASE)
_DEADLINE_FOR = re.compile(r"\bdeadline\s+for\b.{0,100}?\bto\s+(?P<verb>\w+)", re.IGNORECASE)
_TAIL = re.compile(r"\s+\b(?:identical|regarding|re|which|that|in\s+support)\b.*$",
                   re.IGNORECASE)


def _keyword(words: str) -> str | None:
    best: tuple[int, str] | None = None
    for pattern, label in _KEYWORDS:
        found = pattern.search(words)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), label)
    return best[1] if best else None


def normalize_label(phrase: str) -> str:
    """The short name of what is due: "Plaintiff's Responses" -> "response",
    "Reply to Response to Brief" -> "reply", "Amended Pleadings" -> "amended pleadings"."""
    phrase = " ".join(phrase.replace("’", "'").split())
    deadline_for = _DEADLINE_FOR.search(phrase)
    if deadline_for:
        label = _keyword(deadline_for.group("verb"))
        if label:
            return label
    subject = _FILLER.sub("", _MODAL.sub("", phrase)).strip(" ,-")
    label = _keyword(" ".join(subject.split()[:6]))
    if label:
        return label
    obj = _OBJECT.search(phrase)
    what = _FILLER.sub("", obj.group("what")) if obj else ""
    label = _keyword(" ".join(what.split()[:6]))
    if label:
        return label
    if subject.lower() in _GENERIC_SUBJECTS and what:
        subject = what
    subject = _TAIL.sub("", _POSSESSOR.sub("", subject) if "'" in subject[:60] else subject)
    return " ".join(subject.lower().strip(" ,-").split()[:6])


def _clause_start(text: str, end: int) -> int:
    """Where the clause that ends at `end` begins (the last boundary before it)."""
    before = _ATTACHED_PARENS.sub("\x00\\1\x01", text[:end])
    cuts = [m.end() for m in _BOUNDARY.finditer(before)]
    start = cuts[-1] if cuts else 0
    words = list(re.finditer(r"\S+", text[start:end]))
    if len(words) > 30:  # a long run-on clause: the label is near the date
        start += words[-30].start()
    return start


def _clause_after(text: str, start: int) -> str:
    after = _ATTACHED_PARENS.sub("\x00\\1\x01", text[start:]).lstrip(" ,")
    cut = _BOUNDARY.search(after)
    return after[:cut.start() if cut else len(after)].strip(" ,")


def _restore(label: str) -> str:
    return label.replace("\x00", "(").replace("\x01", ")")


def _read(text: str, match: re.Match[str]) -> tuple[str, int]:
    """(normalized label, where its phrase starts) for a date phrase."""
    start = _clause_start(text, match.start())
    clause = _ATTACHED_PARENS.sub("\x00\\1\x01", text[start:match.start()]).strip(" ,")
    label = normalize_label(clause)
    if not label:  # "On or before August 24, 2016, the parties are directed to file a response"
        label = normalize_label(_clause_after(text, match.end()))
    return _restore(label) or "deadline", start


def extract_court_dates(text: str) -> list[CourtSetDate]:
    """Every court-set date in `text`, in order of appearance, one per (label, date)."""
    found: list[tuple[int, CourtSetDate]] = []
    seen: set[tuple[str, date]] = set()
    for pattern in _PHRASES:
        for match in pattern.finditer(text):
            due = parse_date(match.group("date"))
            if due is None:
                continue
            label, start = _read(text, match)
            if (label, due) in seen:
                continue
            seen.add((label, due))
            party = (match.groupdict().get("party") or "").strip()
            phrase = " ".join(text[start:match.end()].split())
            found.append((match.start(), CourtSetDate(label, due, phrase, party)))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]
