"""iCalendar feeds of open deadlines (design.md, step 7).

One VEVENT per open deadline. The UID is stable (`deadline-<key>@court-monitor`): a moved deadline
keeps its UID and raises SEQUENCE (from `Deadline.sequence`), so calendars update the event instead
of adding a second one. A date deadline is an all-day event; one with `due_at` is timed in the
court's zone. DTSTAMP is the deadline's `updated_at`, never the clock, so unchanged data renders
identical bytes. Alarms fire at the reminder lead times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from monitor.alerts.render import as_utc, docket_url
from monitor.db import read_session
from monitor.feeds.files import FeedWriter, safe_name
from monitor.models import Case, Deadline, Matter
from sources.sanitize import clean_text, safe_url

__all__ = ["OPEN_STATES", "deadline_uid", "render_ics", "write_ics_feeds"]

#: states of a deadline that still asks for action
OPEN_STATES = ("open", "overdue", "unverified")
DEFAULT_LEAD_DAYS = (7, 3, 1, 0)


def deadline_uid(deadline: Deadline) -> str:
    """The stable UID of a deadline's VEVENT."""
    return f"deadline-{deadline.key}@court-monitor"


def _where(deadline: Deadline, case: Case | None) -> str:
    if case is not None:
        name = f"{case.case_name} " if case.case_name else ""
        return f"{name}({case.court} {case.docket_number})"
    return deadline.subject


def _description(deadline: Deadline, case: Case | None) -> str:
    lines = [f"{deadline.label or 'Deadline'}: due {deadline.due_date.isoformat()}"]
    if deadline.due_at is not None:
        lines[0] += f" at {deadline.due_at.astimezone(ZoneInfo(deadline.timezone)):%H:%M} " \
                    f"({deadline.timezone})"
    lines.append(f"For: {_where(deadline, case)}")
    rule = " ".join(x for x in (deadline.rule_id, deadline.citation) if x)
    if rule:
        lines.append(f"Rule: {rule}")
    if deadline.origin:
        lines.append(f"Origin: {deadline.origin}")
    if deadline.trigger_date:
        estimated = " (estimated)" if deadline.trigger_estimated else ""
        lines.append(f"Trigger: {deadline.trigger_date.isoformat()}{estimated} "
                     f"{deadline.trigger_text}".rstrip())
    lines += [f"- {step}" for step in deadline.steps]
    asked = deadline.extension_requested or {}
    if asked:
        which = asked.get("entry_number") or asked.get("date_filed")
        lines.append(f"Extension requested (entry {which})"
                     + ("; granted, new date not in the docket" if asked.get("granted") else ""))
    if deadline.state == "unverified":
        lines.append("Unverified: the due date passed before the docket was read again")
    alternative = deadline.alternative or {}
    if alternative.get("due"):
        lines.append(f"Alternative reading: {alternative['due']} {alternative.get('reading', '')}"
                     .rstrip())
    if case is not None:
        link = safe_url(docket_url(case.court, case.docket_number,
                                   pacer_case_id=case.pacer_case_id,
                                   cl_docket_id=case.cl_docket_id))
        if link:
            lines.append(link)
    return clean_text("\n".join(lines))


def _alarm(lead_days: int, summary: str) -> object:
    from icalendar import Alarm

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    when = "today" if lead_days == 0 else f"in {lead_days} day{'s' if lead_days != 1 else ''}"
    alarm.add("description", f"Due {when}: {summary}")
    alarm.add("trigger", -timedelta(days=lead_days))
    return alarm


