"""Events -> messages people can act on: what happened, to which case, with the links.

Pure: an `Event` (plus the case and deadline rows when known) in, a `Message` out. Email gets the
HTML form (Apprise's mailto plugin sends it as multipart/alternative with a plain-text part it
derives from the HTML), chat and the console get the text form (which reads as Markdown).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from monitor.models import Case, Deadline, Event
from sources.courts import COURTS
from sources.sanitize import ENTRY_TEXT_LIMIT, cap_text, clean_text, safe_url

__all__ = [
    "Message",
    "RenderContext",
    "as_utc",
    "docket_url",
    "render_digest",
    "render_message",
]

#: characters of any other value shown in a message (an error, a page's text, ...)
VALUE_LIMIT = 1000

_HEADLINES = {
    "case.discovered": "New case tracked",
    "case.updated": "Case updated",
    "case.closed": "Case closed",
    "entry.added": "New docket entry",
    "deadline.set": "Deadline set",
    "deadline.changed": "Deadline changed",
    "deadline.due_soon": "Deadline due soon",
    "deadline.overdue": "Deadline overdue",
    "deadline.met": "Deadline met",
    "deadline.vacated": "Deadline vacated",
    "deadline.suspended": "Deadline suspended",
    "deadline.resumed": "Deadline resumed",
    "deadline.unverified": "Deadline passed, docket not re-read",
    "matter.added": "Matter added",
    "matter.status_changed": "Matter status changed",
    "matter.escalated": "Matter escalated",
    "agreement.added": "287(g) agreement added",
    "agreement.changed": "287(g) agreement changed",
    "agreement.removed": "287(g) agreement removed",
    "agreement.pending": "287(g) agreement pending",
    "agreement.renamed": "287(g) agreement renamed",
    "agreement.missing": "287(g) agreement missing from the list",
    "page.changed": "Watched page changed",
    "item.added": "New in a watched list",
    "item.changed": "Changed in a watched list",
    "item.removed": "Gone from a watched list",
    "source.failing": "Source failing",
    "source.recovered": "Source recovered",
}


@dataclass(frozen=True)
class Message:
    """One notification: a title, a plain-text body and an HTML body."""

    title: str
    text: str
    html: str


@dataclass(frozen=True)
class RenderContext:
    """Rows that make a message better than the event alone (all optional)."""

    case: Case | None = None
    deadline: Deadline | None = None


def as_utc(at: datetime) -> datetime:
    """An aware UTC datetime (a naive one is read as UTC, as the tables store it)."""
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def docket_url(court: str, docket_number: str, *, pacer_case_id: str = "",
               cl_docket_id: int | None = None) -> str:
    """A link to the docket: CourtListener's docket page, PACER's DktRpt, else a search."""
    if cl_docket_id:
        return f"https://www.courtlistener.com/docket/{cl_docket_id}/"
    known = COURTS.get(court)
    if pacer_case_id and (known is None or known.level != "appellate"):
        return f"https://ecf.{court}.uscourts.gov/cgi-bin/DktRpt.pl?{pacer_case_id}"
    query = urlencode({"type": "r", "q": f'docketNumber:"{docket_number}"', "court": court})
    return f"https://www.courtlistener.com/?{query}"


# ---------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Line:
    label: str
    value: str
    url: str = ""


def _case_lines(data: Mapping[str, Any], case: Case | None) -> list[_Line]:
    court = str(data.get("court") or (case.court if case else ""))
    docket = str(data.get("docket_number") or (case.docket_number if case else ""))
    if not court or not docket:
        return []
    name = str(data.get("case_name") or (case.case_name if case else ""))
    pacer_id = str(data.get("pacer_case_id") or (case.pacer_case_id if case else ""))
    link = docket_url(court, docket, pacer_case_id=pacer_id,
                      cl_docket_id=case.cl_docket_id if case else None)
    lines = [_Line("Case", f"{name} ({court} {docket})".strip() if name else f"{court} {docket}")]
    tags = data.get("tags") or (case.tags if case else [])
    if tags:
        lines.append(_Line("Tags", ", ".join(map(str, tags))))
    lines.append(_Line("Docket", link, link))
    return lines


def _entry_lines(data: Mapping[str, Any], case: Case | None) -> list[_Line]:
    text = str(data.get("description") or data.get("short_description") or "")
    if not text and data.get("entry_number") is None:
        return []
    number = data.get("entry_number")
    label = f"Entry #{number}" if number is not None else "Entry"
    filed = f" (filed {data['date_filed']})" if data.get("date_filed") else ""
    court = str(data.get("court") or (case.court if case else ""))
    docket = str(data.get("docket_number") or (case.docket_number if case else ""))
    rest_at = (f"`court-monitor case {court} {docket}` and the docket link" if court and docket
               else "the docket")
    lines = [_Line(label + filed, cap_text(text, ENTRY_TEXT_LIMIT, rest_at=rest_at))]
    document = safe_url(str(data.get("document_url") or ""))
    if document:
        lines.append(_Line("Document", document, document))
    return lines


def _deadline_lines(data: Mapping[str, Any], deadline: Deadline | None) -> list[_Line]:
    due = data.get("due_date") or (deadline.due_date.isoformat() if deadline else None)
    if not due:
        return []
    label = str(data.get("label") or (deadline.label if deadline else ""))
    due_at = data.get("due_at") or (deadline.due_at.isoformat() if deadline and deadline.due_at
                                     else None)
    zone = str(data.get("timezone") or (deadline.timezone if deadline else ""))
    when = f"{due_at} ({zone})" if due_at else str(due)
    lines = [_Line("Due", f"{when} {label}".strip())]
    before = data.get("before") or data.get("previous_due_date")
    if isinstance(before, str | int) and before:
        lines.append(_Line("Was due", str(before)))
    rule = " ".join(str(x) for x in (data.get("rule_id") or (deadline.rule_id if deadline else ""),
                                     data.get("citation") or (deadline.citation if deadline
                                                              else "")) if x)
    if rule:
        lines.append(_Line("Rule", rule))
    steps: Sequence[Any] = data.get("steps") or (deadline.steps if deadline else [])
    for step in steps:
        lines.append(_Line("Step", str(step)))
    alternative = data.get("alternative") or (deadline.alternative if deadline else None)
    if isinstance(alternative, Mapping) and alternative.get("due"):
        lines.append(_Line("Alternative", f"{alternative['due']} {alternative.get('reading', '')}"
                           .strip()))
    return lines + _life_lines(data)


def _entry_words(entry: Mapping[str, Any]) -> str:
    number = entry.get("entry_number")
    head = f"#{number} " if number is not None else ""
    return f"{head}{entry.get('date_filed') or ''} {entry.get('text') or ''}".strip()


def _life_lines(data: Mapping[str, Any]) -> list[_Line]:
    """Met by, vacated/suspended/resumed by, extension requested, and the overdue evidence."""
    lines: list[_Line] = []
    if data.get("days_left") is not None:
        lines.append(_Line("Days left", str(data["days_left"])))
    for key, label in (("met_by", "Met by"), ("vacated_by", "Vacated by"),
                       ("suspended_by", "Suspended by"), ("resumed_by", "Resumed by")):
        entry = data.get(key)
        if isinstance(entry, Mapping):
            lines.append(_Line(label, _entry_words(entry)))
    if data.get("case_closed"):
        lines.append(_Line("Vacated", f"the case was closed {data['case_closed']}"))
    asked = data.get("extension_requested")
    if isinstance(asked, Mapping):
        granted = asked.get("granted")
        text = f"requested by {_entry_words(asked)}"
        if isinstance(granted, Mapping):
            text += f"; granted by {_entry_words(granted)} (the new date is not in the text)"
        lines.append(_Line("Extension", text))
    if data.get("looked_for"):
        lines.append(_Line("Looked for", str(data["looked_for"])))
    if "last_checked" in data:
        lines.append(_Line("Last checked", str(data.get("last_checked") or "never")))
    seen = data.get("last_entry")
    if isinstance(seen, Mapping):
        lines.append(_Line("Last entry seen", _entry_words(seen)))
    if data.get("reason"):
        lines.append(_Line("Why", str(data["reason"])))
    return lines


def _other_lines(event: Event) -> list[_Line]:
    data = event.data or {}
    lines: list[_Line] = []
    for key in ("state", "agency", "county", "support_type", "status", "url", "step",
                "days_overdue", "error"):
        value = data.get(key)
        if key == "url":
            value = safe_url(str(value or ""))
        if value not in (None, "", [], {}):
            lines.append(_Line(key.replace("_", " ").capitalize(),
                               cap_text(str(value), VALUE_LIMIT),
                               str(value) if key == "url" else ""))
    fields = data.get("fields")  # a row of a list watched row by row (`item.*`)
    if isinstance(fields, Mapping):
        lines += [_Line(str(name).replace("_", " ").capitalize(), cap_text(str(value),
                                                                        VALUE_LIMIT))
                  for name, value in fields.items() if value and name not in data.get(
                      "changes", {})]
    changes = data.get("changes")
    if isinstance(changes, Mapping):
        for name, change in changes.items():
            if isinstance(change, Mapping):
                lines.append(_Line(f"Changed {name}",
                                   f"{change.get('before', '')} -> {change.get('after', '')}"))
    matched = data.get("matched_by")
    if isinstance(matched, list) and matched:
        why = "; ".join(f"{m.get('watch')}: {m.get('field')} {m.get('pattern')}"
                        for m in matched if isinstance(m, Mapping))
        lines.append(_Line("Matched by", why))
    return lines


def _lines(event: Event, context: RenderContext) -> list[_Line]:
    data = event.data or {}
    lines = _case_lines(data, context.case)
    if event.kind.startswith("deadline."):
        lines += _deadline_lines(data, context.deadline)
    else:
        lines += _entry_lines(data, context.case)
    return lines + _other_lines(event)


def _title(event: Event, context: RenderContext) -> str:
    data = event.data or {}
    case = context.case
    headline = _HEADLINES.get(event.kind, event.kind)
    court = str(data.get("court") or (case.court if case else ""))
    docket = str(data.get("docket_number") or (case.docket_number if case else ""))
    where = f"{court} {docket}" if court and docket else ""
    if where and event.kind == "entry.added":
        number = data.get("entry_number")
        text = str(data.get("description") or data.get("short_description") or "")
        title = f"New entry {where}" + (f" #{number}" if number is not None else "") + f": {text}"
    elif where and event.kind.startswith("deadline."):
        due = data.get("due_date") or (context.deadline.due_date if context.deadline else "")
        label = data.get("label") or (context.deadline.label if context.deadline else "")
        title = f"{headline} {due}: {label} ({where})".replace(" : ", ": ")
    elif where:
        name = str(data.get("case_name") or (case.case_name if case else ""))
        title = f"{headline}: {where} {name}".strip()
    else:
        title = f"{headline}: {event.summary}" if event.summary else headline
    title = " ".join(clean_text(title).split())
    return title if len(title) <= 200 else title[:199] + "…"


def _at(event: Event) -> str:
    return as_utc(event.at).strftime("%Y-%m-%d %H:%M UTC")


def _text(lines: Sequence[_Line]) -> str:
    return "\n".join(f"{line.label}: {clean_text(line.value)}" for line in lines)


def _html_rows(lines: Sequence[_Line]) -> str:
    rows = []
    for line in lines:
        value = html.escape(clean_text(line.value))
        if safe_url(line.url):
            value = f'<a href="{html.escape(line.url, quote=True)}">{value}</a>'
        rows.append(f"<tr><th align=\"left\" valign=\"top\">{html.escape(line.label)}</th>"
                    f"<td>{value}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def render_message(event: Event, context: RenderContext | None = None) -> Message:
    """The message for one event: headline, the case, the entry or deadline, the links."""
    context = context or RenderContext()
    lines = _lines(event, context)
    footer = f"{event.kind} #{event.id} at {_at(event)}"
    title = _title(event, context)
    text = f"{title}\n\n{_text(lines)}\n\n{footer}".replace("\n\n\n", "\n\n")
    body = (f"<p><strong>{html.escape(title)}</strong></p>{_html_rows(lines)}"
            f"<p><small>{html.escape(footer)}</small></p>")
    return Message(title=f"[court-monitor] {title}", text=text, html=body)


@dataclass(frozen=True)
class _Group:
    """The events of one subject (a case, a matter, an agreement, a source) in a digest."""

    heading: str
    lines: list[_Line]
    items: list[tuple[Event, RenderContext]]
    is_case: bool


def _group_heading(event: Event, context: RenderContext) -> tuple[str, list[_Line]]:
    """A digest group's heading and its own lines (the docket link of a case)."""
    data = event.data or {}
    case_lines = _case_lines(data, context.case)
    if case_lines:
        return case_lines[0].value, case_lines[1:]
    if event.subject.startswith("matter:"):
        name = event.subject.removeprefix("matter:")
        what = " ".join(str(data[k]) for k in ("kind", "reference") if data.get(k))
        agency = str(data.get("agency") or "")
        more = ", ".join(x for x in (what, agency) if x)
        return (f"Matter {name}" + (f" ({more})" if more else ""), [])
    if event.subject.startswith("agreement:"):
        agency = str(data.get("agency") or data.get("new") or event.summary)
        state = str(data.get("state") or "")
        return (f"287(g) agreement: {agency}" + (f" ({state})" if state else ""), [])
    return (event.subject or _HEADLINES.get(event.kind, event.kind), [])


