"""A run of ICE 287(g) lists derived from the real May 2025 ones by the edits ICE makes.

`build(participating, pending)` takes the real rows and returns the snapshots in order, and what
a person reading them side by side would report: the renames (old -> new), the real endings, the
new agreements, the move, the SIGNED corrections. Every edit is applied to rows picked by what
they are (a sheriff's office with a county cell, a long name, a municipal police department), so
the scenario follows the data, not hand-written names.

Snapshots (participating list; pending changes once):

0. the real lists: the baseline;
1. a day later: renames of every kind (`Ft.`, `Co.`, `Sheriff's Department`, a state-name prefix,
   `City of`, a truncated name, a typo, an added unit name), support-type misspellings, a row
   duplicated with a curly apostrophe, a sheriff's agreement moved to the county board, two
   SIGNED revisions, county cells blanked, whitespace and case edits, three real endings, one row
   dropped by mistake, two new agreements and one promotion from pending, rows reordered;
2. and 3. a broken file with a third of the rows, fetched twice;
4. normal again: the typo flips back, the misspellings are fixed, the dropped row is back;
5. and 6. a day and two days later, the typo made and fixed once more (the endings are
   confirmed at 5).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sources.agreement_identity import agreement_key, body_of
from sources.base import AgreementRow

__all__ = ["Scenario", "Step", "build"]


@dataclass(frozen=True)
class Step:
    """One fetch of both lists, `hours` after the baseline."""

    label: str
    hours: int
    participating: list[AgreementRow]
    pending: list[AgreementRow]


@dataclass
class Scenario:
    """The snapshots and what really happened in them."""

    steps: list[Step] = field(default_factory=list)
    #: (step, old agency, new agency)
    renames: list[tuple[int, str, str]] = field(default_factory=list)
    #: agencies whose agreement really ended at step 1 (confirmed later)
    endings: list[str] = field(default_factory=list)
    #: agencies dropped by mistake at step 1, back at step 4
    dropped_by_mistake: list[str] = field(default_factory=list)
    #: agencies really new at step 1 (promoted from pending included)
    new: list[str] = field(default_factory=list)
    #: (old agency, new agency) moved to another body of the same county
    moved: list[tuple[str, str]] = field(default_factory=list)
    #: agencies whose SIGNED date was revised
    corrected: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)


class _Picker:
    def __init__(self, rows: list[AgreementRow]) -> None:
        self.rows = rows
        self.used: set[int] = set()
        names = [(r.state, agreement_key(r.state, r.agency, "")[1]) for r in rows]
        # agencies listed once (one model): edits to them cannot be confused with another row
        self.single = {i for i, n in enumerate(names) if names.count(n) == 1}

    def take(self, ok: object) -> int:
        assert callable(ok)
        for i, row in enumerate(self.rows):
            if i not in self.used and i in self.single and ok(row):
                self.used.add(i)
                return i
        raise AssertionError("the real list has no row for this edit")


def _sheriff(row: AgreementRow) -> bool:
    return row.agency.endswith("County Sheriff's Office") and bool(row.county)


def _typo(name: str) -> str:
    word = name.split()[0]
    cut = len(word) // 2
    return name.replace(word, word[:cut] + word[cut + 1:], 1)


def build(participating: list[AgreementRow], pending: list[AgreementRow]) -> Scenario:
    """The scenario over the real rows (see the module docstring)."""
    s = Scenario()
    base = list(participating)
    pick = _Picker(base)
    s.steps.append(Step("baseline", 0, list(base), list(pending)))

    one = list(base)
    renames: dict[int, str] = {}

    def rename(i: int, new: str) -> None:
        renames[i] = new
        one[i] = replace(one[i], agency=new)

    i = pick.take(lambda r: r.agency.startswith("Fort "))
    rename(i, base[i].agency.replace("Fort ", "Ft. ", 1))
    i = pick.take(_sheriff)
    rename(i, base[i].agency.replace("Sheriff's Office", "Sheriff's Department"))
    i = pick.take(_sheriff)
    rename(i, base[i].agency.replace(" County ", " Co. "))
    i = pick.take(lambda r: r.type == "State Agency" and not r.agency.startswith(
        r.state.title()))
    rename(i, f"{base[i].state.title()} {base[i].agency}")
    i = pick.take(lambda r: r.type == "Municipality" and r.agency.endswith("Police Department")
                  and not r.agency.startswith("City of"))
    rename(i, "City of " + base[i].agency)
    i = pick.take(lambda r: len(r.agency) >= 34)
    rename(i, base[i].agency[: int(len(base[i].agency) * 0.8)].rstrip())
    typo = pick.take(lambda r: _sheriff(r) and len(r.agency) >= 30)
    rename(typo, _typo(base[typo].agency))
    i = pick.take(_sheriff)
    rename(i, base[i].agency + " Criminal Investigations Unit")
    i = pick.take(lambda r: r.agency.endswith("Police Department"))
    rename(i, base[i].agency.replace("Police Department", "Police Dept."))
    i = pick.take(lambda r: " and " in r.agency)
    rename(i, base[i].agency.replace(" and ", " & "))
    # renamed and redated in one snapshot: the county vouches for it
    i = pick.take(lambda r: _sheriff(r) and r.signed is not None)
    rename(i, base[i].agency.replace("County Sheriff's Office", "Sheriff's Office"))
    one[i] = replace(one[i], signed=(base[i].signed or date(2025, 1, 1)) + timedelta(3))
    s.corrected.append(base[i].agency.replace("County Sheriff's Office", "Sheriff's Office"))
    for i, new in renames.items():
        s.renames.append((1, base[i].agency, new))
    # the typo fixed, made again, fixed again
    s.renames.append((4, renames[typo], base[typo].agency))
    s.renames.append((5, base[typo].agency, renames[typo]))
    s.renames.append((6, renames[typo], base[typo].agency))

    moved = pick.take(lambda r: _sheriff(r) and r.signed is not None)
    board = base[moved].county.strip() + " Board of County Commissioners"
    assert body_of(board) != body_of(base[moved].agency)
    one[moved] = replace(one[moved], agency=board)
    s.moved.append((base[moved].agency, board))

    misspelt = {}
    for wrong, model in (("Warrant Services Officer", "Warrant Service Officer"),
                         ("Task Force Officer", "Task Force Model"),
                         ("Jail Enforcment Model", "Jail Enforcement Model")):
        i = pick.take(lambda r, m=model: r.support_type == m)
        misspelt[i] = one[i].support_type
        one[i] = replace(one[i], support_type=wrong)

    for _ in range(2):
        i = pick.take(lambda r: r.signed is not None)
        one[i] = replace(one[i], signed=(base[i].signed or date(2025, 1, 1)) + timedelta(7))
        s.corrected.append(base[i].agency)

    for _ in range(5):
        i = pick.take(lambda r: bool(r.county) and "County" in r.agency)
        one[i] = replace(one[i], county="")
    for _ in range(5):
        i = pick.take(lambda r: True)
        one[i] = replace(one[i], agency=f"  {base[i].agency.upper()} ")

    dup = pick.take(lambda r: "'" in r.agency)
    s.duplicated.append(base[dup].agency)
    copy = replace(one[dup], agency=one[dup].agency.replace("'", "\u2019"))

    ended = [pick.take(lambda r: True) for _ in range(3)]
    s.endings = [base[i].agency for i in ended]
    mistake = pick.take(lambda r: True)
    s.dropped_by_mistake = [base[mistake].agency]

    brand_new = [
        AgreementRow("OHIO", "Testville Police Department", "Task Force Model", "participating",
                     type="Municipality", signed=date(2025, 5, 20)),
        AgreementRow("TEXAS", "Loving County Sheriff's Office", "Jail Enforcement Model",
                     "participating", type="County", county="Loving County",
                     signed=date(2025, 5, 21)),
    ]
    promoted = replace(pending[0], status="participating", signed=date(2025, 5, 22))
    s.new = [r.agency for r in brand_new] + [promoted.agency]

    gone = set(ended) | {mistake}
    step1 = [row for i, row in enumerate(one) if i not in gone] + [copy, *brand_new, promoted]
    random.Random(287).shuffle(step1)
    pending1 = list(pending[1:])
    s.steps.append(Step("renames, endings, new", 24, step1, pending1))

    broken = step1[: len(step1) // 3]
    s.steps.append(Step("broken file", 30, broken, pending1))
    s.steps.append(Step("broken file again", 36, list(broken), pending1))

    four = [row for row in step1 if row is not copy]
    four = [replace(r, agency=base[typo].agency) if r.agency == renames[typo] else r
            for r in four]
    for i, support in misspelt.items():
        four = [replace(r, support_type=support) if r.agency == one[i].agency else r
                for r in four]
    four.append(base[mistake])
    s.steps.append(Step("typo fixed, dropped row back", 48, four, pending1))
    five = [replace(r, agency=renames[typo]) if r.agency == base[typo].agency else r
            for r in reversed(four)]
    s.steps.append(Step("a day later, the typo again", 72, five, pending1))
    s.steps.append(Step("two days later, fixed again", 96, four, pending1))
    return s
