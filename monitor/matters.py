"""Agency matters on statutory clocks: FOIA requests and appeals, complaints, applications.

A matter's clock is a deadline whose subject is the matter (`matter:<id>`), so it speaks through
`deadline.set` / `deadline.due_soon` / `deadline.overdue`. Besides: `matter.added`,
`matter.status_changed` (from a bound `web_page` source or by hand), and `matter.escalated` on
the escalation ladder (days overdue, e.g. 30, 90, 180), which marks a candidate for a mandamus or
APA delay suit and carries what an attorney needs: days elapsed, rule, status history.

The clock pauses while the agency waits on the requester: paused days (working days for FOIA
clocks) are added to the period.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from monitor.config import Config, MatterConfig
from monitor.db import write_session
from monitor.deadlines.calendar import Calendar, compute
from monitor.deadlines.rules import Rule, rule_label, rule_table
from monitor.deadlines.service import DeadlineSpec, upsert_deadline
from monitor.errors import ConfigError
from monitor.events import EventListener, emit
from monitor.models import Deadline, Event, Matter

__all__ = [
    "ClockRule",
    "CLOCK_RULES",
    "UNUSUAL_CIRCUMSTANCES_RULE",
    "clock_for",
    "clock_key",
    "escalate_matters",
    "matter_data",
    "pause_matter",
    "records_rule_id",
    "refresh_clock",
    "set_matter_status",
    "sync_config_matters",
    "upsert_matter",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClockRule:
    """The statutory (or expected) period of a matter kind."""

    rule_id: str
    citation: str
    label: str
    period: int
    unit: str


#: The rule-table row of each matter kind's statutory clock: `rules.toml`, or an operator's
#: `[[deadline_rule]]` with the same id, which replaces it for matters as for dockets.
CLOCK_RULES = {"foia": "foia-552a6Ai", "foia-appeal": "foia-552a6Aii", "application": "ina-1447b"}
#: FOIA's extension for unusual circumstances, added to the determination's due date
UNUSUAL_CIRCUMSTANCES_RULE = "foia-552a6Bi"


def clock_key(matter_id: str) -> str:
    """The key of a matter's clock in the deadline table."""
    return f"matter:{matter_id}:clock"


def clock_for(matter: Matter, complaint_days: int,
              rules: Mapping[str, Rule]) -> ClockRule | None:
    """Which clock a matter runs on: its kind's row of the rule table, or for a complaint the
    expected response time (no statute sets one). None when the table has no usable row."""
    rule_id = CLOCK_RULES.get(matter.kind)
    local = rules.get(records_rule_id(matter.state)) if matter.kind == "foia" else None
    if local is not None and local.period is not None:
        return ClockRule(local.id, local.citation, rule_label(local), local.period, local.unit)
    if rule_id is None:
        days = matter.expect_response_days or complaint_days
        return ClockRule("complaint-expected", "expected response time (no statutory clock)",
                         f"{matter.agency or 'Agency'} response expected", days,
                         "calendar_days")
    rule = rules.get(rule_id)
    if rule is None or rule.period is None:
        return None
    return ClockRule(rule.id, rule.citation, rule_label(rule), rule.period, rule.unit)


def records_rule_id(state: str) -> str:
    """The rule-table id of a state's public-records response period (`public-records-tx`):
    a records request to that state's agencies runs on it when the table has the row (else on
    the federal FOIA clock). "" without a state."""
    return f"public-records-{state.strip().lower()}" if state.strip() else ""


def refresh_clock(session: Session, listeners: Sequence[EventListener], matter: Matter,
                  config: Config, *, now: datetime) -> Event | None:
    """(Re)compute an open matter's statutory clock: `deadline.set` / `deadline.changed`."""
    if matter.closed:
        return None
    spec = _clock_spec(matter, config, now.date())
    return upsert_deadline(session, listeners, spec, now=now) if spec is not None else None


def _paused_days(matter: Matter, start: date, until: date, unit: str) -> int:
    cal = Calendar(state=None, closures=frozenset())
    total = 0
    for pause in matter.pauses:
        begin = max(date.fromisoformat(pause["from"]), start)
        end = date.fromisoformat(pause["to"]) if pause.get("to") else until
        day = begin
        while day < end:
            if unit != "working_days" or cal.blocked(day, forward=True) is None:
                total += 1
            day += timedelta(days=1)
    return total