def _groups(items: Sequence[tuple[Event, RenderContext]]) -> list[_Group]:
    """Events grouped by subject, groups in the order of their first event, events oldest
    first within each."""
    groups: dict[str, _Group] = {}
    for event, context in items:
        key = event.subject or f"event:{event.id}"
        if key not in groups:
            heading, lines = _group_heading(event, context)
            groups[key] = _Group(clean_text(heading), lines, [],
                                 _on_case(event.data or {}, context.case))
        groups[key].items.append((event, context))
    return list(groups.values())


def _item_lines(event: Event, context: RenderContext) -> list[_Line]:
    """An event's lines without the case lines its group heading already shows."""
    data = event.data or {}
    if event.kind.startswith("deadline."):
        lines = _deadline_lines(data, context.deadline)
    else:
        lines = _entry_lines(data, context.case)
    return lines + _other_lines(event)


def _on_case(data: Mapping[str, Any], case: Case | None) -> bool:
    """Whether an event names a case (its group heading then shows the case)."""
    return bool((data.get("court") or (case.court if case else ""))
                and (data.get("docket_number") or (case.docket_number if case else "")))


def _item_headline(event: Event, context: RenderContext) -> str:
    data = event.data or {}
    headline = _HEADLINES.get(event.kind, event.kind)
    if event.kind.startswith("deadline."):
        due = data.get("due_date") or (context.deadline.due_date if context.deadline else "")
        label = data.get("label") or (context.deadline.label if context.deadline else "")
        headline = f"{headline} {due}: {label}".replace(" : ", ": ").strip()
    elif not _on_case(data, context.case) and event.summary:
        headline = f"{headline}: {event.summary}"
    return " ".join(clean_text(headline).split())


