"""What the site's pages and API read, shaped by `monitor.views` (the `--json` shapes) plus
what a page shows beside them (a case's last entry and next deadline, a matter's days
elapsed). Every function takes the viewer and leaves out what it may not see.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Engine, String, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from monitor import queries, views
from monitor.agreement_store import agreement_row_json
from monitor.agreements import QUIET_EVENT_KINDS
from monitor.alerts.render import docket_url
from monitor.db import StartsWith, read_session
from monitor.feeds.files import safe_name
from monitor.matters import clock_key
from monitor.models import Agreement, Case, Deadline, Entry, Event, Matter
from monitor.web.access import Viewer
from sources.agreement_identity import state_code
from sources.courts import COURTS
from sources.identity import docket_key

__all__ = [
    "OPEN_STATES",
    "Agenda",
    "AgreementFilter",
    "CaseFilter",
    "agenda",
    "agreement_changes",
    "agreement_rows",
    "case_feed_names",
    "case_list",
    "case_page",
    "matter_rows",
    "visible_events",
    "watched_summary",
]

OPEN_STATES = ("overdue", "unverified", "open", "suspended", "waiting")


@dataclass(frozen=True)
class CaseFilter:
    """The case list's filters (each empty = any)."""

    tag: str = ""
    court: str = ""
    state: str = ""
    status: str = ""  # "" | open | closed
    q: str = ""


@dataclass
class CasePage:
    """One page of the filtered case list, with what the filters can offer."""

    rows: list[dict[str, Any]]
    total: int
    tags: list[str] = field(default_factory=list)
    courts: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)


def case_state(court: str) -> str:
    """The two-letter state of a court ("" for a circuit or an unknown court)."""
    known = COURTS.get(court)
    return known.state if known is not None else ""


def case_feed_names(case: Case) -> tuple[str, str]:
    """The file names of a case's Atom feed and deadline calendar (as `monitor.feeds` writes)."""
    name = safe_name(case.court, case.docket_number)
    return f"case-{name}.atom", f"deadlines-case-{name}.ics"


def _like(text: str) -> str:
    """A LIKE pattern for `text` anywhere (its wildcards escaped with a backslash)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _case_where(session: Session, f: CaseFilter) -> list[ColumnElement[bool]]:
    """The filters as SQL (a tag, kept in a JSON list, is matched in Python over two
    columns of the cases the other filters leave)."""
    where: list[ColumnElement[bool]] = [col(Case.tracked) == True]  # noqa: E712
    if f.court:
        where.append(col(Case.court) == f.court)
    if f.state:
        where.append(col(Case.court).in_(
            [c.id for c in COURTS.values() if c.state == f.state.upper()]))
    if f.status == "open":
        where.append(col(Case.date_terminated).is_(None))
    elif f.status == "closed":
        where.append(col(Case.date_terminated).is_not(None))
    if f.q:
        pattern = _like(f.q)
        in_entries = sa_select(col(Entry.case_id)).where(
            col(Entry.description).ilike(pattern, escape="\\")
            | col(Entry.short_description).ilike(pattern, escape="\\"))
        where.append(or_(col(Case.case_name).ilike(pattern, escape="\\"),
                         col(Case.docket_number).ilike(pattern, escape="\\"),
                         col(Case.docket_number_raw).ilike(pattern, escape="\\"),
                         col(Case.id).in_(in_entries)))
    if f.tag:
        tagged = [r[0] for r in session.connection().execute(
            sa_select(col(Case.id), col(Case.tags)).where(*where)) if f.tag in (r[1] or [])]
        where.append(col(Case.id).in_(tagged))
    return where


def _choices(session: Session) -> tuple[list[str], list[str], list[str]]:
    """The tags, courts and states the tracked cases have (for the filter form)."""
    conn = session.connection()
    tracked = col(Case.tracked) == True  # noqa: E712
    courts = sorted(conn.execute(sa_select(col(Case.court)).where(tracked).distinct())
                    .scalars())
    # JSON has no equality in PostgreSQL: the distinct tag lists are compared as text.
    tag_lists = conn.execute(sa_select(cast(col(Case.tags), String)).where(tracked)
                             .distinct()).scalars()
    tags = sorted({t for text in tag_lists if text for t in json.loads(text)})
    return tags, courts, sorted({s for c in courts if (s := case_state(c))})


def case_list(engine: Engine, f: CaseFilter, *, limit: int, offset: int) -> CasePage:
    """Tracked cases matching the filters, latest activity first, each with its last entry
    and its next open deadline: filtered, counted and paged in SQL, a few queries whatever
    the number of cases."""
    with read_session(engine) as session:
        where = _case_where(session, f)
        conn = session.connection()
        total = int(conn.execute(sa_select(func.count()).select_from(Case).where(*where))
                    .scalar_one())
        activity = func.coalesce(col(Case.last_activity), col(Case.first_seen))
        ids = [i for i in conn.execute(sa_select(col(Case.id)).where(*where).order_by(
            activity.desc(), col(Case.id).desc()).offset(offset).limit(limit)).scalars()
               if i is not None]
        cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(ids))).all()}
        lasts = _last_entries(session, ids)
        nexts = _next_deadlines(session, ids)
        rows = []
        for case_id in ids:
            case = cases[case_id]
            row = views.case_row(case, case.entry_count or 0)
            row["state"] = case_state(case.court)
            row["open"] = case.date_terminated is None
            last = lasts.get(case_id)
            row["last_entry"] = views.entry_row(last) if last is not None else None
            nxt = nexts.get(case_id)
            row["next_deadline"] = views.deadline_row(nxt) if nxt is not None else None
            rows.append(row)
        tags, courts, states = _choices(session)
    return CasePage(rows=rows, total=total, tags=tags, courts=courts, states=states)


def _last_entries(session: Session, case_ids: list[int]) -> dict[int, Entry]:
    """Each case's latest entry (by date filed, then number), in one query."""
    if not case_ids:
        return {}
    rank = func.row_number().over(
        partition_by=col(Entry.case_id),
        order_by=(col(Entry.date_filed).desc().nulls_last(),
                  col(Entry.entry_number).desc().nulls_last(), col(Entry.id).desc()),
    ).label("rank")
    ranked = select(col(Entry.id).label("entry_id"), rank).where(
        col(Entry.case_id).in_(case_ids)).subquery()
    found = session.exec(select(Entry).join(ranked, col(Entry.id) == ranked.c.entry_id)
                         .where(ranked.c.rank == 1)).all()
    return {e.case_id: e for e in found}


