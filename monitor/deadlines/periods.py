"""Periods an order counts in days, read out of docket text with what they run from.

"within 30 days", "within thirty (30) days of the date of this Order", "14 days after service of
the opposition", "within 7 business days", "no later than 21 days from entry of this order",
"30 days following service of petitioner's brief", "within 90 days of the defendants' first
appearance". Each `Period` has its length, its unit (`calendar_days`, or `working_days` for
business/working/court days) and its anchor:

- `anchor == "entry"`: the order itself (its date, or its entry; CM/ECF serves it that day);
- `anchor == "event"`: a future event named by `anchor_text` ("service of the opposition",
  "first appearance", "final disposition"); the deadline waits for it.

Pure: text in, values out. Counting is the calendar engine's job (`calendar.compute`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Period", "read_periods", "anchor_matches", "NUMBER_WORDS"]

#: spelled numbers as orders write them ("twenty-one", "thirty")
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100,
}
_WORD = r"(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_SPELLED = rf"{_WORD}(?:[\s-]+{_WORD})?"
#: "30", "thirty", "thirty (30)", "twenty-one (21)"
_COUNT = rf"(?P<count>\d{{1,3}}|{_SPELLED}(?:\s*\(\s*\d{{1,3}}\s*\))?)"
_UNIT = r"(?P<kind>business\s+|working\s+|court\s+|calendar\s+|judicial\s+)?days?\b"
#: the anchor: what the period runs from, when the text names it
_ANCHOR = (r"(?:\s*,?\s*(?P<rel>of|from|after|following|since|upon|before|prior\s+to)\s+"
           r"(?P<anchor>[^.;:,]{1,120}?)"
           r"(?=\s+(?:and|or|shall|must|will|to\s+(?:file|submit|serve|respond))\b|[.;:,]|$))?")
_PERIOD = re.compile(rf"\b{_COUNT}\s+{_UNIT}{_ANCHOR}", re.IGNORECASE)

_SELF = re.compile(
    r"^(?:(?:the\s+)?(?:date|day|entry|filing|issuance|docketing|signing)\s+(?:of\s+)?)?"
    r"(?:(?:this|the\s+(?:court'?s|instant)|said)\s+(?:order|notice|minute\s+order|endorsement)|"
    r"this\s+date|today|the\s+date\s+(?:hereof|of\s+this\s+(?:order|entry|notice))|"
    r"entry\s+hereof|the\s+date\s+(?:of\s+)?(?:entry|service)\s+of\s+this\s+order|"
    r"(?:service|receipt)\s+of\s+this\s+(?:order|notice))\b",
    re.IGNORECASE,
)


_LEADING_ANCHOR = re.compile(r"\s*(?:following|after|upon)\s+(?P<anchor>[^,;]{3,80}),",
                             re.IGNORECASE)
_LEAD = re.compile(r"\b(?:within|no\s+later\s+than|not\s+later\s+than|not\s+more\s+than|"
                   r"in)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A counted period: `days` in `unit`, from the order (`anchor == "entry"`) or from the event
    `anchor_text` (`anchor == "event"`); `phrase` is the words read, `start`/`end` their place."""

    days: int
    unit: str  # calendar_days | working_days
    anchor: str  # entry | event
    anchor_text: str
    phrase: str
    start: int
    end: int
    before: bool = False  # "7 days before the hearing": counted backward from the event


def _count(text: str) -> int | None:
    digits = re.search(r"\d{1,3}", text)
    if digits:
        return int(digits.group(0))
    total = 0
    for word in re.findall(r"[a-z]+", text.lower()):
        value = NUMBER_WORDS.get(word)
        if value is None:
            return None
        total = total * value if value == 100 else total + value
    return total or None


def _anchor(rel: str, words: str) -> tuple[str, str]:
    """("entry" | "event", the anchor's words)."""
    words = " ".join(words.split()).strip(" ,")
    words = re.split(r"\s+(?:to|shall|must|will|and\s+(?:shall|must|to)|in\s+which|,)\s+",
                     words, maxsplit=1)[0]
    if not words or _SELF.match(words):
        return "entry", "this order"
    return "event", words[:100]