def _html_line(line: _Line) -> str:
    """`<strong>Label:</strong> value` (a link when the line has a safe URL)."""
    value = html.escape(clean_text(line.value))
    if safe_url(line.url):
        value = f'<a href="{html.escape(line.url, quote=True)}">{value}</a>'
    return f"<strong>{html.escape(line.label)}:</strong> {value}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_digest(items: Sequence[tuple[Event, RenderContext]], *, subscription: str,
                  period: str = "") -> Message:
    """One message for many events (a subscription's digest), grouped by case (a matter, an
    agreement or a source by its own subject), groups and events oldest first.

    The text form reads as Markdown (a heading per case, a bullet per update) for chat and the
    console; the HTML form is for email, laid out (a rule and a heading per group, a list item
    per update, `Label: value` lines) so the plain-text alternative Apprise derives from it
    reads the same way.
    """
    groups = _groups(items)
    count = len(items)
    title = f"[court-monitor] {subscription}: {_plural(count, 'update')}"
    where = (f"on {_plural(len(groups), 'case')}" if all(g.is_case for g in groups)
             else f"in {_plural(len(groups), 'group')}")
    intro = f"{_plural(count, 'update')} {where}" + (f" ({period})" if period else "")
    text_parts = [intro]
    html_parts = [f"<p>{html.escape(intro)}</p>"]
    for group in groups:
        text_parts.append(f"## {group.heading}")
        text_parts += [f"{line.label}: {clean_text(line.value)}" for line in group.lines]
        html_parts.append(f"<hr/><h2>{html.escape(group.heading)}</h2>"
                          + "".join(f"<p>{_html_line(line)}</p>" for line in group.lines)
                          + "<ul>")
        for event, context in group.items:
            headline = _item_headline(event, context)
            footer = f"{event.kind} #{event.id} at {_at(event)}"
            lines = _item_lines(event, context)
            body = "\n".join(f"  {line.label}: {clean_text(line.value)}" for line in lines)
            text_parts.append(f"- {headline}" + (f"\n{body}" if body else "")
                              + f"\n  ({footer})")
            html_parts.append(f"<li><strong>{html.escape(headline)}</strong>"
                              + "".join(f"<br/>{_html_line(line)}" for line in lines)
                              + f"<br/><small>{html.escape(footer)}</small></li>")
        html_parts.append("</ul>")
    return Message(title=title, text="\n\n".join(text_parts), html="".join(html_parts))
