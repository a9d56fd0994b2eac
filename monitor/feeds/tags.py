"""Which cases, matters and lists carry a tag: asked of the database, never listed in memory.

A case's tags are a JSON list. Reading every case to list each tag's members in Python, then
sending those ids back as an IN list of the tag feed's query, cost a national-scale daemon
(20,000 tracked cases) half a second and ~20 MB of transient memory per render, twice (the render
state and the tag feeds each listed them). Here:

- `tagged_cases(session, tag)` is a subquery of the ids of the cases with `tag` (SQLite's
  `json_each`, PostgreSQL's `json_array_elements_text`), used inside the tag feed's query;
- `of_tagged_case(session, tag)` says of an event whether its case has `tag` (a correlated
  EXISTS: what reads a tag's newest events in id order asks it of those events only);
- `case_tags(session)` is the set of tags the cases use (one DISTINCT query), `has_case_tag`
  whether one is used (stopping at the first case with it);
- `member_digests(session, matters)` says, per tag, who its members are as a short digest (what
  tells the render state that a tag gained or lost a member), the cases' part aggregated by the
  database (one GROUP BY query: a row per distinct tag list, whatever the number of cases).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, case, cast, exists, func, literal_column, true
from sqlalchemy import select as sa_select
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlmodel import Session, col, select

from monitor.models import Case, Event, ListState, Matter

__all__ = ["case_tags", "digest", "has_case_tag", "list_members", "matter_members",
           "member_digests", "of_tagged_case", "tagged_cases"]


def digest(value: Any) -> str:
    """A short, stable digest of a JSON-able value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _tag_values(session: Session) -> TableValuedAlias:
    """The tags of each case as a table-valued function of `Case.tags` (column `value`); tags
    that are not a JSON list (SQL or JSON null) count as no tag."""
    tags = col(Case.tags)
    if session.get_bind().dialect.name == "sqlite":
        listed = case((func.json_type(tags) == "array", tags), else_=literal_column("'[]'"))
        return func.json_each(listed).table_valued("value")
    listed = case((func.json_typeof(tags) == "array", tags), else_=literal_column("'[]'"))
    return func.json_array_elements_text(listed).table_valued("value")


def tagged_cases(session: Session, tag: str) -> Select[Any]:
    """The ids of the cases tagged `tag`, as a subquery (`Event.case_id.in_(...)`)."""
    values = _tag_values(session)
    return sa_select(col(Case.id)).join(values, true()).where(values.c.value == tag)


def of_tagged_case(session: Session, tag: str) -> ColumnElement[bool]:
    """True for an event whose case is tagged `tag`: the event's own case's tags are looked at
    (a correlated EXISTS), not every case's, so reading the newest events of a busy tag costs
    what those events do, whatever the number of cases."""
    values = _tag_values(session)
    return exists(sa_select(col(Case.id)).join(values, true())
                  .where(col(Case.id) == col(Event.case_id), values.c.value == tag))


def case_tags(session: Session) -> set[str]:
    """Every tag some case carries."""
    values = _tag_values(session)
    return {str(tag) for tag, in session.connection().execute(
        sa_select(values.c.value).distinct().select_from(Case).join(values, true())
        .where(values.c.value.is_not(None)))}


def has_case_tag(session: Session, tag: str) -> bool:
    """Whether some case carries `tag` (`tag in case_tags(session)`, asked of the database: it
    stops at the first such case, reading the newest first, the likeliest to carry a tag a
    render was just told about)."""
    values = _tag_values(session)
    found = session.connection().execute(
        sa_select(col(Case.id)).join(values, true())
        .where(cast(values.c.value, String) == tag)
        .order_by(col(Case.id).desc()).limit(1)).first()
    return found is not None


def matter_members(matters: Iterable[Matter]) -> dict[str, set[str]]:
    """Every tag of `matters` with the ids of the matters that carry it."""
    tags: dict[str, set[str]] = {}
    for matter in matters:
        for tag in matter.tags:
            tags.setdefault(tag, set()).add(matter.id)
    return tags


def list_members(session: Session) -> dict[str, set[str]]:
    """Every tag with the lists (`list_page` source ids) bound to it."""
    tags: dict[str, set[str]] = {}
    for state in session.exec(select(ListState)).all():
        for tag in state.tags or []:
            tags.setdefault(tag, set()).add(state.source_id)
    return tags


#: a multiplier and a prime below 2**32 that mix case ids into `_case_digests`'s second sum
#: (products stay below 2**63 for any id below 2**31)
_MIX, _MIX_MOD = 2654435761, 4294967291


def _tag_list(text: str | None) -> set[str]:
    """The tags of a case's JSON `tags` text (none when it is not a JSON list)."""
    loaded = json.loads(text) if text else None
    return {str(t) for t in loaded if t is not None} if isinstance(loaded, list) else set()


def _case_digests(session: Session) -> dict[str, str]:
    """Per tag, a digest of the ids of its cases: their count, least, greatest, sum and sum of
    mixed ids. The database aggregates the cases by their tags' text (one row per distinct tag
    list: a few, whatever the number of cases), Python adds up each tag's lists. Any case gained
    or lost changes the count; a case swapped for another changes both sums."""
    case_id = col(Case.id)
    listed = cast(col(Case.tags), String)
    mixed = (case_id * literal_column(str(_MIX))) % literal_column(str(_MIX_MOD))
    totals: dict[str, list[int]] = {}
    for text, *row in session.connection().execute(
            sa_select(listed, func.count(), func.min(case_id), func.max(case_id),
                      func.sum(case_id), func.sum(mixed))
            .where(col(Case.tags).is_not(None)).group_by(listed)):
        count, least, most, total, mix = (int(n or 0) for n in row)
        for tag in _tag_list(text):
            seen = totals.get(tag)
            totals[tag] = [count, least, most, total, mix] if seen is None else [
                seen[0] + count, min(seen[1], least), max(seen[2], most), seen[3] + total,
                seen[4] + mix]
    return {tag: digest(numbers) for tag, numbers in totals.items()}


def member_digests(session: Session, matters: Sequence[Matter]) -> dict[str, str]:
    """Every tag (of a case, of one of the public `matters`, of a list) with a digest of its
    members: it changes when the tag gains or loses a case, a matter or a list."""
    cases = _case_digests(session)
    by_matter = matter_members(matters)
    lists = list_members(session)
    return {tag: digest([cases.get(tag, ""), sorted(by_matter.get(tag, ())),
                         sorted(lists.get(tag, ()))])
            for tag in set(cases) | set(by_matter) | set(lists)}
