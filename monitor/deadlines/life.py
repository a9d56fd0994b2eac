"""The life of a case's deadlines: what each new docket entry does to them.

One obligation, one deadline: a row's key is `case:<id>:<obligation>[@<party>]` (obligations:
`respond-complaint`, `respond-petition`, `oppose:<N>`, `reply:<N>`, `amend`, `serve`,
`status-report`, `brief`, `appeal`, `order:<what>`), so the computed date of a rule and the date
the court set for the same obligation are one deadline: the court's date wins and the computed
one stays in `computed_due` with its steps. A later order or a clerk's "Set/Reset Deadlines"
entry moves it (`deadline.changed`, same ICS UID, SEQUENCE raised).

For each `entry.added` (`apply_entry`), in this order:
1. a judgment, dismissal or closing vacates every open deadline (`deadline.vacated`, data
   `vacated_by`: the entry) and starts none; `case.closed` does the same (`close_case`);
2. a stay suspends open deadlines (`deadline.suspended`, `suspended_by`);
3. a filing meets its obligation (`deadline.met`, `met_by`: {entry_number, date_filed, text});
   the "re [N]" references pick the motion; a party's filing meets that party's deadline;
4. a motion for more time flags its deadlines (`extension_requested`: the motion entry);
5. deadlines are set or moved: rule periods, court-set dates, and periods the order counts
   ("within 30 days", "14 days after service of ...") from the order or, when the anchor is a
   future event, once that event's entry arrives (the row waits, state `waiting`);
6. an order ruling on an extension motion clears the flag (granted and moved, or denied) or
   keeps `extension_requested.granted` when it granted without a date in the text;
7. a lifted stay resumes what it suspended (`deadline.resumed`), moved by the stay's length.

Pure reading of the text is `docket_text` and `periods`; this module only applies it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, event
from sqlalchemy import select as sa_select
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from monitor.db import created_in
from monitor.deadlines.docket_text import (
    EntryFacts,
    Obligation,
    is_government,
    motion_name,
    motion_refs,
    obligation_for,
    obligation_label,
    party_token,
    read_entry,
    same_party,
    served_party,
    with_party_aliases,
)
from monitor.deadlines.extract import extract_court_dates, normalize_label
from monitor.deadlines.periods import Period, anchor_matches, read_periods
from monitor.deadlines.rows import DeadlineSpec, deadline_event_data, upsert_deadline
from monitor.events import EventListener, emit
from monitor.models import Case, Deadline, Entry, Event
from sources.courts import COURTS

__all__ = ["OPEN", "LIVE", "apply_entry", "close_case", "entry_ref", "obligation_key"]

#: states that still ask for action (reminded, shown in the calendar)
OPEN = ("open", "overdue", "unverified")
#: states a later entry can still act on
LIVE = (*OPEN, "suspended", "waiting")


def obligation_key(case_id: int, obligation: Obligation) -> str:
    """The stable key of an obligation's deadline."""
    party = party_token(obligation.party)
    return f"case:{case_id}:{obligation.name}" + (f"@{party}" if party else "")


def entry_ref(number: int | None, day: date | None, text: str) -> dict[str, Any]:
    """How an event names an entry: {entry_number, date_filed, text (an excerpt)}."""
    return {"entry_number": number, "date_filed": day.isoformat() if day else None,
            "text": " ".join(text.split())[:240]}


# ------------------------------------------------------------------------------ rows


_ANY_DEADLINE = sa_select(col(Deadline.id)).where(
    col(Deadline.case_id) == bindparam("case_id")).limit(1)

#: `Session.info` key: the cases whose deadline rows the session has written (`_noted`)
_WRITTEN = "deadlines.written"


@event.listens_for(Deadline, "after_insert")
def _noted(_mapper: Any, _connection: Any, row: Deadline) -> None:
    """Every deadline row is written by the ORM (`upsert_deadline`, `_wait`): note its case in
    its session, so `_has_deadlines` knows without a read what the session added."""
    session = object_session(row)
    if session is not None and row.case_id is not None:
        session.info.setdefault(_WRITTEN, set()).add(row.case_id)


def _wrote_deadlines(session: Session, case_id: int) -> bool:
    """Whether `session` has written a deadline row of the case."""
    return case_id in session.info.get(_WRITTEN, ())


def _has_deadlines(session: Session, case_id: int) -> bool:
    """Whether the case has a deadline row, in any state. A case created in this transaction
    has only the rows written here (no read); another, one indexed read of the table (no
    autoflush: deadline rows are flushed as they are made; one waiting in the session counts)."""
    if _wrote_deadlines(session, case_id) or any(
            isinstance(row, Deadline) and row.case_id == case_id for row in session.new):
        return True
    if case_id in created_in(session, Case):
        return False
    return session.connection().execute(_ANY_DEADLINE, {"case_id": case_id}).first() is not None