def read_periods(text: str) -> list[Period]:
    """Every counted period in `text` with its anchor, in order of appearance.

    A period with no anchor ("within 30 days.") runs from the order. "days after service of
    this order" runs from the order (CM/ECF serves it on entry); any other named event is an
    event anchor.
    """
    found: list[Period] = []
    for match in _PERIOD.finditer(text):
        days = _count(match.group("count"))
        if days is None:
            continue
        kind = (match.group("kind") or "").strip().lower()
        unit = "working_days" if kind in ("business", "working", "court", "judicial") \
            else "calendar_days"
        rel = (match.group("rel") or "").lower()
        anchor_words = match.group("anchor") or ""
        anchor, anchor_text = _anchor(rel, anchor_words) if rel else ("entry", "this order")
        if not rel:
            # "following the six week publication period, proof of service is to be filed
            # within ten days": the anchor leads the clause
            start = max(text.rfind(". ", 0, match.start()), text.rfind(";", 0, match.start()))
            leading = _LEADING_ANCHOR.match(text[start + 1:match.start()])
            if leading:
                anchor, anchor_text = _anchor("after", leading.group("anchor"))
        end = match.end()
        lead = _LEAD.search(text[max(0, match.start() - 30):match.start()])
        begin = match.start() - (len(lead.group(0)) if lead else 0)
        phrase = " ".join(text[begin:end].split())
        found.append(Period(days, unit, anchor, anchor_text, phrase, match.start(), end,
                            before=rel in ("before", "prior to")))
    return found


_EVENT_NOUN = re.compile(
    r"(?:service|filing|entry|receipt|issuance|docketing)\s+(?:of\s+)?(?P<what>.+)$",
    re.IGNORECASE)
_POSSESSIVE = re.compile(r"^(?:the\s+|any\s+|a\s+|an\s+|their\s+|its\s+)?(?:[\w.&-]+\s+){0,3}?"
                         r"[\w.&-]+['’]s?\s+", re.IGNORECASE)


def anchor_noun(anchor_text: str) -> str:
    """The filing an event anchor names: "service of petitioner's brief" -> "brief",
    "the defendants' first appearance" -> "appearance", "final disposition" -> "disposition"."""
    words = anchor_text.strip()
    if re.search(r"\breopen", words, re.IGNORECASE):
        return "reopen"
    event = _EVENT_NOUN.match(words)
    if event:
        words = event.group("what")
    words = _POSSESSIVE.sub("", words) if re.search(r"['’]", words) else \
        re.sub(r"^(?:the|any|a|an)\s+", "", words, flags=re.IGNORECASE)
    nouns: list[str] = re.findall(r"[A-Za-z]+", words)
    if not nouns:
        return ""
    for noun in nouns[:4]:
        if noun.lower() in ("opposition", "response", "reply", "brief", "answer", "appearance",
                            "disposition", "judgment", "complaint", "motion", "report",
                            "record", "mandate", "order", "petition", "objections"):
            return noun.lower()
    return nouns[-1].lower() if len(nouns) <= 3 else nouns[0].lower()


def anchor_matches(anchor_text: str, entry_text: str) -> bool:
    """Whether a docket entry is the event an anchor waits for: its leading words (the filing's
    name) contain the anchor's noun ("service of the opposition" ~ "Memorandum in Opposition")."""
    noun = anchor_noun(anchor_text)
    if not noun:
        return False
    lead = " ".join(entry_text.split()[:12]).lower()
    if noun == "disposition":
        return bool(re.search(r"\b(?:judgment|dismiss|closed)\b", lead))
    if noun == "reopen":
        return bool(re.search(r"\breopen", entry_text, re.IGNORECASE)) and bool(
            re.match(r"^\s*(?:\w+\s+){0,3}order\b", lead))
    if noun == "appearance":
        return bool(re.match(r"^(?:\S+\s+){0,3}?(?:notice\s+of\s+(?:attorney\s+)?appearance|"
                             r"answer|motion)\b", lead))
    if re.match(r"^\s*(?:\w+\s+){0,4}(?:order|notice\s+of\s+correction)\b", lead) \
            and noun not in ("order", "mandate"):
        return False
    return re.search(rf"\b{re.escape(noun)}s?\b", lead) is not None
