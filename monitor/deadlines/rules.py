"""The deadline rule table: the shipped rows (`rules.toml`) plus the operator's `[[deadline_rule]]`.

Each `Rule` is one period of law with its citation, what starts it, who it applies to and the
docket-text patterns that show its trigger. Rules are data: another court's local rule is a new
row, not new code. `load_rules` validates every row and raises ConfigError naming the bad key.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

from monitor.deadlines.calendar import Direction, Unit
from monitor.errors import ConfigError

__all__ = [
    "Applies",
    "Rule",
    "TriggerDate",
    "builtin_rules",
    "load_rules",
    "rule_from_row",
    "rule_label",
    "rule_table",
]

TriggerDate = Literal["service", "entry"]
Semantics = Literal["deadline", "end_of_agency_period"]

BUILTIN_PATH = "monitor/deadlines/rules.toml"
_KEYS = frozenset({
    "id", "citation", "trigger", "period", "unit", "direction", "label", "trigger_date",
    "applies", "patterns", "exclude", "overrides", "semantics", "notes", "obligation",
})
_APPLIES_KEYS = frozenset({"courts", "levels", "nature_of_suit", "parties"})
_REQUIRED = ("id", "citation", "trigger", "unit", "label")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Applies:
    """Who a rule applies to; an empty tuple restricts nothing."""

    courts: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    nature_of_suit: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One row of the table. `period` is None when the docket text supplies it (`days` group)."""

    id: str
    citation: str
    trigger: str
    period: int | None
    unit: Unit
    label: str
    direction: Direction = "after"
    trigger_date: TriggerDate = "service"
    applies: Applies = field(default_factory=Applies)
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    semantics: Semantics = "deadline"
    notes: str = ""
    #: the obligation the period is for ("respond-complaint", "oppose", "reply", "serve", ...);
    #: a computed and a court-set date of the same obligation are one deadline
    obligation: str = ""

    @cached_property
    def compiled(self) -> tuple[re.Pattern[str], ...]:
        """`patterns`, compiled once."""
        return tuple(re.compile(p) for p in self.patterns)

    @cached_property
    def compiled_exclude(self) -> tuple[re.Pattern[str], ...]:
        """`exclude`, compiled once."""
        return tuple(re.compile(p) for p in self.exclude)


# ------------------------------------------------------------------------------ validation


class _Row:
    """Typed reads of one raw row; every error names its key path."""

    def __init__(self, raw: Mapping[str, Any], where: str, path: str | None) -> None:
        self.raw, self.where, self.path = raw, where, path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, key=f"{self.where}.{key}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str) or (not value.strip() and key in _REQUIRED):
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.raw.get(key, default)
        if value not in options:
            raise self.fail(key, f"expected one of {', '.join(options)}, got {value!r}")
        return cast(str, value)

    def strings(self, key: str, value: Any = None) -> tuple[str, ...]:
        value = self.raw.get(key, []) if value is None else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, got {value!r}")
        return tuple(value)

    def regexes(self, key: str) -> tuple[str, ...]:
        patterns = self.strings(key)
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail(f"{key}[{index}]", f"bad regular expression: {exc}") from exc
        return patterns

    def period(self, patterns: Sequence[str]) -> int | None:
        value = self.raw.get("period")
        if value is None:
            if not any("(?P<days>" in p for p in patterns):
                raise self.fail("period", "missing (or give patterns a (?P<days>...) group)")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail("period", f"expected a whole number >= 0, got {value!r}")
        return value

    def applies(self) -> Applies:
        raw = self.raw.get("applies", {})
        if not isinstance(raw, Mapping):
            raise self.fail("applies", f"expected a table, got {raw!r}")
        unknown = sorted(set(raw) - _APPLIES_KEYS)
        if unknown:
            raise self.fail(f"applies.{unknown[0]}", "unknown key")
        values = {k: self.strings(f"applies.{k}", raw.get(k, [])) for k in _APPLIES_KEYS}
        return Applies(
            courts=tuple(c.lower() for c in values["courts"]),
            levels=values["levels"],
            nature_of_suit=values["nature_of_suit"],
            parties=values["parties"],
        )


def rule_from_row(raw: Mapping[str, Any], *, where: str = "deadline_rule",
                  path: str | None = None) -> Rule:
    """Validate one raw row (a TOML table) into a Rule; ConfigError names `where.key`."""
    row = _Row(raw, where, path)
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise row.fail(unknown[0], "unknown key")
    for key in _REQUIRED:
        if key not in raw:
            raise row.fail(key, "missing")
    rule_id = row.text("id")
    if not _ID.match(rule_id):
        raise row.fail("id", f"ids are letters, digits, '-', '_' and '.', got {rule_id!r}")
    patterns = row.regexes("patterns")
    return Rule(
        id=rule_id,
        citation=row.text("citation"),
        trigger=row.text("trigger"),
        period=row.period(patterns),
        unit=cast(Unit, row.choice("unit", get_args(Unit), "calendar_days")),
        label=row.text("label"),
        direction=cast(Direction, row.choice("direction", get_args(Direction), "after")),
        trigger_date=cast(TriggerDate, row.choice("trigger_date", get_args(TriggerDate),
                                                   "service")),
        applies=row.applies(),
        patterns=patterns,
        exclude=row.regexes("exclude"),
        overrides=row.strings("overrides"),
        semantics=cast(Semantics, row.choice("semantics", get_args(Semantics), "deadline")),
        notes=row.text("notes", ""),
        obligation=row.text("obligation", ""),
    )


def _rows(rows: Sequence[Mapping[str, Any]], table: str, path: str | None) -> list[Rule]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows):
        where = f"{table}[{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"expected a table, got {raw!r}", path=path, key=where)
        rule = rule_from_row(raw, where=where, path=path)
        if rule.id in seen:
            raise ConfigError(f"duplicate rule id {rule.id!r}", path=path, key=f"{where}.id")
        seen.add(rule.id)
        rules.append(rule)
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    """The shipped table, parsed and validated once."""
    text = resources.files("monitor.deadlines").joinpath("rules.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return tuple(_rows(data.get("rule", []), "rule", BUILTIN_PATH))


def load_rules(extra: Sequence[Mapping[str, Any]] | None = None) -> list[Rule]:
    """The built-in rules plus the operator's rows; an extra row with a built-in id replaces it.

    Raises ConfigError (key `deadline_rule[i].<key>`) on an invalid row.
    """
    rules = {rule.id: rule for rule in builtin_rules()}
    added = _rows(list(extra or []), "deadline_rule", None)
    rules.update((rule.id, rule) for rule in added)
    for index, rule in enumerate(added):
        missing = sorted(set(rule.overrides) - set(rules))
        if missing:
            raise ConfigError(f"overrides an unknown rule {missing[0]!r}",
                              key=f"deadline_rule[{index}].overrides")
    return list(rules.values())


def rule_table(extra: Sequence[Mapping[str, Any]] | None = None) -> Mapping[str, Rule]:
    """`load_rules(extra)` by id, parsed once per distinct set of operator rows."""
    return _rule_table(json.dumps(list(extra or []), default=str, sort_keys=True))


@lru_cache(maxsize=8)
def _rule_table(extra_key: str) -> Mapping[str, Rule]:
    return MappingProxyType({rule.id: rule for rule in load_rules(json.loads(extra_key))})


def rule_label(rule: Rule) -> str:
    """The label of a deadline computed by `rule`: the end of an agency's period
    (`semantics = "end_of_agency_period"`) says that suit may be filed the day after."""
    if rule.semantics == "end_of_agency_period":
        return f"{rule.label} (suit may be filed the day after)"
    return rule.label