def _next_deadlines(session: Session, case_ids: list[int]) -> dict[int, Deadline]:
    if not case_ids:
        return {}
    found: dict[int, Deadline] = {}
    for d in session.exec(select(Deadline).where(
            col(Deadline.case_id).in_(case_ids), col(Deadline.state).in_(OPEN_STATES),
            Deadline.private == False)  # noqa: E712
            .order_by(col(Deadline.due_date))).all():
        found.setdefault(d.case_id or 0, d)
    return found


def _hidden(session: Session, viewer: Viewer) -> frozenset[str]:
    return viewer.hidden_matters(session.exec(select(Matter)).all())


def case_page(engine: Engine, court: str, docket: str,
              viewer: Viewer) -> dict[str, Any] | None:
    """The `case --json` object (events the viewer may see), plus its docket link, feed file
    names and the matters (visible to the viewer) whose lawsuit it is."""
    found = queries.case_detail(engine, court, docket)
    if found is None:
        return None
    case, entries, deadlines, events = found
    with read_session(engine) as session:
        matters = list(session.exec(select(Matter)).all())
        hidden = viewer.hidden_matters(matters)
    obj = views.case_row(case, len(entries))
    obj["entries"] = [views.entry_row(e) for e in entries]
    obj["deadlines"] = [views.deadline_row(d) for d in deadlines
                        if viewer.sees_deadline(d, hidden)]
    obj["events"] = [views.event_row(e) for e in events if viewer.sees_event(e, hidden)]
    atom, ics = case_feed_names(case)
    ref = f"{case.court}:{case.docket_number}"
    extra = {
        "docket_url": docket_url(case.court, case.docket_number,
                                 pacer_case_id=case.pacer_case_id,
                                 cl_docket_id=case.cl_docket_id),
        "atom": atom, "ics": ics, "state": case_state(case.court),
        "open": case.date_terminated is None,
        "matters": [m.id for m in matters if m.id not in hidden and m.case_ref
                    and _same_case(m.case_ref, ref)],
    }
    return {"case": obj, "page": extra}


