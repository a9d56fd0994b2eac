"""The plain words a regular expression cannot match without: a test that turns a text away
before the regex runs (the "prefilter" of RE2 and Hyperscan, for Python's `re`).

Watches search every case name and entry text of every feed, and Python's `re` has no fast scan
for an alternation of case-insensitive words: each search tries every branch at every position.
Almost no text holds any of the words a watch needs ("mandamus", "USCIS", "sheriff"), and
looking for those words as plain substrings is a small fraction of the search.

`prefilter(pattern)` reads the pattern with the `re` module's own parser and collects, through
sequences (every part must match), groups, branches (one of them must) and repeats of at least
one, the literal runs some match must contain. It is conservative: whatever it does not
understand (classes, lookarounds, back-references, a parser it does not know) requires nothing,
and a pattern that requires nothing gets no prefilter (None): the regex always runs. A
case-insensitive word is compared with the text lower-cased, and only for ASCII words on ASCII
texts (`re` folds some letters to non-ASCII ones, the long s and the dotless i): any other text
goes to the regex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Prefilter", "prefilter"]

try:  # the parser of the `re` module (Python 3.11+); without it, no prefilter
    from re import _constants as _sre  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python
    _sre = _sre_parse = None

#: a literal some match must contain: (text, compared case-insensitively)
_Word = tuple[str, bool]
#: one of these words is in every match; None: nothing is known to be
_Need = frozenset[_Word] | None


@dataclass(frozen=True)
class Prefilter:
    """Words one of which every match of a pattern contains."""

    #: compared as written
    exact: tuple[str, ...]
    #: ASCII, lower-cased: compared with an ASCII text lower-cased
    folded: tuple[str, ...]
    # each list as one alternation of plain words (one scan of the text in C)
    _exact: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _folded: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, words in (("_exact", self.exact), ("_folded", self.folded)):
            object.__setattr__(self, name, re.compile("|".join(map(re.escape, words)))
                               if words else None)

    def may_match(self, text: str) -> bool:
        """False only when the pattern cannot match `text`."""
        if self._exact is not None and self._exact.search(text):
            return True
        if self._folded is None:
            return False
        return not text.isascii() or self._folded.search(text.lower()) is not None


def prefilter(pattern: str | re.Pattern[str]) -> Prefilter | None:
    """The prefilter of `pattern`; None when some match may hold no known word."""
    if _sre_parse is None:
        return None
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    try:
        parsed = _sre_parse.parse(source, flags)
        need = _sequence(list(parsed), bool(parsed.state.flags & re.IGNORECASE))
    except Exception:  # noqa: BLE001 - an unknown parser: no prefilter, the regex decides
        return None
    if not need:
        return None
    return Prefilter(exact=tuple(sorted(w for w, folded in need if not folded)),
                     folded=tuple(sorted(w.lower() for w, folded in need if folded)))


def _sequence(items: Iterable[tuple[Any, Any]], ignore_case: bool) -> _Need:
    """What a sequence needs: the most selective of what its parts need (each must match)."""
    needs: list[frozenset[_Word]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            needs.append(frozenset({("".join(run), ignore_case)}))
            run.clear()

    for op, av in items:
        if op is _sre.LITERAL and (not ignore_case or chr(av).isascii()):
            run.append(chr(av))
            continue
        if op is _sre.BRANCH and run:
            # "U(?:SA|nited States)" as the parser factors "USA|United States": the run
            # joined with each branch's leading letters
            prefix = "".join(run)
            needs.append(frozenset((prefix + _lead(branch, ignore_case), ignore_case)
                                   for branch in av[1]))
        end_run()
        need = _part(op, av, ignore_case)
        if need:
            needs.append(need)
    end_run()
    return max(needs, key=_selectivity) if needs else None


def _lead(items: Iterable[tuple[Any, Any]], ignore_case: bool) -> str:
    """The literal letters a sequence starts with."""
    lead: list[str] = []
    for op, av in items:
        if op is not _sre.LITERAL or (ignore_case and not chr(av).isascii()):
            break
        lead.append(chr(av))
    return "".join(lead)


def _part(op: Any, av: Any, ignore_case: bool) -> _Need:
    """What one part of a sequence needs (None: nothing known)."""
    if op is _sre.SUBPATTERN:
        _group, add_flags, del_flags, body = av
        if add_flags & re.IGNORECASE:
            ignore_case = True
        if del_flags & re.IGNORECASE:
            ignore_case = False
        return _sequence(list(body), ignore_case)
    if op is _sre.BRANCH:
        words: set[_Word] = set()
        for branch in av[1]:
            need = _sequence(list(branch), ignore_case)
            if not need:
                return None  # a branch that needs nothing: the branching needs nothing
            words |= need
        return frozenset(words)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
        low, _high, body = av
        return _sequence(list(body), ignore_case) if low >= 1 else None
    if op is getattr(_sre, "ATOMIC_GROUP", None):
        return _sequence(list(av), ignore_case)
    return None  # classes, anchors, lookarounds, back-references, conditionals


def _selectivity(need: frozenset[_Word]) -> tuple[int, int]:
    """Longer words first (rarer in a text), then fewer of them."""
    return min(len(word) for word, _ in need), -len(need)