def _rows(session: Session, case_id: int, states: Sequence[str] = LIVE) -> list[Deadline]:
    return list(session.exec(select(Deadline).where(
        Deadline.case_id == case_id, col(Deadline.state).in_(list(states)))).all())


def _rows_for(session: Session, case_id: int, obligation: Obligation,
              states: Sequence[str] = LIVE, *, fallback_all: bool = True) -> list[Deadline]:
    """The rows of an obligation a filing or motion by `obligation.party` concerns: that
    party's, else the ones with no party, else all of that obligation."""
    if obligation.kind.startswith("order:"):
        # "order:fee" meets an order's "Filing fee"; "order:objection" its "Objections"
        word = obligation.kind.split(":", 1)[1]
        return [r for r in _rows(session, case_id, states) if r.obligation.startswith("order:")
                and (word in r.obligation or word in r.label.lower()
                     or word in r.trigger_text.lower())]
    rows = [r for r in _rows(session, case_id, states)
            if r.obligation == obligation.name or (
                obligation.ref is None and r.obligation.split(":")[0] == obligation.kind)]
    token = party_token(obligation.party)
    mine = [r for r in rows if token and same_party(r.party, obligation.party)]
    if mine:
        return mine
    unnamed = [r for r in rows if not r.party]
    # a filing by another named party meets no one else's deadline; the United States and its
    # agencies answer together; a motion for time by someone bound by no deadline (a plaintiff
    # asking for the defendants) concerns them all
    spread = fallback_all and (not token or is_government(obligation.party))
    return unnamed or (rows if spread else [])


def _deadline_data(session: Session, row: Deadline) -> dict[str, Any]:
    return deadline_event_data(session, row)


def _set_state(session: Session, chain: Sequence[EventListener], row: Deadline, state: str,
               kind: str, event: Event, why: str, extra: dict[str, Any]) -> None:
    row.state, row.updated_at = state, event.at
    session.add(row)
    session.flush()
    emit(session, chain, kind=kind, at=event.at, subject=row.subject,
         summary=f"{row.label} ({row.due_date.isoformat()}) {why}",
         dedupe_key=f"{kind}:{row.key}:{row.sequence}:{event.id}",
         data={**_deadline_data(session, row), **extra}, case_id=row.case_id,
         matter_id=row.matter_id, source_id=event.source_id, private=row.private)


def close_case(session: Session, chain: Sequence[EventListener], case: Case, event: Event,
               entry: dict[str, Any] | None = None) -> None:
    """Vacate every live deadline of a closed case (`deadline.vacated`); waiting ones quietly."""
    why = {"vacated_by": entry} if entry else {
        "vacated_by": None, "case_closed": (event.data or {}).get("date_terminated")}
    for row in _rows(session, case.id or 0):
        if row.state == "waiting":
            row.state = "vacated"
            session.add(row)
            continue
        _set_state(session, chain, row, "vacated", "deadline.vacated", event,
                   "vacated: the case is closed" if entry is None else
                   f"vacated by entry {entry.get('entry_number') or entry.get('date_filed')}",
                   why)


# ------------------------------------------------------------------------------ entries


def apply_entry(session: Session, chain: Sequence[EventListener], case: Case, event: Event,
                text: str, computed: Sequence[Any], zone: str, today: date,
                compute_period: Any, aliases: Sequence[tuple[str, str]] = ()) -> None:
    """Apply one new entry to the case's deadlines (see the module docstring).

    `computed` are the rule-computed DeadlineSpecs of the entry (from `derive_from_entry`);
    `compute_period(trigger, days, unit)` counts an order's period with the court's calendar;
    `aliases` are (other name, party) pairs of the case's parties when known ("AOL LLC",
    "Time Warner Inc"): the text is read with each party under one name.
    """
    data = event.data or {}
    number = data.get("entry_number")
    day = date.fromisoformat(data["date_filed"]) if data.get("date_filed") else today
    shown = text
    text = with_party_aliases(text, aliases) if aliases else text
    facts = read_entry(text, number)
    ref = entry_ref(number, day, shown)
    case_id = case.id or 0
    # Every step but setting deadlines acts on the case's deadline rows: a case with none (most
    # cases, every new one) skips their reads, and only what this entry sets can follow.
    live = _has_deadlines(session, case_id)
    if facts.terminates:
        if live:
            close_case(session, chain, case, event, ref)
        return
    if case.date_terminated is not None and day >= case.date_terminated \
            and not facts.lifts_stay:
        return
    started: set[int] = set()
    if live:
        if facts.stays:
            for row in _rows(session, case_id, ("open",)):
                if row.due_date < day:
                    continue
                row.pending = {**(row.pending or {}), "suspended_on": day.isoformat()}
                _set_state(session, chain, row, "suspended", "deadline.suspended", event,
                           "suspended: the case is stayed", {"suspended_by": ref})
        _meet(session, chain, case_id, facts, event, ref, text)
        _flag_extensions(session, case_id, facts, ref)
        started = _start_waiting(session, chain, case, event, text, day, zone, compute_period)
    moved = _set_and_move(session, chain, case, event, text, facts, computed, day, today,
                          compute_period, shown)
    if not (live or _wrote_deadlines(session, case_id)):
        return
    _rulings(session, chain, case_id, facts, ref, moved, event)
    if facts.lifts_stay:
        _resume(session, chain, case_id, event, ref, day, moved)
    elif (facts.stays or (moved | started)) and (
            facts.stays or _stayed(session, case_id, number, day)):
        # set or started while the case is stayed: it runs only once the stay is lifted (the
        # case's history is read only when this entry set or started a deadline: the rows
        # below are those, so an entry that starts none never pays for a case's whole docket)
        for row in _rows(session, case_id, ("open",)):
            if row.id in moved | started:
                row.pending = {**(row.pending or {}), "suspended_on": day.isoformat()}
                _set_state(session, chain, row, "suspended", "deadline.suspended", event,
                           "suspended: the case is stayed", {"suspended_by": ref})