def _same_case(case_ref: str, ref: str) -> bool:
    court, _, docket = case_ref.partition(":")
    other_court, _, other = ref.partition(":")
    return court.lower() == other_court and docket_key(docket) == docket_key(other)


LATE_STATES = ("overdue", "unverified")


def _visible_deadlines(viewer: Viewer, hidden: frozenset[str]) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the open deadlines a viewer may see (`Viewer.sees_deadline`)."""
    where: list[ColumnElement[bool]] = [col(Deadline.state).in_(OPEN_STATES)]
    if not viewer.sees_private:
        where.append(col(Deadline.private) == False)  # noqa: E712
    if hidden:
        where.append(or_(col(Deadline.matter_id).is_(None),
                         col(Deadline.matter_id).not_in(sorted(hidden))))
    return where


@dataclass
class Agenda:
    """A page of the agenda and how many deadlines it leaves out after `until`."""

    rows: list[dict[str, Any]]
    total: int
    later: int = 0


def agenda(engine: Engine, viewer: Viewer, *, until: date | None = None,
           limit: int | None = None, offset: int = 0) -> Agenda:
    """Open deadlines the viewer may see (the `deadlines --json` rows): overdue and unverified
    first, then by due date; with `until`, only the late ones and those due by then; each row
    with `case` (court, docket, name) when it has one. Sorted, counted and paged in SQL."""
    late_first = case((col(Deadline.state).in_(LATE_STATES), 0), else_=1)
    with read_session(engine) as session:
        where = _visible_deadlines(viewer, _hidden(session, viewer))
        later = 0
        if until is not None:
            soon = or_(col(Deadline.state).in_(LATE_STATES), col(Deadline.due_date) <= until)
            later = _count(session, [*where, ~soon])
            where.append(soon)
        total = _count(session, where)
        query = select(Deadline).where(*where).order_by(
            late_first, col(Deadline.due_date), col(Deadline.id)).offset(offset)
        found = list(session.exec(query.limit(limit) if limit is not None else query).all())
        case_ids = {d.case_id for d in found if d.case_id is not None}
        cases = {c.id: c for c in session.exec(
            select(Case).where(col(Case.id).in_(list(case_ids)))).all()}
    rows = []
    for d in found:
        row = views.deadline_row(d)
        owner = cases.get(d.case_id)
        row["case"] = None if owner is None else {
            "court": owner.court, "docket_number": owner.docket_number,
            "case_name": owner.case_name}
        row["note"] = views.deadline_note(row)
        rows.append(row)
    return Agenda(rows, total, later)


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.connection().execute(
        sa_select(func.count()).select_from(Deadline).where(*where)).scalar_one())


def matter_rows(engine: Engine, viewer: Viewer, today: date) -> list[dict[str, Any]]:
    """The `matters --json` rows the viewer may see, each with `days_elapsed` (since the
    agency received it, else since it was filed) and `days_overdue`."""
    with read_session(engine) as session:
        rows = []
        for matter in session.exec(select(Matter).order_by(col(Matter.created_at))).all():
            if not viewer.sees_matter(matter):
                continue
            clock_row = session.exec(select(Deadline).where(
                Deadline.key == clock_key(matter.id))).first()
            row = views.matter_row(matter, clock_row)
            start = matter.received or matter.filed
            row["days_elapsed"] = (today - start).days if start else None
            due = clock_row.due_date if clock_row is not None else None
            row["days_overdue"] = (today - due).days if due and today > due \
                and not matter.closed else 0
            rows.append(row)
    return rows


def visible_events(engine: Engine, viewer: Viewer, *, after: int | None,
                   limit: int) -> list[dict[str, Any]]:
    """Up to `limit` events after the id `after`, oldest first, that the viewer may see (the
    `events --json` rows): hidden ones are skipped, never counted against the page."""
    with read_session(engine) as session:
        hidden = _hidden(session, viewer)
    rows: list[dict[str, Any]] = []
    cursor = after
    while len(rows) < limit:
        batch = queries.events(engine, after=cursor, limit=max(limit, 200))
        if not batch:
            break
        for event in batch:
            if viewer.sees_event(event, hidden):
                rows.append(views.event_row(event))
                if len(rows) >= limit:
                    break
        cursor = batch[-1].id
    return rows


@dataclass(frozen=True)
class AgreementFilter:
    """The agreements table's filters (each empty = any)."""

    state: str = ""
    county: str = ""
    type: str = ""
    status: str = ""


