"""What a matter is linked to: the lawsuit about it and the agency's 287(g) agreement.

Read-only, over the stored rows. One agency-name comparison (`agency_match`) serves both links,
and says how it matched:

- `exact`: the names are equal once normalized (`sources.agreement_identity.agency_key`:
  case, punctuation, "Sheriff's Office" / "Sheriff", "Co." / "County"...), in the same state;
- `alias`: the same kind of body (sheriff, police...) and the same distinctive words
  ("Miami-Dade Sheriff's Office" / "Miami-Dade County Sheriff's Office"; "Sheriff of Harris
  County" / "Harris County Sheriff");
- `fuzzy`: the same kind of body and a token-set similarity of at least `FUZZY_MIN` (the
  score is given, 0-100).

A lawsuit is linked by hand (`Matter.case_ref`: `[[matter]] case`, `matters add --case`, a
`muckrock` source's `[[source.link]]`, or `matters link`), or found: a tracked case (one a
watch found, e.g. a watch on the sheriff's name) with a party that names the matter's agency.
The court's state must not contradict the agency's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from monitor.agreement_store import agreement_row_json
from monitor.models import Agreement, Case, Matter
from monitor.queries import find_case
from sources.agreement_identity import agency_key, body_of, name_stem, state_code
from sources.courts import COURTS

__all__ = ["FUZZY_MIN", "NameMatch", "agency_match", "agreements_for_matter", "case_parties",
           "cases_for_agency", "cases_for_matter", "matters_for_agency"]

FUZZY_MIN = 88
How = Literal["exact", "alias", "fuzzy"]
_PARTY_SPLIT = re.compile(r"\s+(?:v|vs)\.?\s+|;|\s+and\s+(?=[A-Z])", re.IGNORECASE)
_ET_AL = re.compile(r",?\s+et\s+al\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class NameMatch:
    """How two agency names matched, and how well (100 for exact and alias)."""

    how: How
    score: float

    def as_dict(self) -> dict[str, Any]:
        """`{how, score}` as shown in `--json`."""
        return {"how": self.how, "score": round(self.score, 1)}


def agency_match(name: str, other: str, state: str = "") -> NameMatch | None:
    """Whether two names are one agency (in `state`, when known), and how."""
    if not name.strip() or not other.strip():
        return None
    a, b = agency_key(name, state), agency_key(other, state)
    if a == b:
        return NameMatch("exact", 100.0)
    body = body_of(name)
    if not body or body != body_of(other):
        return None
    if name_stem(name, state) == name_stem(other, state):
        return NameMatch("alias", 100.0)
    score = float(fuzz.token_set_ratio(a, b))
    return NameMatch("fuzzy", score) if score >= FUZZY_MIN else None


def case_parties(case_name: str) -> list[str]:
    """The parties a case name lists ("Doe v. Harris County Sheriff's Office et al." ->
    ["Doe", "Harris County Sheriff's Office"]); a party "Gonzalez, Sheriff of Harris County"
    also gives its office ("Sheriff of Harris County")."""
    parties: list[str] = []
    for part in _PARTY_SPLIT.split(case_name):
        party = _ET_AL.sub("", part.strip()).strip(" ,.")
        if not party:
            continue
        parties.append(party)
        if "," in party:
            parties.extend(p.strip() for p in party.split(",")[1:] if p.strip())
    return parties


def _best(name: str, candidates: Iterable[str], state: str) -> NameMatch | None:
    best: NameMatch | None = None
    for candidate in candidates:
        found = agency_match(name, candidate, state)
        if found is not None and (best is None or found.score > best.score):
            best = found
    return best


def _court_state(court: str) -> str:
    known = COURTS.get(court)
    return known.state if known is not None else ""


def cases_for_agency(session: Session, agency: str, state: str) -> list[dict[str, Any]]:
    """Tracked cases with a party naming `agency`: `{court, docket_number, case_name,
    matched_by, link: {how, score, party?}}`."""
    out = []
    for case in session.exec(select(Case).where(Case.tracked == True)  # noqa: E712
                             .order_by(col(Case.first_seen))).all():
        court_state = _court_state(case.court)
        if state and court_state and court_state != state:
            continue
        parties = case_parties(case.case_name)
        found = _best(agency, parties, state)
        if found is None:
            continue
        party = next(p for p in parties if agency_match(agency, p, state) == found)
        out.append({**_case_json(case), "link": {**found.as_dict(), "party": party}})
    return out


def _case_json(case: Case) -> dict[str, Any]:
    return {"court": case.court, "docket_number": case.docket_number,
            "case_name": case.case_name, "case_id": case.id,
            "matched_by": list(case.matched_by)}


def cases_for_matter(session: Session, matter: Matter) -> list[dict[str, Any]]:
    """The lawsuits of a matter: the one linked by hand first, then those naming its agency."""
    out: list[dict[str, Any]] = []
    if matter.case_ref:
        court, _, docket = matter.case_ref.partition(":")
        case = find_case(session, court, docket)
        if case is not None:
            out.append({**_case_json(case), "link": {"how": "by hand", "score": 100.0}})
    seen = {c["case_id"] for c in out}
    out += [c for c in cases_for_agency(session, matter.agency, matter.state)
            if c["case_id"] not in seen]
    return out


def agreements_for_matter(session: Session, matter: Matter) -> list[dict[str, Any]]:
    """The 287(g) agreements of the matter's agency (same state): `agreements --json` rows with
    `link: {how, score}`, best first."""
    if not matter.agency:
        return []
    out = []
    for agreement in session.exec(select(Agreement).order_by(col(Agreement.id))).all():
        code = state_code(agreement.state)
        if matter.state and code != matter.state:
            continue
        found = agency_match(matter.agency, agreement.agency, code)
        if found is not None:
            out.append({**agreement_row_json(agreement), "link": found.as_dict()})
    return sorted(out, key=lambda a: -float(a["link"]["score"]))


def matters_for_agency(session: Session, agency: str, state: str) -> list[dict[str, Any]]:
    """Matters whose agency is `agency` (in `state`): `{id, title, agency, status, url,
    link: {how, score}}`."""
    code = state_code(state) if state else ""
    out = []
    for matter in session.exec(select(Matter).order_by(col(Matter.created_at))).all():
        if code and matter.state and matter.state != code:
            continue
        found = agency_match(agency, matter.agency, code)
        if found is not None:
            out.append({"id": matter.id, "title": matter.title or None, "agency": matter.agency,
                        "status": matter.status or None, "url": matter.url or None,
                        "closed": matter.closed, "link": found.as_dict()})
    return out
