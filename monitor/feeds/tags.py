"""Which cases, matters and lists carry a tag: asked of the database, never listed in memory.

A case's tags are a JSON list. Reading every case to list each tag's members in Python, then
sending those ids back as an IN list of the tag feed's query, cost a national-scale daemon
(20,000 tracked cases) half a second and ~20 MB of transient memory per render, twice (the render
state and the tag feeds each listed them). Here:

- `tagged_cases(session, tag)` is a subquery of the ids of the cases with `tag` (SQLite's
  `json_each`, PostgreSQL's `json_array_elements_text`), used inside the tag feed's query;
- `case_tags(session)` is the set of tags the cases use (one DISTINCT query);
- `member_digests(session, matters)` says, per tag, who its members are as a short digest (what
  tells the render state that a tag gained or lost a member), reading the cases' tags a chunk at
  a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, String, case, cast, func, literal_column, true
from sqlalchemy import select as sa_select
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlmodel import Session, col, select

from monitor.models import Case, ListState, Matter

__all__ = ["case_tags", "digest", "list_members", "matter_members", "member_digests",
           "tagged_cases"]

#: cases read at once by `member_digests`
_CHUNK = 2000


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


def case_tags(session: Session) -> set[str]:
    """Every tag some case carries."""
    values = _tag_values(session)
    return {str(tag) for tag, in session.connection().execute(
        sa_select(values.c.value).distinct().select_from(Case).join(values, true())
        .where(values.c.value.is_not(None)))}


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


def _case_digests(session: Session) -> dict[str, str]:
    """Per tag, a digest of the ids of its cases (in id order), the cases read a chunk at a
    time: memory does not grow with the number of cases."""
    hashes: dict[str, Any] = {}
    parsed: dict[str, list[str]] = {}  # a JSON text -> its tags (few distinct lists)
    result = session.connection().execution_options(yield_per=_CHUNK).execute(
        sa_select(col(Case.id), cast(col(Case.tags), String))
        .where(col(Case.tags).is_not(None)).order_by(col(Case.id)))
    for case_id, text in result:
        tags = parsed.get(text)
        if tags is None:
            loaded = json.loads(text) if text else None
            tags = parsed[text] = [str(t) for t in loaded] if isinstance(loaded, list) else []
        for tag in tags:
            sha = hashes.get(tag)
            if sha is None:
                sha = hashes[tag] = hashlib.sha256()
            sha.update(b"%d," % (case_id or 0))
    return {tag: sha.hexdigest()[:20] for tag, sha in hashes.items()}


def member_digests(session: Session, matters: Sequence[Matter]) -> dict[str, str]:
    """Every tag (of a case, of one of the public `matters`, of a list) with a digest of its
    members: it changes when the tag gains or loses a case, a matter or a list."""
    cases = _case_digests(session)
    by_matter = matter_members(matters)
    lists = list_members(session)
    return {tag: digest([cases.get(tag, ""), sorted(by_matter.get(tag, ())),
                         sorted(lists.get(tag, ()))])
            for tag in set(cases) | set(by_matter) | set(lists)}
