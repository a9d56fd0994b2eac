"""Renames, moves and model corrections among the rows that vanished and appeared in one list.

Pure. A row that vanished from a list and one that appeared in the same list are one agreement
when they share the state and the model, their COUNTY cells (when both are filled) name the
same county, and a tier says so, tried in order:

1. `prefix/suffix`: the names are equal once their generic words are gone ("City of X Police
   Department" / "X Police"), or one is the other cut short (ICE truncates long names);
2. `edit distance`: a typo (optimal string alignment distance, a swap counting once, within
   `max(2, len / 12)`, on the normalized names or the names as published);
3. `tokens + county`: the same county, the same kind of body, and the distinctive words of one
   name among the other's ("Sheriff's Department" / "Sheriff's Office" within one county).

Tiers 1 and 2 also need the same SIGNED date or the same county (or a list without SIGNED, as
pending); a SIGNED date revised in the same snapshot is accepted only with the same county.
Tier 3 needs the same county and no conflicting SIGNED date.
Then two more kinds of match, said as changes rather than renames:

- `moved`: same county, same SIGNED date, another kind of body (the sheriff's agreement now under
  the board of county commissioners);
- `model`: the same agency and SIGNED date under another model (ICE relabels the support type).

Within a tier a pair is taken only when each side is the other's single best candidate, so an
ambiguous pair stays unmatched (it then reads as missing + added, never as a wrong rename).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from sources.agreement_identity import (
    agency_key,
    body_of,
    canonical_model,
    county_key,
    distinctive_tokens,
    name_stem,
    plain_name,
    state_code,
)
from sources.base import AgreementRow

__all__ = ["How", "Match", "county_of", "match_vanished"]

How = Literal["prefix/suffix", "edit distance", "tokens + county", "moved", "model"]
_TRUNCATION_MIN = 10


@dataclass(frozen=True)
class Match:
    """A vanished row and the appeared row that continues it, and the tier that said so."""

    old: AgreementRow
    new: AgreementRow
    how: How


@dataclass(frozen=True)
class _Facts:
    row: AgreementRow
    state: str
    model: str
    name: str
    #: the name as published, folded, without spaces ("KansasBureau" and "Kansas Bureau")
    plain: str
    stem: str
    county: str
    county_cell: str
    body: str


def county_of(row: AgreementRow) -> str:
    """The row's county: its COUNTY cell, else the words before "County" in its name."""
    if row.county:
        return county_key(row.county)
    words = agency_key(row.agency, row.state).split()
    if "county" in words:
        return " ".join(words[: words.index("county")])
    return ""


def _facts(row: AgreementRow) -> _Facts:
    return _Facts(
        row=row,
        state=state_code(row.state),
        model=canonical_model(row.support_type),
        name=agency_key(row.agency, row.state),
        plain=plain_name(row.agency).replace(" ", ""),
        stem=name_stem(row.agency, row.state),
        county=county_of(row),
        county_cell=county_key(row.county),
        body=body_of(row.agency),
    )


def _counties_differ(a: _Facts, b: _Facts) -> bool:
    """Both COUNTY cells filled and naming different counties (a typo fixed in the cell is
    still the same county)."""
    if not (a.county_cell and b.county_cell) or a.county_cell == b.county_cell:
        return False
    if min(len(a.county_cell), len(b.county_cell)) < 5:
        return True  # Lee and Lea are two counties
    return Levenshtein.distance(a.county_cell, b.county_cell, score_cutoff=2) > 1


def _same_county(a: _Facts, b: _Facts) -> bool:
    return bool(a.county) and (a.county == b.county or (
        bool(a.county_cell) and bool(b.county_cell) and not _counties_differ(a, b)))


def _dates_differ(a: _Facts, b: _Facts) -> bool:
    return a.row.signed is not None and b.row.signed is not None and a.row.signed != b.row.signed


def _anchored(a: _Facts, b: _Facts) -> bool:
    """Same SIGNED date or same county, or a list that has no SIGNED column at all."""
    if a.row.signed and a.row.signed == b.row.signed:
        return True
    if _same_county(a, b):
        return True
    return a.row.signed is None and b.row.signed is None


def _prefix_suffix(a: _Facts, b: _Facts) -> float:
    if a.stem and a.stem == b.stem:
        return 100.0
    for one, other in ((a.name, b.name), (a.plain, b.plain)):
        short, long = sorted((one, other), key=len)
        if len(short) < _TRUNCATION_MIN or len(short) < 0.6 * len(long):
            continue
        if long.startswith(short):
            return 100.0 * len(short) / len(long)
        if len(long) - len(short) < 3:
            continue  # as long as the other: a typo, not a cut (the next tier)
        # cut short, with one typo in what is left
        cuts = (long[: len(short) + k] for k in (-1, 0, 1))
        if min(OSA.distance(short, cut, score_cutoff=2) for cut in cuts) <= 1:
            return 100.0 * len(short) / len(long)
    return 0.0