def _stayed(session: Session, case_id: int, number: int | None, day: date) -> bool:
    """Whether the case's earlier entries leave it stayed (a stay or administrative closing not
    lifted since)."""
    stayed = False
    # plain columns, not Entry objects: a case of thousands of entries is read as tuples
    earlier = session.exec(select(
        col(Entry.entry_number), col(Entry.date_filed), col(Entry.description),
        col(Entry.short_description),
    ).where(Entry.case_id == case_id).order_by(col(Entry.date_filed), col(Entry.id))).all()
    for entry_number, date_filed, description, short_description in earlier:
        if (number is not None and entry_number == number) or (
                date_filed is not None and date_filed > day):
            continue
        facts = read_entry(description or short_description, entry_number)
        if facts.lifts_stay or facts.terminates:
            stayed = False
        elif facts.stays:
            stayed = True
    return stayed


def _meet(session: Session, chain: Sequence[EventListener], case_id: int, facts: EntryFacts,
          event: Event, ref: dict[str, Any], text: str) -> None:
    met: set[int] = set()
    meets = list(facts.meets)
    if any(o.kind == "respond-complaint" for o in meets):
        # a defendant who answers or moves was served (or waived it): FRCP 4(m) is met
        meets.append(Obligation("serve", None, next(o.party for o in meets)))
    for obligation in meets:
        targets = [obligation]
        if obligation.kind == "reply" and obligation.ref is not None:
            # a reply "re 32" (the opposition) is in support of the motion 32 opposed
            opposed = _entry(session, case_id, obligation.ref)
            if opposed is not None:
                targets += [replace(obligation, ref=n) for n, _ in
                            motion_refs(opposed.description or opposed.short_description)]
        for target in targets:
            for row in _rows_for(session, case_id, target, (*OPEN, "suspended")):
                if row.id in met:
                    continue
                met.add(row.id or 0)
                row.met_by = ref
                row.extension_requested = None
                _set_state(session, chain, row, "met", "deadline.met", event,
                           f"met by entry {ref['entry_number'] or ref['date_filed']}",
                           {"met_by": ref})
    # a filing named like what an order asked for ("State Court Record" for "state court
    # record"), when the order's act has a name of two words or more
    if not facts.is_order:
        lead = " ".join(text.split()[:12]).lower()
        for row in _rows(session, case_id, OPEN):
            what = row.label.split(" (")[0].lower()
            if row.obligation.startswith("order:") and len(what.split()) >= 2 \
                    and what in lead and row.id not in met:
                met.add(row.id or 0)
                row.met_by = ref
                _set_state(session, chain, row, "met", "deadline.met", event,
                           f"met by entry {ref['entry_number'] or ref['date_filed']}",
                           {"met_by": ref})
    # a renewed motion meets the date to renew it ("renewal of motion to certify a class [2]"
    # by "Renewed MOTION to Certify Class"): a word of the motion's object in common
    if not facts.is_order and re.match(r"(?i)^\s*(?:\S+\s+){0,3}MOTION\b", text):
        opening = set(re.findall(r"[a-z]{4,}", " ".join(text.split()[:14]).lower()))
        for row in _rows(session, case_id, OPEN):
            if not row.obligation.startswith("order:renew") or row.id in met:
                continue
            wanted = set(re.findall(r"[a-z]{4,}", row.label.lower())) - _RENEW_NOISE
            if wanted & opening:
                met.add(row.id or 0)
                row.met_by = ref
                _set_state(session, chain, row, "met", "deadline.met", event,
                           f"met by entry {ref['entry_number'] or ref['date_filed']}",
                           {"met_by": ref})
    # a filing "re N" that answers an order's own deadline ("RESPONSE re 17 Order")
    if facts.refs and not facts.is_order and re.match(
            r"(?i)^\s*(?:\S+\s+){0,3}(?:response|reply|status\s+report|notice\s+of\s+compliance|"
            r"return|report|brief|memorandum)\b", text):
        for row in _rows(session, case_id, OPEN):
            source = (row.pending or {}).get("order_entry")
            if row.obligation.startswith("order:") and source in facts.refs and row.id not in met:
                row.met_by = ref
                _set_state(session, chain, row, "met", "deadline.met", event,
                           f"met by entry {ref['entry_number'] or ref['date_filed']}",
                           {"met_by": ref})


