"""What a docket entry does to a case's obligations, read from its text.

Pure functions over docket text and tables of patterns (no database, no clock):

- `obligation_for(clause, ...)`: which obligation an order's date or period sets ("answer or
  otherwise respond to [1] Complaint" -> respond-complaint; "Responses due" on a motion ->
  oppose:<that motion>; "reply in support of [19]" -> reply:19; "status report" -> status-report).
- `read_entry(text, entry_number)`: `EntryFacts` - the obligations a filing meets (an answer or a
  Rule 12 motion meets respond-complaint; an opposition "re 19" meets oppose:19; proof of service
  meets serve), an extension motion and what it asks more time for, the motions an order rules on,
  stays and their lifting, and the end of the case (judgment, dismissal, closing).

Obligation kinds: respond-complaint, respond-petition, oppose:<N>, reply:<N>, amend, serve,
status-report, brief, appeal, and `order:<slug>` for another act the court ordered. A party
("AOL", "USA") is kept apart (`party_token`) so several defendants' answers stay several deadlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "EntryFacts",
    "Obligation",
    "entry_refs",
    "filer",
    "motion_name",
    "motion_refs",
    "obligation_for",
    "obligation_label",
    "is_government",
    "party_token",
    "read_entry",
    "same_party",
    "served_party",
]


@dataclass(frozen=True)
class Obligation:
    """An obligation of a case: `kind` ("respond-complaint", "oppose", "order:<slug>"...), the
    motion entry it concerns (`ref`) and the party bound by it, when the text says."""

    kind: str
    ref: int | None = None
    party: str = ""

    @property
    def name(self) -> str:
        """`kind[:ref]`: the stored `obligation` of a deadline row."""
        return f"{self.kind}:{self.ref}" if self.ref is not None else self.kind


@dataclass(frozen=True)
class EntryFacts:
    """What one entry does: meets obligations (kind, refs, party), asks for more time, rules on
    motions, stays or lifts a stay, ends the case."""

    meets: tuple[Obligation, ...] = ()
    extension_for: tuple[Obligation, ...] = ()
    granted: tuple[int, ...] = ()
    denied: tuple[int, ...] = ()
    stays: bool = False
    lifts_stay: bool = False
    terminates: bool = False
    is_order: bool = False
    refs: tuple[int, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------ small readers

_REF = re.compile(
    r"(?:\[(?P<b>\d{1,4})\]|\b(?:re:?|to|granting|denying|as\s+to|regarding|of|in|for|and|"
    r"terminating)\s+(?P<n>(?:\d{1,4}\s+)+)(?=[A-Za-z(\[]))", re.IGNORECASE)
_NUM = re.compile(r"\d{1,4}")
_MOTION_REF = re.compile(
    r"(?:\[(?P<b>\d{1,4})\]|(?<![\d./])\b(?P<n>\d{1,4}))\s*(?:-\s*)?(?:(?:[A-Z][\w'’.-]*|ex\s+parte|first|"
    r"second|joint|consent|emergency|unopposed|assented\s+to)\s+){0,4}?MOTION\b"
    r"(?P<what>(?:[^,;.\[\]\d]|\d(?!\d*\s+(?:\w+\s+){0,4}?MOTION))"
    r"{0,80})", re.IGNORECASE)
_EXTENSION = re.compile(
    r"\b(?:extension\s+of\s+time|extend(?:ing)?\s+(?:the\s+)?(?:time|deadline)|"
    r"enlarge(?:ment)?\s+(?:of\s+)?time|additional\s+time|motion\s+for\s+extension)\b",
    re.IGNORECASE)


def entry_refs(text: str) -> list[int]:
    """Entry numbers the text refers to: "re 19", "re: 19", "[19]", "granting 2 6 Motion"."""
    refs: list[int] = []
    for match in _REF.finditer(text):
        numbers = [match.group("b")] if match.group("b") else _NUM.findall(match.group("n"))
        for number in numbers:
            if int(number) not in refs:
                refs.append(int(number))
    return refs


def motion_refs(text: str) -> list[tuple[int, str]]:
    """Motions the text refers to by number, with their names ("motion to dismiss ..."),
    extension motions left out (they are no obligation to oppose)."""
    found: list[tuple[int, str]] = []
    for match in _MOTION_REF.finditer(text):
        number = int(match.group("b") or match.group("n"))
        what = " ".join(match.group("what").split())
        name = f"motion {what}".strip()
        if _EXTENSION.search(name) or number in (n for n, _ in found):
            continue
        found.append((number, _short_motion(name)))
    return found


_MOTION_NAME = re.compile(r"\bMOTION\b(?P<what>[^.;\[\]()]{0,100})", re.IGNORECASE)


def motion_name(text: str) -> str:
    """The name of the motion an entry files: "MOTION to Dismiss for Failure to State a Claim by
    X" -> "motion to dismiss for failure to state a claim"; "" when the entry is no motion."""
    found = _MOTION_NAME.search(text[:300])
    return _short_motion(f"motion {' '.join(found.group('what').split())}") if found else ""