def _clock_spec(matter: Matter, config: Config, today: date) -> DeadlineSpec | None:
    start = matter.received or matter.filed
    rules = rule_table(config.deadline_rules)
    rule = clock_for(matter, config.escalation.complaint_response_days, rules)
    if start is None or rule is None:
        return None
    paused = _paused_days(matter, start, today, rule.unit)
    result = compute(start, rule.period + paused, rule.unit, "after",  # type: ignore[arg-type]
                     service="n/a")
    steps = [f"Received {start.isoformat()}: {rule.citation}, {rule.period} "
             f"{rule.unit.replace('_', ' ')}", *result.steps]
    if paused:
        steps.insert(1, f"Clock paused {paused} {rule.unit.replace('_', ' ')} while the agency "
                        "waited on the requester")
    due: date = result.due if not isinstance(result.due, datetime) else result.due.date()
    extension = rules.get(UNUSUAL_CIRCUMSTANCES_RULE)
    if matter.kind == "foia" and matter.unusual_circumstances and extension is not None \
            and extension.period is not None:
        extended = compute(due, extension.period, extension.unit, "after", service="n/a")
        steps += [f"Unusual circumstances ({extension.citation}): +{extension.period} "
                  f"{extension.unit.replace('_', ' ')}", *extended.steps]
        due = extended.due if not isinstance(extended.due, datetime) else extended.due.date()
    return DeadlineSpec(
        key=clock_key(matter.id), subject=f"matter:{matter.id}", label=rule.label,
        due_date=due, origin="computed", matter_id=matter.id, rule_id=rule.rule_id,
        citation=rule.citation, timezone=config.deadlines.timezone, trigger_date=start,
        trigger_text=f"{matter.kind} {matter.reference}".strip(), steps=tuple(steps),
        private=matter.private,
    )


def matter_data(matter: Matter) -> dict[str, Any]:
    """The fields every `matter.*` event carries (a source's matter adds where it came from)."""
    extra: dict[str, Any] = {}
    if matter.origin:
        extra = {"origin": matter.origin, "title": matter.title, "url": matter.url,
                 "jurisdiction": matter.jurisdiction, "status_code": matter.status_code,
                 "state": matter.state or None,
                 "portal_due": matter.portal_due.isoformat() if matter.portal_due else None}
    return {
        "matter": matter.id, "kind": matter.kind, "agency": matter.agency,
        "reference": matter.reference, "status": matter.status, "tags": list(matter.tags),
        "case": matter.case_ref or None,
        "filed": matter.filed.isoformat() if matter.filed else None,
        "received": matter.received.isoformat() if matter.received else None,
        **extra,
    }


def upsert_matter(session: Session, listeners: Sequence[EventListener], cfg: MatterConfig,
                  config: Config, *, now: datetime) -> list[Event]:
    """Create or update one matter and its clock; emit `matter.added` and `deadline.*`."""
    events: list[Event] = []
    matter = session.get(Matter, cfg.id)
    created = matter is None
    if matter is None:
        matter = Matter(id=cfg.id, kind=cfg.kind, created_at=now)
    matter.kind, matter.agency, matter.reference = cfg.kind, cfg.agency, cfg.reference
    matter.filed, matter.received = cfg.filed, cfg.received
    matter.expect_response_days = cfg.expect_response_days
    matter.unusual_circumstances = cfg.unusual_circumstances
    matter.tags, matter.private, matter.case_ref = list(cfg.tags), cfg.private, cfg.case
    session.add(matter)
    session.flush()
    if created:
        event = emit(session, listeners, kind="matter.added", at=now, subject=f"matter:{cfg.id}",
                     summary=f"Watching {cfg.kind} {cfg.reference or cfg.id} at {cfg.agency}",
                     dedupe_key=f"matter.added:{cfg.id}", data=matter_data(matter),
                     matter_id=cfg.id, private=cfg.private)
        if event is not None:
            events.append(event)
    event = refresh_clock(session, listeners, matter, config, now=now)
    if event is not None:
        events.append(event)
    return events