_RENEW_NOISE = frozenset({"renewal", "motion", "with", "leave", "plaintiff", "plaintiffs",
                          "defendant", "defendants", "their", "this", "that", "court"})


def _responded(session: Session, case_id: int, party: str, number: int | None) -> bool:
    """Whether the case already has an answer or a Rule 12 motion by `party` (any, when the
    party is unnamed or the government)."""
    for row in session.exec(select(Entry).where(Entry.case_id == case_id)).all():
        if number is not None and row.entry_number == number:
            continue
        for met in read_entry(row.description or row.short_description).meets:
            if met.kind != "respond-complaint":
                continue
            if not party or not met.party or is_government(party) or same_party(met.party, party):
                return True
    return False


def _entry(session: Session, case_id: int, number: int) -> Entry | None:
    return session.exec(select(Entry).where(Entry.case_id == case_id,
                                            Entry.entry_number == number)).first()


def _flag_extensions(session: Session, case_id: int, facts: EntryFacts,
                     ref: dict[str, Any]) -> None:
    for obligation in facts.extension_for:
        if obligation.kind == "*":
            rows = _rows(session, case_id, OPEN)
            rows = rows if len(rows) == 1 else []
        else:
            rows = _rows_for(session, case_id, obligation, OPEN)
            if not rows and obligation.party:
                rows = _rows_for(session, case_id, replace(obligation, party=""), OPEN)
        for row in rows:
            row.extension_requested = ref
            session.add(row)


def _rulings(session: Session, chain: Sequence[EventListener], case_id: int, facts: EntryFacts,
             ref: dict[str, Any], moved: set[int], event: Event) -> None:
    if not (facts.granted or facts.denied):
        return
    decided = {*facts.granted, *facts.denied}
    for row in _rows(session, case_id, LIVE):
        kind, _, number = row.obligation.partition(":")
        if kind in ("oppose", "reply") and number.isdigit() and int(number) in decided \
                and row.id not in moved:
            if row.state == "waiting":
                row.state = "vacated"
                session.add(row)
                continue
            _set_state(session, chain, row, "vacated", "deadline.vacated", event,
                       f"vacated: the court decided motion [{number}]", {"vacated_by": ref})
    flagged = _rows(session, case_id, OPEN)
    # motions whose grant moved some deadline: the order said whose time it extends
    dated = {(r.extension_requested or {}).get("entry_number") for r in flagged if r.id in moved}
    for row in flagged:
        asked = row.extension_requested or {}
        motion = asked.get("entry_number")
        if motion is None:
            continue
        if motion in facts.denied or (motion in facts.granted and (
                row.id in moved or motion in dated)):
            row.extension_requested = None
        elif motion in facts.granted:
            row.extension_requested = {**asked, "granted": ref}
        else:
            continue
        session.add(row)


def _resume(session: Session, chain: Sequence[EventListener], case_id: int, event: Event,
            ref: dict[str, Any], day: date, moved: set[int]) -> None:
    for row in _rows(session, case_id, ("suspended",)):
        since = (row.pending or {}).get("suspended_on")
        before = row.due_date
        if since and row.id not in moved:
            shift = (day - date.fromisoformat(since)).days
            if shift > 0:
                row.due_date = row.due_date + timedelta(days=shift)
                row.due_at = None
                row.steps = [*row.steps, f"Stayed from {since} to {day.isoformat()}: "
                             f"{shift} days added, due {row.due_date.isoformat()}"]
                row.sequence += 1
                row.reminders_sent = []
        row.pending = {k: v for k, v in (row.pending or {}).items() if k != "suspended_on"} or None
        _set_state(session, chain, row, "open", "deadline.resumed", event,
                   "resumed: the stay is lifted", {"resumed_by": ref,
                                                   "before": before.isoformat()})


# ------------------------------------------------------------------------------ set / move


def _sentence(text: str, start: int, end: int) -> str:
    left = max(text.rfind(". ", 0, start), text.rfind("; ", 0, start))
    right_dot = [i for i in (text.find(". ", end), text.find("; ", end)) if i >= 0]
    right = min(right_dot) if right_dot else len(text)
    return text[left + 1 if left >= 0 else 0:right]