def _short_motion(name: str) -> str:
    name = re.split(r"\s+(?:by|filed\s+by|with|pursuant)\b", name, maxsplit=1)[0]
    words = name.split()
    return " ".join(words[:8]).rstrip(" ,").lower()


_FILER = re.compile(r"\b(?:filed\s+)?by\s+(?P<who>[A-Z][^.()\[\]]{1,120}?)\s*(?:\.\s*|\(|$)",
                    re.MULTILINE)


def filer(text: str) -> str:
    """Who filed the entry ("... by Yahoo! Inc." -> "Yahoo! Inc"), or ""."""
    found = [m.group("who").strip(" ,") for m in _FILER.finditer(text[:600])]
    found = [who for who in found if not re.match(r"(?i)(?:judge|magistrate|the\s+court|"
                                                   r"chief\s+judge|clerk|district\s+judge|"
                                                   r"senior\s+judge|u\.?s\.?\s+marshal)", who)]
    return found[0] if found else ""


_GENERIC_PARTY = frozenset({
    "", "plaintiff", "plaintiffs", "defendant", "defendants", "the", "all", "parties", "party",
    "petitioner", "petitioners", "respondent", "respondents", "government", "counsel", "federal",
})


_GOVERNMENT = re.compile(
    r"(?i)\bunited\s+states\b|\bU\.\s?S\.A?\b|\bUSA\b|\bUSCIS\b|citizenship\s+and\s+immigration|"
    r"homeland\s+security|immigration\s+and\s+customs|\bsecretary\b|\bdirector\b|"
    r"\battorney\s+general\b|\bdepartment\s+of\b|\bfederal\b|\bgovernment\b|\bagency\b")


def is_government(party: str) -> bool:
    """Whether a party is the United States, an agency or an officer (they answer together)."""
    return bool(_GOVERNMENT.search(party))


_SERVED = (
    re.compile(r"\bexecuted\s+as\s+to\s+(?P<who>[^.;,()]{2,80}?)\s+(?:on\b|[,.;(])", re.I),
    re.compile(r"(?:^|\.\s+)(?P<who>[A-Z][\w&'’ -]{1,60}?)\s+(?:served|waiver\s+sent)\s+on\b"),
)


def served_party(text: str) -> str:
    """Whom a return of service names ("Executed as to Time Warner Inc on 7/31/2007",
    "Ricky Babin served on 11/21/2019"); "" for the United States or an agency."""
    for pattern in _SERVED:
        found = pattern.search(text[:400])
        if found:
            who = found.group("who").strip()
            return "" if is_government(who) or not party_token(who) else who
    return ""


_CORPORATE = frozenset({"inc", "llc", "co", "corp", "corporation", "company", "ltd", "lp", "llp",
                        "the", "of", "and", "na", "plc", "group", "s"})


