"""Watches -> is this case ours, and why (contracts.md, "Matching").

- `dockets` tracks outright; `courts` (when non-empty) restricts a watch to those courts.
- Otherwise a watch matches when any listed criterion matches a field the observation carries;
  a criterion on a field the observation lacks (RSS has no cause or nature of suit) neither
  matches nor vetoes. `match = "all"` asks for every criterion the observation can be judged on.
- Causes match on their `title:section` prefix, leading zeros ignored (`05:0702` == `5:702`).
- Nature of suit matches on the code at the start of the field (`890 Other Statutory Actions`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import WatchConfig
from monitor.regex_prefilter import Prefilter, prefilter
from sources.base import CaseObservation
from sources.identity import docket_key, parse_tracked_docket

__all__ = ["MatchReason", "Matcher", "any_of"]


@dataclass(frozen=True)
class MatchReason:
    """Why a case is tracked: which watch, which field, which pattern."""

    watch: str
    field: str
    pattern: str

    def as_dict(self) -> dict[str, str]:
        return {"watch": self.watch, "field": self.field, "pattern": self.pattern}


_CAUSE = re.compile(r"^\s*0*(\d+)\s*:\s*0*(\d+)")
_NOS = re.compile(r"^\s*(\d{3})")


def _cause_key(text: str) -> str | None:
    m = _CAUSE.match(text)
    return f"{m[1]}:{m[2]}" if m else None


def _nos_code(text: str) -> str | None:
    m = _NOS.match(text)
    return m[1] if m else None


@dataclass(frozen=True)
class _CompiledWatch:
    config: WatchConfig
    entry_text: tuple[re.Pattern[str], ...]
    case_name: tuple[re.Pattern[str], ...]
    causes: tuple[tuple[str, str], ...]  # (normalized key, as written)
    dockets: frozenset[tuple[str, str]]  # (court, docket key)
    courts: frozenset[str]
    #: all patterns of a field as one alternation (None: they cannot be combined): a text no
    #: pattern matches is rejected in one search
    entry_text_any: re.Pattern[str] | None = None
    case_name_any: re.Pattern[str] | None = None


_LEADING_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_BACKREFERENCE = re.compile(r"\\\d|\(\?P=")


def any_of(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One regex that matches where any of `patterns` does (their leading inline flags scoped
    to their own alternative); None when they cannot be combined (back-references, clashing
    group names) or there are none."""
    if not patterns or any(_BACKREFERENCE.search(p) for p in patterns):
        return None
    parts = []
    for pattern in patterns:
        m = _LEADING_FLAGS.match(pattern)
        parts.append(f"(?{m[1]}:{pattern[m.end():]})" if m else f"(?:{pattern})")
    try:
        return re.compile("|".join(parts))
    except re.error:
        return None


def _words(pattern: re.Pattern[str] | None) -> Prefilter | None:
    return prefilter(pattern) if pattern is not None else None