def _court_specs(text: str, number: int | None, day: date, today: date
                 ) -> list[tuple[Obligation, date, str, str]]:
    """(obligation, due, extract label, phrase) for every court-set date in the text."""
    out: list[tuple[Obligation, date, str, str]] = []
    for found in extract_court_dates(text):
        if found.due < today:
            continue
        at = text.find(found.text)
        clause = _sentence(text, at, at + len(found.text)) if at >= 0 else found.text
        party = found.party or _possessor(found.text) or served_party(text)
        label = found.label
        renewal = _renewal(text[:at] if at >= 0 else "", found.text, label)
        if renewal is not None:
            out.append((renewal[0], found.due, renewal[1], found.text))
            continue
        if re.search(r"\bBy\s+(?:[A-Z][a-z]+day,?\s+)?\d{1,2}/", found.text):
            # "By Friday 7/26/2019, the District Attorney shall file, ..., a copy of the
            # state court record": the act and who owes it follow the date
            after = text[at + len(found.text):] if at >= 0 else ""
            stop = re.search(r"(?<!\bNo)(?<!\bInc)(?<!\bCo)(?<!\bv)\.\s+[A-Z]", after)
            after = after[:stop.start()] if stop else after
            who = re.match(r"\s*(?:the\s+)?(?P<who>[^,]{2,80}?)(?:\s+for\s+[^,]*)?"
                           r"(?:,[^,]*)*?\s+(?:shall|must)\b", after)
            party = party or (who.group("who") if who else "")
            copy = re.search(r"(?i)\bcop(?:y|ies)\s+of\s+(?:the\s+)?(?:entire\s+)?"
                             r"(?P<what>[\w ]{3,40}?)"
                             r"(?=[,.]|\s+(?:electronically|including|filed))", after)
            label = copy.group("what") if copy else (_ordered_act(after) or label)
            clause = f"shall file {label}"
        if label in _JUNK_LABELS or len(label) < 3:
            label = _ordered_act(clause) or f"filing ordered by entry {number or day.isoformat()}"
        named = [] if party or at < 0 else _subject_parties(text[:at] + found.text)
        for owner in named or [party]:
            for obligation in obligation_for(clause, label, entry_text=text,
                                             entry_number=number, party=owner):
                out.append((obligation, found.due, label, found.text))
    return out


_RENEWABLE = re.compile(
    r"(?P<motion>motion\s+(?:to|for)\s+[^,.;]{3,80}?)\s*,?\s*(?:\(?(?:ECF|Doc(?:ument)?|Dkt\.?|"
    r"Docket)\s*(?:No\.?\s*)?#?\s*(?P<ref>\d+)\)?\s*,?\s*)?(?:\[(?P<bracket>\d+)\]\s*,?\s*)?"
    r"(?:is|are|be)\s+(?:hereby\s+)?DENIED\s*$", re.IGNORECASE)


def _renewal(before: str, phrase: str, label: str) -> tuple[Obligation, str] | None:
    """"Plaintiff's motion to certify a class, ECF 2, is DENIED without prejudice to renewal by
    December 1, 2014": the date by which the movant may renew the motion - an obligation
    `order:renew[:N]` labelled "Renewal of motion to ... [N]", which lapses silently (a right,
    like the amendment window: reminders, never overdue)."""
    cut = re.search(r"(?i)\bwithout\s+prejudice\s+to\b", phrase)
    if not cut:
        return None
    found = _RENEWABLE.search((before + phrase[:cut.start()])[-200:].rstrip())
    if not found:
        return None
    number = found.group("ref") or found.group("bracket")
    ref = int(number) if number else None
    motion = " ".join(found.group("motion").split()) or label
    label = f"renewal of {motion}" + (f" [{ref}]" if ref is not None else "")
    return Obligation("order:renew", ref), label


_SUBJECT = re.compile(
    r"(?:^|(?<!\bInc)(?<!\bCo)(?<!\bCorp)(?<!\bLtd)(?<!\bNo)(?<!\bv)(?<!\bL\.L\.C)(?<!\bN\.A)"
    r"[.;:]\s+)(?:(?:it\s+is\s+)?(?:further\s+)?ordered\s+that\s+)?(?:the\s+)?"
    r"(?:defendants|respondents|plaintiffs|petitioners)\s+(?P<names>[^;:]{3,300}?)\s+"
    r"(?:shall|must|(?:is|are)\s+(?:hereby\s+)?(?:directed|ordered|granted))\b[^.;]*$",
    re.IGNORECASE)
_SUFFIX_PIECE = re.compile(r"(?i)^(?:inc|llc|l\.l\.c|corp|co|ltd|lp|llp|n\.a|plc|p\.c|pllc)\.?$")


def _subject_parties(before: str) -> list[str]:
    """The parties an order's sentence names as its subject, when it names two or more
    ("Defendants WP Company, LLC, NBCUniversal Media, LLC, and Dow Jones & Company, Inc.
    shall have ... until August 8, 2019, to file their answers" -> the three companies)."""
    found = _SUBJECT.search(before)
    if not found:
        return []
    names: list[str] = []
    for piece in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", found.group("names")):
        piece = piece.strip(" ,")
        if not piece:
            continue
        if _SUFFIX_PIECE.match(piece) and names:
            names[-1] = f"{names[-1]}, {piece}"
        else:
            names.append(piece)
    names = [n.rstrip(" .") for n in names if party_token(n) and not re.search(
        r"(?i)\b(?:shall|must|motion|order|court)\b", n)]
    return names if len(names) >= 2 else []