def same_party(a: str, b: str) -> bool:
    """Whether two names in docket text are one party: a significant word in common
    ("Times" ~ "The New York Times Company", "Yahoo! Inc." ~ "Yahoo's")."""
    def words(name: str) -> set[str]:
        found = re.findall(r"[a-z0-9]+", name.lower().replace("’", "'").replace("'s", ""))
        return {w for w in found if w not in _CORPORATE and w not in _GENERIC_PARTY
                and len(w) > 1}
    if is_government(a) and is_government(b):
        return True  # the United States, its agencies and officers answer together
    return bool(words(a) & words(b))


def party_token(party: str) -> str:
    """A party's comparable token: "Yahoo! Inc." and "Yahoo's" -> "yahoo"; generic roles
    ("Defendants", "the parties") -> ""."""
    words: list[str] = re.findall(r"[a-z0-9]+",
                                  party.lower().replace("’", "'").replace("'s", ""))
    words = [w for w in words if w not in ("the", "a", "an", "s", "d", "b", "a")]
    if not words or words[0] in _GENERIC_PARTY:
        return ""
    return words[0]


# ------------------------------------------------------------------------------ obligations

_OBLIGATION_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), kind) for p, kind in (
        (r"\brepl(?:y|ies)\b", "reply"),
        (r"\b(?:oppos(?:e|ition|itions)|respon(?:se|ses|d)\s+(?:to|re)\s+(?:the\s+|any\s+)?"
         r"(?:\[?\d+\]?\s+)?(?:[\w'’]+\s+){0,2}motions?)\b", "oppose"),
        (r"\b(?:answers?|responsive\s+pleadings?|otherwise\s+(?:respond|plead)|respond\s+to\s+"
         r"(?:the\s+)?(?:\[?\d+\]?\s+)?(?:amended\s+|verified\s+)?(?:complaint|petition)|"
         r"response\s+to\s+(?:the\s+)?(?:\[?\d+\]?\s+)?(?:amended\s+)?(?:complaint|petition)|"
         r"show\s+cause|return\s+to\s+the\s+(?:petition|order))\b", "respond-complaint"),
        (r"\bstatus\s+reports?\b", "status-report"),
        (r"\bamended\s+(?:complaint|petition|pleadings?)\b", "amend"),
        (r"\b(?:serve|service)\b(?!\s+of\s+this)", "serve"),
        (r"\bbriefs?\b", "brief"),
        (r"\brespon(?:se|ses|d)\b", "response"),
    ))


def obligation_for(clause: str, label: str, *, entry_text: str = "",
                   entry_number: int | None = None, party: str = "") -> list[Obligation]:
    """The obligations a court-set date or an order's period sets.

    `clause` is the sentence that sets it, `label` the normalized word of `extract`
    ("answer", "response", "reply", "status report", ...). A response or reply to motions names
    each motion the entry refers to (or the entry itself when it is a motion); with none, the
    obligation has no motion.
    """
    text = f"{clause} {label}"
    kind = next((k for p, k in _OBLIGATION_WORDS if p.search(text)), "")
    motions = [n for n, _ in motion_refs(clause)] or [n for n, _ in motion_refs(entry_text)]
    if not motions and entry_number is not None and re.match(
            r"^\s*(?:\S+\s+){0,3}MOTION\b", entry_text):
        motions = [entry_number]
    if kind == "response":
        kind = "oppose" if motions else (
            "respond-complaint" if re.search(r"(?i)complaint|petition|show cause", entry_text)
            else "")
    if kind in ("oppose", "reply"):
        return [Obligation(kind, n, party) for n in motions] or [Obligation(kind, None, party)]
    if kind:
        return [Obligation(kind, None, party)]
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60] or "deadline"
    return [Obligation(f"order:{slug}", None, party)]