class Matcher:
    """Compiled watches; `match(observation)` returns the reasons (empty: not ours)."""

    def __init__(self, watches: Sequence[WatchConfig]) -> None:
        self._watches = tuple(self._compile(w) for w in watches)
        # What any watch could match on, to turn away at once an observation none can (most
        # of a feed): a reason needs a docket listed, a pattern found, or a cause or nature of
        # suit to compare. None: some patterns cannot be combined, so every watch is asked.
        self._dockets = frozenset(d for w in self._watches for d in w.dockets)
        self._judges_cause = any(w.causes for w in self._watches)
        self._judges_nos = any(w.config.nature_of_suit for w in self._watches)
        self._entry_text_any = any_of([p for w in watches for p in w.entry_text])
        self._case_name_any = any_of([p for w in watches for p in w.case_name])
        self._prefilter = (
            (self._entry_text_any is not None or not any(w.entry_text for w in watches))
            and (self._case_name_any is not None or not any(w.case_name for w in watches)))
        # The words those combined patterns need: most texts hold none, and looking for
        # words costs a fraction of the regex search (`monitor.regex_prefilter`).
        self._entry_text_words = _words(self._entry_text_any)
        self._case_name_words = _words(self._case_name_any)

    @staticmethod
    def _compile(watch: WatchConfig) -> _CompiledWatch:
        dockets = set()
        for spec in watch.dockets:
            court, number = parse_tracked_docket(spec)
            dockets.add((court, docket_key(number)))
        causes = tuple((_cause_key(c) or c.strip(), c) for c in watch.cause)
        return _CompiledWatch(
            config=watch,
            entry_text=tuple(re.compile(p) for p in watch.entry_text),
            case_name=tuple(re.compile(p) for p in watch.case_name),
            causes=causes,
            dockets=frozenset(dockets),
            courts=frozenset(c.lower() for c in watch.courts),
            entry_text_any=any_of(watch.entry_text),
            case_name_any=any_of(watch.case_name),
        )

    def tags_for(self, watch_names: Sequence[str]) -> list[str]:
        """The union of the tags of the named watches, in config order."""
        tags: list[str] = []
        for w in self._watches:
            if w.config.name in watch_names:
                tags += [t for t in w.config.tags if t not in tags]
        return tags

    def match(self, obs: CaseObservation) -> list[MatchReason]:
        """Every reason any watch has to track this case."""
        reasons: list[MatchReason] = []
        # What every watch reads, worked out once per observation.
        docket = (obs.court, docket_key(obs.docket_number))
        texts: list[str] | None = None
        if self._prefilter and not self._may_match(obs, docket):
            return reasons
        for watch in self._watches:
            if watch.entry_text and texts is None:
                texts = [f"{e.short_description} {e.description}".strip() for e in obs.entries]
            reasons += self._match_one(watch, obs, docket, texts or [])
        return reasons

    @property
    def screens(self) -> bool:
        """`lists`, `name_may_match` and `entry_text_words` together tell every case with no
        cause and no nature of suit (an RSS item's) some watch may match (False: some
        patterns cannot be combined; every case must be asked)."""
        return self._prefilter

    def lists(self, court: str, docket_number: str) -> bool:
        """Some watch lists this docket (`dockets`)."""
        return (court, docket_key(docket_number)) in self._dockets

    def name_may_match(self, case_name: str) -> bool:
        """Some watch's `case_name` may match this name (as `match` asks it)."""
        names, words = self._case_name_any, self._case_name_words
        return names is not None and bool(case_name) and (
            words is None or words.may_match(case_name)) and names.search(case_name) is not None

    def entry_text_words(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """Words one of which every entry text some watch's `entry_text` matches holds: (as
        written, ASCII lower-cased for an ASCII text lower-cased); None when any text may
        match; `((), ())` when no watch reads entry texts. Meaningful when `screens`."""
        if self._entry_text_any is None:
            return (), ()
        words = self._entry_text_words
        return None if words is None else (words.exact, words.folded)

    def _may_match(self, obs: CaseObservation, docket: tuple[str, str]) -> bool:
        """False when no watch can have a reason to track `obs` (see `__init__`)."""
        if docket in self._dockets:
            return True
        if (self._judges_cause and obs.cause.strip()) or (
                self._judges_nos and obs.nature_of_suit):
            return True
        names, words = self._case_name_any, self._case_name_words
        if names is not None and obs.case_name and (
                words is None or words.may_match(obs.case_name)) and names.search(obs.case_name):
            return True
        texts, words = self._entry_text_any, self._entry_text_words
        if texts is not None:
            for e in obs.entries:
                text = f"{e.short_description} {e.description}".strip()
                if text and (words is None or words.may_match(text)) and texts.search(text):
                    return True
        return False

    def _match_one(self, w: _CompiledWatch, obs: CaseObservation, docket: tuple[str, str],
                   texts: Sequence[str]) -> list[MatchReason]:
        name = w.config.name
        if docket in w.dockets:
            return [MatchReason(name, "docket", f"{obs.court}:{obs.docket_number}")]
        if w.courts and obs.court not in w.courts:
            return []
        results: list[tuple[bool, list[MatchReason]]] = []  # (judged, hits) per criterion
        if w.entry_text:
            results.append(self._regex(name, "entry_text", w.entry_text, texts,
                                       w.entry_text_any))
        if w.case_name:
            results.append(self._regex(name, "case_name", w.case_name, [obs.case_name],
                                       w.case_name_any))
        if w.causes:
            results.append(self._cause(name, w.causes, obs.cause))
        if w.config.nature_of_suit:
            results.append(self._nos(name, w.config.nature_of_suit, obs.nature_of_suit))
        judged = [(hits) for ok, hits in results if ok]
        if not judged:
            return []
        if w.config.match == "all":
            return [h for hits in judged for h in hits] if all(judged) else []
        return [h for hits in judged for h in hits]

    @staticmethod
    def _regex(
        watch: str, field: str, patterns: Sequence[re.Pattern[str]], texts: Sequence[str],
        combined: re.Pattern[str] | None = None,
    ) -> tuple[bool, list[MatchReason]]:
        present = [t for t in texts if t]
        if not present:
            return False, []
        if combined is not None and not any(combined.search(t) for t in present):
            return True, []
        hits = [
            MatchReason(watch, field, p.pattern)
            for p in patterns
            if any(p.search(t) for t in present)
        ]
        return True, hits

    @staticmethod
    def _cause(
        watch: str, causes: Sequence[tuple[str, str]], cause: str
    ) -> tuple[bool, list[MatchReason]]:
        if not cause.strip():
            return False, []
        key = _cause_key(cause)
        hits = [
            MatchReason(watch, "cause", written)
            for normalized, written in causes
            if (key is not None and key == normalized) or cause.strip().startswith(written)
        ]
        return True, hits

    @staticmethod
    def _nos(watch: str, codes: Sequence[str], nos: str) -> tuple[bool, list[MatchReason]]:
        code = _nos_code(nos)
        if code is None:
            return False, []
        return True, [MatchReason(watch, "nature_of_suit", c) for c in codes if c == code]