_JUNK_LABELS = frozenset({"order", "he", "she", "it", "they", "them", "defendants", "defendant",
                          "plaintiff", "plaintiffs", "respondents", "respondent", "petitioner",
                          "parties", "court", "clerk", "deadline", "minute order", "this"})
_POSSESSOR = re.compile(r"^\s*(?:(?:and|that|the|further)\s+)*(?P<who>[A-Z][\w!&.,' -]{0,60}?)"
                        r"(?:['’]s?)\s+(?:answer|response|brief|reply|opposition)", re.IGNORECASE)
_FOR_WHOM = re.compile(r"\bdeadline\s+for\s+(?:the\s+)?(?P<who>[\w!&.' -]{1,60}?)\s+to\s+",
                       re.IGNORECASE)


def _possessor(phrase: str) -> str:
    found = _POSSESSOR.search(phrase) or _FOR_WHOM.search(phrase)
    who = found.group("who").strip() if found else ""
    return who if party_token(who) else ""


def _period_specs(text: str, facts: EntryFacts) -> list[tuple[Obligation, Period, str]]:
    if not facts.is_order or re.match(r"(?i)^\s*general\s+order\b", text):
        return []
    out: list[tuple[Obligation, Period, str]] = []
    for period in read_periods(text):
        clause = _sentence(text, period.start, period.end)
        if period.before or re.search(r"(?i)\b(?:under\s+seal|maintained|retain)\b", clause):
            continue
        # the words tied to the period: from the last comma or semicolon before it
        cut = max(clause.rfind(",", 0, max(0, clause.find(period.phrase))),
                  clause.rfind(";", 0, max(0, clause.find(period.phrase))))
        local = clause[cut + 1:] if cut >= 0 else clause
        if not _ACT.search(local) and not re.search(r"(?i)\b(?:answer|respon|repl|oppos)", local):
            local = clause
        label = _ordered_act(local) or normalize_label(local)
        for obligation in obligation_for(local, label, entry_text=text):
            out.append((obligation, period, label))
    return out


_ACT = re.compile(r"\b(?:shall|must|to|will)\s+(?:file|submit|serve|provide|complete|pay|show|"
                  r"produce|respond\s+to)\s+(?:(?:a|an|the|its|their|his|her|all)\s+)?"
                  r"(?P<what>[^,.;()]{3,80})", re.IGNORECASE)


def _ordered_act(clause: str) -> str:
    """What an order's period is for, in the order's words: "shall file a status report
    within 14 days" -> "status report"."""
    found = _ACT.search(clause)
    if not found:
        return ""
    what = re.sub(r"(?i)^(?:(?:to\s+(?:this|the)\s+court|with\s+the\s+clerk|either)\s+)+", "",
                  found.group("what").strip())
    amount = re.match(r"\$\s*([\d,]+(?:\.\d\d)?)", what)
    if amount:
        return f"payment of ${amount.group(1)}"
    what = re.split(r"\s+(?:within|no\s+later|by|on\s+or|from|of|to\s+the|with)\b",
                    what, maxsplit=1)[0]
    return " ".join(what.split()[:6])


def _resolve(session: Session, case: Case, obligation: Obligation) -> Deadline | None:
    """The row an order's date is for: that party's, else the one with no party (claimed)."""
    live = _rows(session, case.id or 0, (*LIVE, "met"))
    rows = [r for r in live if r.obligation == obligation.name]
    if not rows and obligation.ref is None and obligation.kind in ("oppose", "reply"):
        # "Opposition due by ..." naming no motion: the latest motion's
        rows = sorted((r for r in live if r.obligation.split(":")[0] == obligation.kind
                       and r.state != "met"), key=lambda r: r.created_at, reverse=True)[:1]
    if not obligation.party:
        unnamed = [r for r in rows if not r.party]
        open_rows = [r for r in rows if r.state != "met"]
        if unnamed:
            return unnamed[0]
        return open_rows[0] if len(open_rows) == 1 else None
    mine = [r for r in rows if same_party(r.party, obligation.party)]
    if mine:
        return mine[0]
    # a computed clock of no named party becomes the named party's when the court names one
    unnamed = [r for r in rows if not r.party and r.state != "met" and r.origin == "computed"]
    return unnamed[0] if unnamed else None