_KIND_LABEL = {
    "respond-complaint": "Response to complaint",
    "respond-petition": "Response to petition",
    "amend": "Amended pleading",
    "serve": "Service of process",
    "status-report": "Status report",
    "brief": "Brief",
    "appeal": "Notice of appeal",
}


def obligation_label(obligation: Obligation, *, motion: str = "", label: str = "") -> str:
    """What is due, in words: "Response to complaint (USCIS)", "Opposition to motion to
    dismiss [19]", "Reply in support of motion to dismiss [19]"; `label` names an order's act."""
    kind, ref = obligation.kind, obligation.ref
    if kind in ("oppose", "reply"):
        what = motion or "motion"
        head = "Opposition to" if kind == "oppose" else "Reply in support of"
        text = f"{head} {what}" + (f" [{ref}]" if ref is not None else "")
    elif kind in _KIND_LABEL:
        text = _KIND_LABEL[kind]
    else:
        words = re.sub(r"\s+due$", "", label.strip(), flags=re.IGNORECASE) or "Court-ordered act"
        text = words[:1].upper() + words[1:]
    return text + (f" ({obligation.party})" if obligation.party else "")


# ------------------------------------------------------------------------------ entry facts

def _lead(text: str, words: int = 10) -> str:
    """The entry's first words, where the docket names the filing; leading qualifiers kept."""
    return " ".join(text.split()[:words])


_ORDER = re.compile(
    r"^\s*(?:(?:Judge|Magistrate\s+Judge|Chief\s+Judge)\s+[^:]{1,60}:\s*)?(?:[A-Z][\w'’.-]*\s+){0,4}?"
    r"(?:ORDER|Order|ORDERS|Memo-Endorsement|MEMO\s+ENDORSEMENT|MEMORANDUM\s+(?:AND\s+|&\s+)?"
    r"(?:OPINION\s+(?:AND\s+|&\s+)?)?ORDER|RULING|OPINION|SCHEDULING|Set/Reset|Set\s+Deadlines|"
    r"Reset\s+Deadlines|ELECTRONIC\s+ORDER|CLERK'?S\s+NOTICE)\b")
_IS_MOTION = re.compile(r"^\s*(?:[\w'’.!&,-]+\s+){0,4}?"
                        r"(?:MOTION|Motion|APPLICATION|"
                        r"Letter\s+MOTION)\b|^\s*(?:LETTER|Letter)\b[^.]{0,120}\brequest",
                        re.MULTILINE)

_MEETS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), kind) for p, kind in (
        (r"^(?:[\w'’.!&-]+\s+){0,4}?(?:ANSWER|Answer)\b(?!\s+due)", "respond-complaint"),
        (r"^(?:[\w'’.!&-]+\s+){0,4}?(?:MOTION|Motion)\s+(?:to\s+(?:Partial(?:ly)?\s+)?Dismiss|"
         r"for\s+(?:Partial\s+)?Summary\s+Judgment|for\s+Judgment\s+on\s+the\s+Pleadings|"
         r"to\s+Transfer|for\s+(?:a\s+)?More\s+Definite|to\s+Remand)", "respond-complaint"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,4}?(?:RESPONSE|RETURN|ANSWER|REPLY)\s+(?:to|re:?)\s+"
         r"(?:\[?\d+\]?\s+)?(?:the\s+)?(?:Court'?s\s+)?(?:ORDER\s+to\s+show\s+cause|"
         r"petition|show\s+cause)", "respond-complaint"),
        (r"(?i)^(?:[\w'’.!&/-]+\s+){0,3}?reply\b(?!\s+due)", "reply"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,4}?(?:memorandum|response|brief|reply)\b[^.]{0,60}?"
         r"\bin\s+opposition\b|^(?:[\w'’.!&-]+\s+){0,3}?opposition\b|"
         r"^(?:[\w'’.!&-]+\s+){0,3}?(?:response|memorandum|brief)\s+(?:in\s+re[sp]+onse\s+|"
         r"in\s+repsonse\s+)?(?:to|re:?)\s+\[?\d+\]?\s+(?:[\w'’.-]+\s+){0,3}?motion\b|"
         r"^(?:[\w'’.!&-]+\s+){0,3}?memorandum\s+in\s+(?:response|repsonse)\b", "oppose"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,3}?amended\s+(?:complaint|petition)\b", "amend"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,4}?(?:summons\b[^.]{0,80}?\breturned\s+executed|"
         r"return\s+of\s+service|proof\s+of\s+service|affidavit\s+of\s+service|"
         r"waiver\s+of\s+service\b[^.]{0,40}?\breturned\s+executed|"
         r"certificate\s+of\s+service\s+of\s+(?:the\s+)?summons)", "serve"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,3}?status\s+report\b", "status-report"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,3}?brief\b(?!\s+due)", "brief"),
        (r"(?i)^(?:confirmation\s+of\s+)?receipt\s+of\s+payment|^filing\s+fee\s+(?:paid|received)",
         "order:fee"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,3}?MOTION\b[^.]{0,60}\bin\s+forma\s+pauperis",
         "order:pauperis"),
        (r"(?i)^(?:[\w'’.!&-]+\s+){0,3}?objections?\b|^appeal\s+from\s+(?:the\s+)?\d*\s*report\s+"
         r"and\s+recommendation", "order:objection"),
    ))