def _edit_distance(a: _Facts, b: _Facts) -> float:
    """A typo, in the normalized names or in the names as published."""
    limit = max(2, max(len(a.name), len(b.name)) // 12)
    # OSA: a swapped pair of letters is one typo, not two
    distance = min(OSA.distance(a.name, b.name, score_cutoff=limit + 1),
                   OSA.distance(a.plain, b.plain, score_cutoff=limit + 1))
    return 100.0 - distance if distance <= limit else 0.0


def _tokens_county(a: _Facts, b: _Facts) -> float:
    if not _same_county(a, b) or _dates_differ(a, b):
        return 0.0
    if a.body and b.body and a.body != b.body:
        return 0.0
    mine = distinctive_tokens(a.row.agency, a.state, a.county)
    theirs = distinctive_tokens(b.row.agency, b.state, b.county)
    if mine <= theirs or theirs <= mine:
        return 90.0 + fuzz.ratio(a.name, b.name) / 10  # the closer name wins a tie
    score = fuzz.token_set_ratio(" ".join(sorted(mine)), " ".join(sorted(theirs)))
    return float(score) if score >= 85 else 0.0


def _moved(a: _Facts, b: _Facts) -> float:
    same_county = _same_county(a, b)
    same_day = a.row.signed is not None and a.row.signed == b.row.signed
    other_body = bool(a.body) and bool(b.body) and a.body != b.body
    return 100.0 if same_county and same_day and other_body else 0.0


Tier = tuple[How, Callable[[_Facts, _Facts], float], bool]
_RENAME_TIERS: tuple[Tier, ...] = (
    ("prefix/suffix", _prefix_suffix, True),
    ("edit distance", _edit_distance, True),
    ("tokens + county", _tokens_county, False),
    ("moved", _moved, False),
)


def _best_pairs(pool_a: Sequence[_Facts], pool_b: Sequence[_Facts],
                score: Callable[[_Facts, _Facts], float]) -> list[tuple[_Facts, _Facts]]:
    """Pairs where each side is the other's single best (positive) candidate."""
    scores = {(i, j): score(a, b) for i, a in enumerate(pool_a) for j, b in enumerate(pool_b)}
    scores = {k: v for k, v in scores.items() if v > 0}
    best_of_a: dict[int, list[tuple[float, int]]] = defaultdict(list)
    best_of_b: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (i, j), value in scores.items():
        best_of_a[i].append((value, j))
        best_of_b[j].append((value, i))

    def single_best(options: list[tuple[float, int]]) -> int | None:
        options.sort(reverse=True)
        if len(options) > 1 and options[1][0] == options[0][0]:
            return None
        return options[0][1]

    pairs = []
    for i, options in best_of_a.items():
        best = single_best(options)
        if best is not None and single_best(best_of_b[best]) == i:
            pairs.append((pool_a[i], pool_b[best]))
    return pairs


def _gated(tier: Tier, a: _Facts, b: _Facts) -> float:
    """A tier's score, once nothing contradicts the pair (and, for renames, one body)."""
    how, score, anchored = tier
    if _counties_differ(a, b) or (anchored and not _anchored(a, b)):
        return 0.0
    if anchored and _dates_differ(a, b) and not _same_county(a, b):
        return 0.0  # a redated row keeps its name only where its county vouches for it
    if how != "moved" and a.body and b.body and a.body != b.body:
        return 0.0  # another kind of body is a move, never a rename
    return score(a, b)


def _match_group(vanished: list[_Facts], appeared: list[_Facts]) -> list[Match]:
    matches: list[Match] = []
    for tier in _RENAME_TIERS:
        if not vanished or not appeared:
            break
        for a, b in _best_pairs(vanished, appeared, partial(_gated, tier)):
            matches.append(Match(a.row, b.row, tier[0]))
            vanished.remove(a)
            appeared.remove(b)
    return matches


def _same_agency_same_day(a: _Facts, b: _Facts) -> float:
    return 100.0 if a.name == b.name and a.row.signed and a.row.signed == b.row.signed else 0.0


def match_vanished(vanished: Sequence[AgreementRow],
                   appeared: Sequence[AgreementRow]) -> list[Match]:
    """Match rows that left a list to rows that arrived in it (renames, moves, model fixes)."""
    groups: dict[tuple[str, str], tuple[list[_Facts], list[_Facts]]] = defaultdict(
        lambda: ([], []))
    for row in vanished:
        f = _facts(row)
        groups[(f.state, f.model)][0].append(f)
    for row in appeared:
        f = _facts(row)
        groups[(f.state, f.model)][1].append(f)
    matches: list[Match] = []
    left_a: list[_Facts] = []
    left_b: list[_Facts] = []
    for old, new in groups.values():
        matches.extend(_match_group(old, new))
        left_a.extend(old)
        left_b.extend(new)
    by_state: dict[str, tuple[list[_Facts], list[_Facts]]] = defaultdict(lambda: ([], []))
    for f in left_a:
        by_state[f.state][0].append(f)
    for f in left_b:
        by_state[f.state][1].append(f)
    for old, new in by_state.values():
        if old and new:
            matches.extend(Match(a.row, b.row, "model")
                           for a, b in _best_pairs(old, new, _same_agency_same_day))
    return matches