def _granted_row(session: Session, case_id: int, obligation: Obligation,
                 facts: EntryFacts) -> Deadline | None:
    """The open deadline of this obligation whose extension a motion granted by this order
    asked for ("ORDER granting 19 Motion for Extension of Time ... answer is due 10/1/07"):
    the one of the party the order names, else the only one the motion flagged."""
    if not facts.granted or obligation.kind in ("oppose", "reply"):
        return None
    rows = [r for r in _rows(session, case_id, OPEN)
            if (r.extension_requested or {}).get("entry_number") in facts.granted
            and r.obligation.split(":")[0] == obligation.kind]
    mine = [r for r in rows if obligation.party and same_party(r.party, obligation.party)]
    if len(mine) == 1:
        return mine[0]
    return rows[0] if len(rows) == 1 and not mine else None


def _label(session: Session, case_id: int, obligation: Obligation, label: str) -> str:
    motion = ""
    if obligation.ref is not None:
        found = _entry(session, case_id, obligation.ref)
        if found is not None:
            motion = motion_name(found.description or found.short_description)
    return obligation_label(obligation, motion=motion, label=label)


def _set_and_move(session: Session, chain: Sequence[EventListener], case: Case, event: Event,
                  text: str, facts: EntryFacts, computed: Sequence[Any], day: date,
                  today: date, compute_period: Any, shown: str = "") -> set[int]:
    case_id = case.id or 0
    data = event.data or {}
    number = data.get("entry_number")
    specs: dict[str, DeadlineSpec] = {}
    meta: dict[str, dict[str, Any]] = {}

    def add(obligation: Obligation, spec: DeadlineSpec, extra: dict[str, Any],
            label: str) -> None:
        row = _resolve(session, case, obligation)
        if spec.origin != "computed":
            linked = _granted_row(session, case_id, obligation, facts)
            if linked is not None:
                # the order grants the motion that asked for this deadline's extension: that
                # deadline moves, whatever name the order gives its party
                row, obligation = linked, replace(obligation, party=linked.party)
        if row is not None and obligation.ref is None and row.obligation != obligation.kind:
            ref = row.obligation.rsplit(":", 1)[-1]
            obligation = replace(obligation, ref=int(ref) if ref.isdigit() else None)
        met_on = ((row.met_by or {}).get("date_filed") or "") if row is not None else ""
        if row is not None and row.state == "met" and (
                met_on >= day.isoformat() or (spec.origin != "computed" and not facts.is_order)):
            return  # met already: a clerk's "answer due" on a later return restates history
        if row is not None and row.party and not obligation.party:
            obligation = replace(obligation, party=row.party)
        key = row.key if row is not None else obligation_key(case_id, obligation)
        spec = replace(spec, key=key, label=_label(session, case_id, obligation, label),
                       obligation=obligation.name,
                       party=obligation.party or (row.party if row is not None else ""))
        previous = specs.get(key)
        if previous is not None and previous.origin == "computed" and spec.origin != "computed":
            spec = replace(spec, computed_due=previous.due_date, citation=previous.citation,
                           rule_id=previous.rule_id,
                           steps=(*spec.steps, *previous.steps))
        elif previous is not None and (spec.origin == "computed" or (
                extra.get("order_entry") is not None and meta[key].get("explicit"))):
            return  # a date the order writes out outranks a period it counts
        specs[key] = spec
        meta[key] = {"obligation": obligation, "row": row, **extra}

    for spec in computed:
        kind = spec.extra.get("obligation") or f"rule:{spec.rule_id}"
        obligation = Obligation(kind, spec.extra.get("ref"),
                                served_party(text) if kind == "respond-complaint" else "")
        if kind == "respond-complaint" and _responded(session, case_id, obligation.party, number):
            continue
        if kind == "amend":
            # each 15(a)(1)(B) window is its own deadline; an open one (the earlier) governs
            if any(r.obligation.split(":")[0] == "amend" for r in _rows(session, case_id, OPEN)):
                continue
            obligation = replace(obligation, ref=number)
        row = _resolve(session, case, obligation)
        # met already, unless the window opens again (a new Rule 12 motion or answer for
        # 15(a)(1)(B); a ruling on a Rule 12 motion for 12(a)(4)(A))
        done = row is not None and row.state == "met" and kind != "amend" and not facts.is_order
        if row is not None and ((row.origin == "court-set" and row.state in LIVE) or done
                                or (spec.trigger_estimated and row.state in OPEN)):
            continue  # the court's date stands; an undated return starts no second clock
        add(obligation, replace(spec, extra={}), {}, spec.label)
    # the docket's own words in the steps, when party aliases were read into the text
    quoted = {found.due: found.text for found in extract_court_dates(shown)} \
        if shown and shown != text else {}
    for obligation, due, label, phrase in _court_specs(text, number, day, today):
        if obligation.kind == "respond-complaint" and not facts.is_order and _responded(
                session, case_id, obligation.party, number):
            continue  # a clerk's "answer due" on a return for a defendant who already answered
        row = _resolve(session, case, obligation)
        steps = [f'Set by the court in the docket text: "{quoted.get(due, phrase)}"']
        computed_due, citation, rule_id = None, "", ""
        if row is not None and row.origin == "computed":
            computed_due, citation, rule_id = row.due_date, row.citation, row.rule_id
        elif row is not None and row.computed_due:
            computed_due, citation, rule_id = row.computed_due, row.citation, row.rule_id
        if computed_due is not None and computed_due != due:
            steps.append(f"The rule ({citation}) would give {computed_due.isoformat()}; "
                         "the court's date governs.")
        add(obligation, DeadlineSpec(
            key="", subject=f"{case.court}:{case.docket_number}",
            label=label, due_date=due,
            origin="court-set", case_id=case_id, timezone=_zone(case), trigger_date=day,
            trigger_text=(shown or text)[:500], steps=tuple(steps), computed_due=computed_due,
            citation=citation, rule_id=rule_id), {"explicit": True}, label)
    for obligation, period, label in _period_specs(text, facts):
        if period.anchor == "event":
            _wait(session, case, obligation, period, label, day, number, text, event)
            continue
        result = compute_period(day, period.days, period.unit)
        due = result.due
        if due < today:
            continue
        add(obligation, DeadlineSpec(
            key="", subject=f"{case.court}:{case.docket_number}",
            label=label, due_date=due,
            origin="court-set", case_id=case_id, timezone=_zone(case), trigger_date=day,
            trigger_text=(shown or text)[:500],
            steps=(f'Ordered: "{period.phrase}", counted from the order of {day.isoformat()}',
                   *result.steps)), {"order_entry": number}, label)
    moved: set[int] = set()
    for key, spec in specs.items():
        info = meta[key]
        obligation = info["obligation"]
        upsert_deadline(session, chain, spec, now=event.at, source_id=event.source_id)
        row = session.exec(select(Deadline).where(Deadline.key == key)).first()
        if row is None:
            continue
        row.obligation, row.party = obligation.name, obligation.party or row.party
        if info.get("order_entry") is not None:
            row.pending = {**(row.pending or {}), "order_entry": info["order_entry"]}
        session.add(row)
        moved.add(row.id or 0)
    return moved