_TERMINATES = tuple(re.compile(p) for p in (
    r"^\s*(?:FINAL\s+|CLERK'?S\s+|AMENDED\s+|PARTIAL\s+)?JUDGMENT\b(?!\s+(?:debtor|creditor))",
    r"(?i)\b(?:case|action|complaint|petition|matter|claims?)\s+(?:is|are|be|was|were)\s+"
    r"(?:hereby\s+)?(?:voluntarily\s+)?DISMISSED\b",
    r"(?i)\bdismissing\s+(?:the\s+|this\s+)?(?:case|action|complaint|petition)\b",
    r"(?i)^\s*(?:\S+\s+){0,6}?order\b[^.]{0,40}\bgranting\s+\[?\d+\]?\s+(?:[\w'’-]+\s+){0,3}"
    r"motion\s+to\s+dismiss\b(?![^.]{0,60}\bin\s+part)",
    r"(?i)\b(?:case|civil\s+action)\s+(?:is\s+)?(?:hereby\s+)?(?:closed|terminated)\b",
    r"(?i)\b(?:clerk|court)\b[^.]{0,60}\b(?:close|terminate)\s+(?:this|the)\s+(?:case|action)\b"
    r"(?!\s+administratively)",
    r"(?i)^\s*(?:joint\s+)?(?:notice|stipulation)\s+of\s+(?:voluntary\s+)?dismissal\b",
    r"(?i)^\s*(?:joint\s+)?stipulation\s+(?:and\s+order\s+)?(?:of|for)\s+(?:voluntary\s+)?"
    r"dismissal\b",
))
_NOT_TERMINAL = re.compile(r"(?i)^\s*(?:\S+\s+){0,2}report\s+and\s+recommendation|"
                           r"\b(?:it\s+is\s+)?recommend(?:ed|s)?\s+that\b|\bwithout\s+prejudice\s+to\s+(?:re)?fil|"
                           r"\bmotion\s+to\s+dismiss\b[^.]{0,30}\bdenied|\bin\s+part\b|"
                           r"\bdismissing\s+appeal|\bappeal\b[^.]{0,20}\bdismissed|"
                           r"\badministrativ")