def agreement_rows(engine: Engine, f: AgreementFilter) -> list[dict[str, Any]]:
    """The `agreements --json` rows matching the filters, by state then agency; each with
    `state_code` (two letters, whatever ICE printed)."""
    with read_session(engine) as session:
        found = session.exec(select(Agreement).order_by(col(Agreement.state),
                                                        col(Agreement.agency))).all()
    rows = []
    for a in found:
        code = state_code(a.state) if a.state else ""
        if f.state and code != state_code(f.state):
            continue
        if f.status and a.status != f.status:
            continue
        if f.type and f.type.casefold() not in f"{a.type} {a.support_type}".casefold():
            continue
        if f.county and f.county.casefold() not in (a.county or "").casefold():
            continue
        row = agreement_row_json(a)
        row["state_code"] = code
        rows.append(row)
    return rows


def participating_by_state(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Participating agencies per state code (one agency with two models counts once)."""
    agencies = {(r["state_code"], r["agency"].casefold()) for r in rows
                if r["status"] == "participating"}
    return dict(Counter(code for code, _ in agencies))


def signed_days(rows: list[dict[str, Any]]) -> list[date]:
    """The signing dates of the rows that have one."""
    return [date.fromisoformat(r["signed"]) for r in rows if r["signed"]]


def agreement_changes(engine: Engine, *, days: int = 12) -> list[dict[str, Any]]:
    """What changed between snapshots: agreement events (not the baseline, not quiet kinds)
    grouped by the day they were seen, newest first, at most `days` days; each
    `{day, counts: {kind: n}, events: [event rows]}`."""
    with read_session(engine) as session:
        events = session.exec(select(Event).where(
            StartsWith(col(Event.kind), "agreement."),
            col(Event.kind).not_in(list(QUIET_EVENT_KINDS)))
            .order_by(col(Event.id).desc()).limit(2000)).all()
    groups: dict[str, dict[str, Any]] = {}
    for event in events:
        if (event.data or {}).get("baseline"):
            continue
        day = (views.iso_z(event.at) or "")[:10]
        if day not in groups:
            if len(groups) >= days:
                break
            groups[day] = {"day": day, "counts": Counter(), "events": []}
        groups[day]["counts"][event.kind.removeprefix("agreement.")] += 1
        groups[day]["events"].append(views.event_row(event))
    return [{**g, "counts": dict(g["counts"])} for g in groups.values()]


def watched_summary(engine: Engine, viewer: Viewer, *, latest: int = 15) -> dict[str, Any]:
    """The home page: counts of what is watched and the latest updates the viewer may see
    (newest first; baseline agreement rows left out)."""
    with read_session(engine) as session:
        hidden = _hidden(session, viewer)
        conn = session.connection()
        tags, courts, _ = _choices(session)
        tracked = int(conn.execute(sa_select(func.count()).select_from(Case).where(
            col(Case.tracked) == True)).scalar_one())  # noqa: E712
        where = _visible_deadlines(viewer, hidden)
        open_deadlines = _count(session, where)
        overdue = _count(session, [*where, col(Deadline.state) == "overdue"])
        participating = conn.execute(sa_select(func.count()).select_from(Agreement).where(
            col(Agreement.status) == "participating")).scalar_one()
        matters = conn.execute(sa_select(col(Matter.id))).scalars().all()
        recent: list[Event] = []
        for event in session.exec(select(Event).order_by(col(Event.id).desc())
                                  .execution_options(yield_per=100)):
            if viewer.sees_event(event, hidden) and not (event.data or {}).get("baseline") \
                    and event.kind not in QUIET_EVENT_KINDS:
                recent.append(event)
                if len(recent) >= latest:
                    break
        names = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(
            [e.case_id for e in recent if e.case_id is not None]))).all()}
    return {
        "cases": tracked, "tags": tags, "courts": courts,
        "deadlines": open_deadlines,
        "overdue": overdue,
        "matters": sum(1 for m in matters if m not in hidden),
        "agreements": participating,
        "latest": [{**views.event_row(e), "case": _case_ref(names.get(e.case_id or 0))}
                   for e in recent],
    }


def _case_ref(case: Case | None) -> dict[str, str] | None:
    return None if case is None else {"court": case.court, "docket_number": case.docket_number,
                                      "case_name": case.case_name}