def _vevent(deadline: Deadline, case: Case | None, lead_days: Sequence[int]) -> object:
    from icalendar import Event as VEvent

    event = VEvent()
    summary = clean_text(f"{deadline.label or 'Deadline'} due: {_where(deadline, case)}")
    event.add("uid", deadline_uid(deadline))
    event.add("sequence", deadline.sequence)
    event.add("dtstamp", as_utc(deadline.updated_at))
    event.add("created", as_utc(deadline.created_at))
    event.add("last-modified", as_utc(deadline.updated_at))
    event.add("summary", summary)
    if deadline.due_at is not None:
        event.add("dtstart", as_utc(deadline.due_at).astimezone(ZoneInfo(deadline.timezone)))
    else:
        event.add("dtstart", deadline.due_date)
        event.add("dtend", deadline.due_date + timedelta(days=1))
    event.add("description", _description(deadline, case))
    event.add("transp", "TRANSPARENT")
    event.add("status", "CONFIRMED")
    if deadline.state == "overdue":
        event.add("categories", ["overdue"])
    for days in lead_days:
        event.add_component(_alarm(days, summary))  # type: ignore[arg-type]
    return event


def render_ics(
    deadlines: Sequence[Deadline],
    *,
    calendar_name: str,
    cases: Mapping[int, Case] | None = None,
    lead_days: Sequence[int] = DEFAULT_LEAD_DAYS,
) -> bytes:
    """A VCALENDAR with one VEVENT per open deadline (ordered by due date, then key).

    `cases` (by id) names the case in each event; `lead_days` are the alarms (`[deadlines]
    reminder_days`). Nothing in the output depends on the time of rendering, so unchanged data
    gives identical bytes.
    """
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//court-monitor//deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", clean_text(calendar_name))
    cases = cases or {}
    chosen = sorted((d for d in deadlines if d.state in OPEN_STATES),
                    key=lambda d: (d.due_date, d.key))
    for deadline in chosen:
        case = cases.get(deadline.case_id) if deadline.case_id is not None else None
        calendar.add_component(_vevent(deadline, case, lead_days))  # type: ignore[arg-type]
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data


def _groups(deadlines: Sequence[Deadline], cases: Mapping[int, Case],
            matters: Mapping[str, Matter]) -> dict[str, list[Deadline]]:
    """File name -> deadlines, for the per-tag and per-case calendars."""
    groups: dict[str, list[Deadline]] = {}
    for deadline in deadlines:
        case = cases.get(deadline.case_id) if deadline.case_id is not None else None
        matter = matters.get(deadline.matter_id) if deadline.matter_id else None
        tags = set(case.tags if case else []) | set(matter.tags if matter else [])
        for tag in sorted(tags):
            groups.setdefault(f"deadlines-tag-{safe_name(tag)}.ics", []).append(deadline)
        if case is not None:
            name = safe_name(case.court, case.docket_number)
            groups.setdefault(f"deadlines-case-{name}.ics", []).append(deadline)
    return groups


def write_ics_feeds(engine: Engine, feeds_dir: Path, *, title: str = "court-monitor",
                    lead_days: Sequence[int] = DEFAULT_LEAD_DAYS) -> list[Path]:
    """Write `deadlines.ics` (every non-private open deadline), `deadlines-tag-<tag>.ics` and
    `deadlines-case-<court>-<docket>.ics`, atomically; return the files that changed."""
    with read_session(engine) as session:
        matters = {m.id: m for m in session.exec(select(Matter)).all()}
        deadlines = [
            d for d in session.exec(
                select(Deadline).where(col(Deadline.state).in_(list(OPEN_STATES)),
                                       col(Deadline.private).is_(False))
                .order_by(col(Deadline.due_date), col(Deadline.key))
            ).all()
            if not (d.matter_id and d.matter_id in matters and matters[d.matter_id].private)
        ]
        case_ids = {d.case_id for d in deadlines if d.case_id is not None}
        cases = {c.id or 0: c for c in session.exec(
            select(Case).where(col(Case.id).in_(list(case_ids)))).all()}
        files = {"deadlines.ics": (deadlines, f"{title}: deadlines")}
        for filename, group in _groups(deadlines, cases, matters).items():
            label = filename.removeprefix("deadlines-").removesuffix(".ics")
            files[filename] = (group, f"{title}: deadlines {label}")
        with FeedWriter() as writer:
            for filename, (group, name) in files.items():
                writer.add(feeds_dir / filename,
                           render_ics(group, calendar_name=name, cases=cases,
                                      lead_days=lead_days))
    return writer.written