_STAYS = re.compile(
    r"(?i)\b(?:case|action|proceedings?|matter|litigation|deadlines?)\s+(?:is|are|be|shall\s+be)\s+"
    r"(?:hereby\s+)?(?:stayed|held\s+in\s+abeyance)\b|\bstaying\s+(?:the\s+|this\s+|all\s+)?"
    r"(?:case|action|proceedings|matter|deadlines)\b|\badministratively\s+(?:close|closed|"
    r"terminate|terminated|stay|stayed)\b|\bgranting\s+\[?\d+\]?\s+(?:\w+\s+){0,2}motion\s+to\s+"
    r"stay\b|\bheld\s+in\s+abeyance\b|\bhold(?:ing|s)?\s+(?:this\s+|the\s+)?(?:case|matter|action|"
    r"proceedings|petition)\s+in\s+abeyance\b")
_LIFTS = re.compile(
    r"(?i)\blift(?:ing|ed|s)?\s+(?:the\s+)?stay\b|\bstay\s+(?:is\s+|be\s+)?(?:hereby\s+)?"
    r"(?:lifted|dissolved|vacated)\b|\breopen(?:ing|ed|s)?\s+(?:these\s+proceedings|the\s+case|"
    r"this\s+case|this\s+action|the\s+action|case)\b|\bcase\s+(?:is\s+)?reopened\b|"
    r"\border(?:ed)?\s+to\s+reopen\b")
_RULING = re.compile(
    r"(?i)\b(?P<verb>granting|denying|terminating|finding\s+as\s+moot|mooting)\b(?:\s+in\s+part)?"
    r"(?:\s+and\s+(?:granting|denying)\s+in\s+part)?\s+(?P<nums>(?:\[?\d{1,4}\]?\s*(?:,|and)?\s*)+)")


_RULED = re.compile(r"(?i)\b(?:ECF|Doc\.?|Dkt\.?|R\.\s*Doc\.?|docket\s+no\.?)\s*(?:No\.\s*)?"
                    r"(?P<n>\d{1,4})\)?,?\s+(?:is|are)\s+(?:hereby\s+)?(?P<verb>GRANTED|DENIED)")


def _meets(text: str, refs: list[int]) -> tuple[Obligation, ...]:
    lead = _lead(text, 14)
    who = filer(text)
    found: list[Obligation] = []
    for pattern, kind in _MEETS:
        if not pattern.search(lead):
            continue
        if kind in ("oppose", "reply"):
            targets = [n for n, _ in motion_refs(text)] or refs
            found += [Obligation(kind, n, who) for n in targets] or [Obligation(kind, None, who)]
            break
        if kind == "respond-complaint" and re.search(r"(?i)\bunexecuted\b", lead):
            continue
        if kind == "serve" and re.search(r"(?i)\bunexecuted\b", lead):
            continue
        found.append(Obligation(kind, None, who))
        if kind == "respond-complaint":
            found.append(Obligation("respond-petition", None, who))
        break
    return tuple(found)


def _extension_for(text: str, refs: list[int]) -> tuple[Obligation, ...]:
    if not _IS_MOTION.search(text[:200]) or not _EXTENSION.search(text[:300]):
        return ()
    who = filer(text)
    what = text[:400]
    kinds: list[Obligation] = []
    motions = [n for n, _ in motion_refs(what)]
    if re.search(r"(?i)\b(?:answer|respon\w*\s+(?:to\s+)?(?:the\s+)?(?:\[?\d+\]?\s+)?"
                 r"(?:[\w'’]+\s+){0,2}(?:complaint|petition)|responsive\s+pleadings?|"
                 r"otherwise\s+(?:respond|plead))", what):
        kinds += [Obligation("respond-complaint", None, who),
                  Obligation("respond-petition", None, who)]
    if motions or re.search(r"(?i)\b(?:opposition|response/reply|respond\s+to\s+"
                            r"(?:\w+\s+){0,3}motions?|briefing)\b", what):
        kinds += [Obligation("oppose", n, who) for n in motions] or [Obligation("oppose")]
        if re.search(r"(?i)\brepl(?:y|ies)\b|briefing", what):
            kinds += [Obligation("reply", n, who) for n in motions] or [Obligation("reply")]
    elif re.search(r"(?i)\brepl(?:y|ies)\b", what):
        kinds += [Obligation("reply", n, who) for n in refs] or [Obligation("reply")]
    if re.search(r"(?i)\b(?:to\s+serve|service|effect\s+service)\b", what):
        kinds.append(Obligation("serve", None, who))
    if re.search(r"(?i)\bstatus\s+report\b", what):
        kinds.append(Obligation("status-report", None, who))
    if re.search(r"(?i)\bamended\s+(?:complaint|petition|pleading)", what):
        kinds.append(Obligation("amend", None, who))
    if re.search(r"(?i)\bbrief\b", what) and not kinds:
        kinds.append(Obligation("brief", None, who))
    return tuple(kinds) or (Obligation("*", None, who),)