def _zone(case: Case) -> str:
    court = COURTS.get(case.court)
    return court.timezone if court else "America/New_York"


def _wait(session: Session, case: Case, obligation: Obligation, period: Period, label: str,
          day: date, number: int | None, text: str, event: Event) -> None:
    """Store a period whose anchor is a future event; `_start_waiting` starts it."""
    waits = {"days": period.days, "unit": period.unit, "anchor": period.anchor_text,
             "phrase": period.phrase, "order_entry": number, "ordered_on": day.isoformat()}
    known = _resolve(session, case, obligation)
    if known is not None and known.state not in ("waiting", "met"):
        # the obligation has a deadline already: it moves when the event comes
        known.pending = {**(known.pending or {}), "waits": waits}
        session.add(known)
        return
    key = obligation_key(case.id or 0, obligation)
    row = session.exec(select(Deadline).where(Deadline.key == key)).first()
    if row is not None and row.state != "waiting":
        return
    row = row or Deadline(key=key, subject=f"{case.court}:{case.docket_number}",
                          due_date=day, created_at=event.at, updated_at=event.at)
    row.case_id, row.state, row.origin = case.id, "waiting", "court-set"
    row.label = _label(session, case.id or 0, obligation, label)
    row.obligation, row.party = obligation.name, obligation.party
    row.timezone, row.trigger_text = _zone(case), text[:500]
    row.pending = waits
    session.add(row)
    session.flush()


def _start_waiting(session: Session, chain: Sequence[EventListener], case: Case, event: Event,
                   text: str, day: date, zone: str, compute_period: Any) -> set[int]:
    """Start the periods waiting for the event this entry is; their row ids."""
    started: set[int] = set()
    number = (event.data or {}).get("entry_number")
    for row in _rows(session, case.id or 0, LIVE):
        pending: dict[str, Any] = (row.pending or {}) if row.state == "waiting" else \
            ((row.pending or {}).get("waits") or {})
        if not pending:
            continue
        if pending.get("order_entry") == number and number is not None:
            continue
        if not anchor_matches(str(pending.get("anchor", "")), text):
            continue
        result = compute_period(day, int(pending["days"]), str(pending["unit"]))
        spec = DeadlineSpec(
            key=row.key, subject=row.subject, label=row.label, due_date=result.due,
            origin="court-set", case_id=case.id, timezone=zone, trigger_date=day,
            trigger_text=text[:500],
            steps=(f'Ordered: "{pending.get("phrase")}" (order of {pending.get("ordered_on")}); '
                   f"the event came with entry {number or day.isoformat()} on {day.isoformat()}",
                   *result.steps))
        upsert_deadline(session, chain, spec, now=event.at, source_id=event.source_id)
        started.add(row.id or 0)
        if "waits" in (row.pending or {}):
            row.pending = {k: v for k, v in (row.pending or {}).items() if k != "waits"} or None
            session.add(row)
    return started

