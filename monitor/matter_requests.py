"""Matters kept by a source: a public-records request as a portal (MuckRock) shows it.

`apply_request` turns one `RequestObservation` into the matter's row and events, idempotently:

- first seen: `matter.added` (with `"baseline": true` when its listing is a target's first);
- its status changed: `matter.status_changed` (`before`, `after`, and the portal's codes);
- an agency's message not seen before: `matter.response_received` (`{communication: {id, at,
  subject, text, status, url, files: [{title, url, pages}]}}`; files are linked only);
- the statutory clock as for a typed-in matter (`monitor.matters`: the state's public-records
  row of the rule table when there is one, else federal FOIA), paused while the portal says the
  agency waits on the requester (fix required, payment required), closed (`deadline.met`) when
  the portal marks the request finished (completed, rejected, no documents, withdrawn), and
  run again on the appeal clock when a finished request is appealed (`deadline.changed`).

The whole thread is kept on the matter (`Matter.communications`) as its timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from monitor.config import Config
from monitor.deadlines.service import end_deadline
from monitor.events import EventListener, emit
from monitor.matters import clock_key, matter_data, refresh_clock, set_matter_status
from monitor.models import Deadline, Matter
from sources.base import RequestCommunication, RequestObservation

__all__ = ["apply_request"]

log = logging.getLogger(__name__)

_OPEN_CLOCK = ("open", "overdue", "unverified")


def apply_request(session: Session, listeners: Sequence[EventListener], obs: RequestObservation,
                  config: Config, *, source_id: str, now: datetime,
                  clocked: set[str] | None = None) -> None:
    """Create or update the request's matter, its status, thread and clock.

    `clocked`: matters whose clock this process already computed from this config; a matter
    in it whose clock inputs did not change is not recomputed (a round where nothing changed
    costs no calendar arithmetic; a new process, with a new config, computes each once)."""
    matter = session.get(Matter, obs.matter)
    created = matter is None
    if matter is None:
        matter = Matter(id=obs.matter, kind="foia", created_at=now, origin=source_id)
    elif matter.origin not in ("", source_id):
        log.debug("%s also followed by %s", obs.matter, matter.origin)
    before = _clock_inputs(matter)
    if matter.closed and not obs.closed and obs.appealing:
        _appeal(matter, obs, now.date())
    _fill(matter, obs)
    session.add(matter)
    if created:
        session.flush()
    if created:
        _added(session, listeners, matter, obs, source_id, now)
    elif matter.status_code != obs.status_code:
        set_matter_status(session, listeners, matter.id, obs.status, now=now,
                          source_id=source_id, baseline=obs.baseline)
    matter.status_code = obs.status_code
    _thread(session, listeners, matter, obs, source_id, now, quiet=created and obs.baseline)
    _pause(matter, obs, now.date())
    session.add(matter)
    if clocked is None or matter.id not in clocked or obs.closed != matter.closed \
            or _clock_inputs(matter) != before:
        _clock(session, listeners, matter, obs, config, now)
        if clocked is not None:
            clocked.add(matter.id)


def _clock_inputs(matter: Matter) -> tuple[Any, ...]:
    """What the statutory clock is computed from (unchanged: nothing to recompute)."""
    return (matter.kind, matter.filed, matter.received, matter.state,
            repr(matter.pauses), matter.closed)


def _appeal(matter: Matter, obs: RequestObservation, today: date) -> None:
    """A finished request appealed: it is open again, on the appeal's clock (20 working days
    from the appeal, 5 U.S.C. 552(a)(6)(A)(ii)), from the requester's last message."""
    sent = [c.at.date() for c in obs.communications if not c.response and c.at is not None]
    matter.kind, matter.closed, matter.escalation_step = "foia-appeal", False, 0
    matter.received = max(sent) if sent else today


def _fill(matter: Matter, obs: RequestObservation) -> None:
    matter.agency, matter.title, matter.url = obs.agency, obs.title, obs.url
    matter.jurisdiction, matter.state = obs.jurisdiction, obs.state
    matter.reference = obs.reference or matter.reference
    matter.filed = obs.submitted
    matter.portal_due, matter.done = obs.due, obs.done
    tags = list(dict.fromkeys([*matter.tags, *obs.tags]))
    if tags != matter.tags:
        matter.tags = tags
    if obs.case and not matter.case_ref:
        matter.case_ref = obs.case


def _added(session: Session, listeners: Sequence[EventListener], matter: Matter,
           obs: RequestObservation, source_id: str, now: datetime) -> None:
    matter.status = obs.status
    matter.status_history = [{"at": now.isoformat(), "status": obs.status, "source": source_id}]
    emit(session, listeners, kind="matter.added", at=now, subject=f"matter:{matter.id}",
         summary=f"Following {obs.title or matter.id} at {obs.agency} ({obs.status})",
         dedupe_key=f"matter.added:{matter.id}",
         data={**matter_data(matter), "baseline": obs.baseline},
         matter_id=matter.id, source_id=source_id, private=matter.private)


def _communication_json(c: RequestCommunication) -> dict[str, Any]:
    row = asdict(c)
    row["at"] = c.at.isoformat() if c.at else None
    return row


def _thread(session: Session, listeners: Sequence[EventListener], matter: Matter,
            obs: RequestObservation, source_id: str, now: datetime, *, quiet: bool) -> None:
    """Keep new messages in the timeline; each new one from the agency is an event."""
    known = {str(c.get("id")) for c in matter.communications}
    new = [c for c in obs.communications if c.id not in known]
    if not new:
        return
    matter.communications = [*matter.communications, *(_communication_json(c) for c in new)]
    if quiet:
        return
    for c in new:
        if not c.response:
            continue
        when = c.at.date().isoformat() if c.at else "undated"
        files = f", {len(c.files)} file{'s' if len(c.files) != 1 else ''}" if c.files else ""
        emit(session, listeners, kind="matter.response_received", at=now,
             subject=f"matter:{matter.id}",
             summary=f"{matter.agency} replied {when}: {c.subject or obs.status}{files}"[:300],
             dedupe_key=f"matter.response_received:{matter.id}:{c.id}",
             data={**matter_data(matter), "communication": _communication_json(c),
                   "baseline": obs.baseline},
             matter_id=matter.id, source_id=source_id, private=matter.private)


def _pause(matter: Matter, obs: RequestObservation, today: date) -> None:
    """The portal says the agency waits on the requester: the clock pauses until it does not."""
    pauses = [dict(p) for p in matter.pauses]
    open_pause = next((p for p in pauses if not p.get("to")), None)
    if obs.paused and open_pause is None and not obs.closed:
        pauses.append({"from": today.isoformat(), "to": None, "why": obs.status})
    elif not obs.paused and open_pause is not None:
        open_pause["to"] = today.isoformat()
    else:
        return
    matter.pauses = pauses


def _clock(session: Session, listeners: Sequence[EventListener], matter: Matter,
           obs: RequestObservation, config: Config, now: datetime) -> None:
    if not obs.closed:
        refresh_clock(session, listeners, matter, config, now=now)
        return
    if matter.closed:
        return
    # The clock is set once (a request first seen finished still shows when it was due).
    refresh_clock(session, listeners, matter, config, now=now)
    matter.closed = True
    session.add(matter)
    row = session.exec(select(Deadline).where(Deadline.key == clock_key(matter.id))).first()
    if row is not None and row.state in _OPEN_CLOCK:
        end_deadline(session, listeners, row, "met", now=now,
                     closed_by={"status": obs.status, "status_code": obs.status_code,
                                "done": obs.done.isoformat() if obs.done else None},
                     baseline=obs.baseline)