def sync_config_matters(engine: Engine, config: Config, *, now: datetime,
                        listeners: Sequence[EventListener]) -> list[Event]:
    """Bring the `[[matter]]` rows of the config into the database."""
    events: list[Event] = []
    if not config.matters:
        return events
    with write_session(engine) as session:
        for cfg in config.matters:
            events += upsert_matter(session, listeners, cfg, config, now=now)
    return events


def set_matter_status(session: Session, listeners: Sequence[EventListener], matter_id: str,
                      status: str, *, now: datetime, source_id: str = "",
                      baseline: bool = False) -> list[Event]:
    """A matter's status changed (from its status page, or by hand)."""
    matter = session.get(Matter, matter_id)
    if matter is None:
        log.warning("status for unknown matter %s ignored (add it to the config)", matter_id)
        return []
    if matter.status == status:
        return []
    before = matter.status
    matter.status = status
    matter.status_history = [*matter.status_history,
                             {"at": now.isoformat(), "status": status, "source": source_id}]
    session.add(matter)
    event = emit(session, listeners, kind="matter.status_changed", at=now,
                 subject=f"matter:{matter_id}",
                 summary=f"{matter.agency} {matter.reference or matter_id}: {status[:200]}",
                 dedupe_key=f"matter.status_changed:{matter_id}:{len(matter.status_history)}",
                 data={**matter_data(matter), "before": before or None, "after": status,
                       "baseline": baseline},
                 matter_id=matter_id, source_id=source_id, private=matter.private)
    return [event] if event is not None else []


def pause_matter(engine: Engine, config: Config, matter_id: str, *, on: date, resume: bool,
                 now: datetime, listeners: Sequence[EventListener]) -> list[Event]:
    """Pause (the agency waits on the requester) or resume a matter's clock."""
    with write_session(engine) as session:
        matter = session.get(Matter, matter_id)
        if matter is None:
            raise ConfigError(f"no matter {matter_id!r}", key="id")
        pauses = [dict(p) for p in matter.pauses]
        open_pause = next((p for p in pauses if not p.get("to")), None)
        if resume:
            if open_pause is None:
                raise ConfigError(f"matter {matter_id} is not paused", key="id")
            open_pause["to"] = on.isoformat()
        elif open_pause is None:
            pauses.append({"from": on.isoformat(), "to": None})
        matter.pauses = pauses
        session.add(matter)
        spec = _clock_spec(matter, config, now.date())
        event = upsert_deadline(session, listeners, spec, now=now) if spec else None
        return [event] if event is not None else []


def escalate_matters(engine: Engine, config: Config, *, now: datetime,
                     listeners: Sequence[EventListener]) -> list[Event]:
    """`matter.escalated` when an overdue matter passes a step of the ladder."""
    ladder = sorted(config.escalation.ladder)
    events: list[Event] = []
    with write_session(engine) as session:
        for matter in session.exec(select(Matter).where(Matter.closed == False)).all():  # noqa: E712
            clock = session.exec(select(Deadline).where(
                Deadline.key == clock_key(matter.id))).first()
            if clock is None or clock.state not in ("open", "overdue"):
                continue
            today = now.astimezone(ZoneInfo(clock.timezone or "UTC")).date()
            overdue = (today - clock.due_date).days
            reached = sum(1 for days in ladder if overdue >= days)
            if reached <= matter.escalation_step:
                continue
            start = matter.received or matter.filed
            for step in range(matter.escalation_step + 1, reached + 1):
                event = emit(
                    session, listeners, kind="matter.escalated", at=now,
                    subject=f"matter:{matter.id}",
                    summary=f"{matter.agency} {matter.reference or matter.id}: {overdue} days "
                    f"overdue (step {step}): a candidate for a mandamus or APA delay suit",
                    dedupe_key=f"matter.escalated:{matter.id}:{clock.due_date}:{step}",
                    data={**matter_data(matter), "step": step, "days_overdue": overdue,
                          "days_elapsed": (today - start).days if start else None,
                          "rule": clock.rule_id, "citation": clock.citation,
                          "due": clock.due_date.isoformat(),
                          "status_history": list(matter.status_history)},
                    matter_id=matter.id, private=matter.private,
                )
                if event is not None:
                    events.append(event)
            matter.escalation_step = reached
            session.add(matter)
    return events