_CLERK_ECHO = re.compile(r"(?i)^\s*(?:motions?\(s\)\s+referred|motions?\s+no\s+longer\s+referred|"
                         r"motions?\s+referred|notice\s+of\s+correction)\b")
_JUDGE_PREFIX = re.compile(r"^\s*(?:(?:Judge|Magistrate\s+Judge|Chief\s+Judge|District\s+Judge)"
                           r"\s+[^:]{1,60}:\s*)")
_FIRST_NAME = re.compile(r"\b(?:ORDER|Order|ORDERS|MOTION|Motion|Memo-Endorsement|JUDGMENT|"
                         r"RESPONSE|Response|REPLY|Reply|ANSWER|Answer|MEMORANDUM|Memorandum|"
                         r"BRIEF|Brief|RETURN|Return|"
                         r"RULING|LETTER|Letter|NOTICE|Notice|Set/Reset|Set\s+Deadlines)\b")


def read_entry(text: str, entry_number: int | None = None) -> EntryFacts:
    """What the entry does to the case's obligations (see the module docstring)."""
    text = " ".join(text.split())
    refs = entry_refs(text)
    if _CLERK_ECHO.match(text):
        return EntryFacts(refs=tuple(refs))
    first = _FIRST_NAME.search(_JUDGE_PREFIX.sub("", text[:200]))
    head = first.group(0).lower() if first else ""
    is_order = bool(_ORDER.search(text[:160])) and (not head.startswith(
        ("motion", "letter", "response", "reply", "answer", "memorandum", "brief", "return"))
        or bool(re.match(r"(?i)^\s*memorandum\s+(?:opinion|(?:and|&)\s+order|order)", text)))
    is_motion = bool(_IS_MOTION.search(text[:200])) and not is_order
    granted: list[int] = []
    denied: list[int] = []
    if is_order:
        for ruling in _RULING.finditer(text):
            numbers = [int(n) for n in _NUM.findall(ruling.group("nums"))]
            (granted if ruling.group("verb").lower() == "granting" else denied).extend(numbers)
        for said in _RULED.finditer(text):
            (denied if said.group("verb").lower().startswith("den") else granted).append(
                int(said.group("n")))
        if re.search(r"(?i)\b(?:motions?|request)\b[^.]{0,80}\b(?:is|are)\s+(?:hereby\s+)?"
                     r"(?:granted|allowed)\b", text) and not granted:
            granted = [n for n in refs if n not in denied]
    terminates = any(p.search(text) for p in _TERMINATES) and not is_motion \
        and not _NOT_TERMINAL.search(text[:400])
    stays = is_order and bool(_STAYS.search(text)) and not re.search(
        r"(?i)\bdenying\b[^.]{0,40}\bmotion\s+to\s+stay", text)
    lifts = (is_order or text.lower().startswith("case reopened")) and bool(_LIFTS.search(text))
    return EntryFacts(
        meets=() if is_order else _meets(text, refs),
        extension_for=_extension_for(text, refs) if is_motion else (),
        granted=tuple(granted), denied=tuple(denied),
        stays=stays and not lifts, lifts_stay=lifts, terminates=terminates,
        is_order=is_order, refs=tuple(refs),
    )
