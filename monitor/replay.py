"""`court-monitor replay FILE`: what the monitor would have said about a case, day by day.

A docket file (see `monitor.replay_input`) is replayed into a scratch SQLite database through the
production paths only: `Store.apply` with the listeners the daemon uses (the deadline listener of
`monitor.deadlines.service` first), and the reminder job `run_reminders`. The clock is injected:
every action runs at its own time on its day, in the court's time zone.

The day of the replay (court-local times):

- 07:55 the docket is read (every day up to the last entry's day by default, since the file is
  the full record up to there; with `checked="entry-days"` only on days with entries): an
  observation of the case with no entries, as a CourtListener docket sync carries it
  (`cl_synced`), through `Store.apply`. Past the last entry nothing is known, so no day counts as
  read: a deadline that falls due there is `deadline.unverified`, never `deadline.overdue`;
- `remind_at` (08:00 by default): `run_reminders`, so `deadline.due_soon`, `deadline.overdue` and
  `deadline.unverified` go out on their days;
- 12:00 the entries filed that day, in file order, as one observation of the case (with
  `date_terminated` from the day the docket says the case was terminated, which is observed on
  that day even when no entry was filed), then `run_reminders` again, as the daemon runs it
  every few minutes.

Days with no filing on which no reminder can fall due (no unsettled deadline within the largest
reminder lead) are skipped, which changes nothing but the time the replay takes.

The replay runs from the first entry's day to the last entry's day (or the termination date, or
`until`, whichever is latest). The ledger is every `deadline.*` event and `case.closed`, oldest
first; a row names the entry whose filing caused it (none for reminders).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from monitor.config import Config, WatchConfig
from monitor.db import make_engine, read_session
from monitor.deadlines.life import OPEN
from monitor.deadlines.service import run_reminders
from monitor.listeners import build_listeners
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Deadline, Event
from monitor.replay_input import ReplayDocket
from monitor.store import Store
from sources.base import CaseObservation, EntryObservation
from sources.courts import court_timezone

__all__ = ["CHECK_TIME", "ENTRY_TIME", "LedgerRow", "ReplayOptions", "format_ledger", "replay"]

#: court-local time the docket is read each day, and the time a day's filings are seen
CHECK_TIME, ENTRY_TIME = time(7, 55), time(12, 0)
SOURCE_ID = "replay"

#: states in which the reminder job may still have something to say about a deadline
_WAKING = tuple(state for state in OPEN if state != "overdue")

Checked = Literal["daily", "entry-days"]


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay: which days count as read, and how far to run past the last entry."""

    checked: Checked = "daily"
    until: date | None = None


@dataclass(frozen=True)
class LedgerRow:
    """One line of the ledger: what an alert subscriber would have seen, and why."""

    day: date
    event: str
    deadline: str
    due: date | None
    why: str
    entry: int | None

    def to_json(self) -> dict[str, Any]:
        """The `--json` object: `{day, event, deadline, due, why, entry}`."""
        return {"day": self.day.isoformat(), "event": self.event, "deadline": self.deadline,
                "due": self.due.isoformat() if self.due else None, "why": self.why,
                "entry": self.entry}


def replay(docket: ReplayDocket, config: Config, workdir: Path,
           options: ReplayOptions = ReplayOptions()) -> list[LedgerRow]:
    """Replay the docket into a fresh scratch database `workdir/replay.db`; return the ledger."""
    case = docket.case
    for leftover in ("replay.db", "replay.db-wal", "replay.db-shm"):
        (workdir / leftover).unlink(missing_ok=True)  # an earlier replay's, never the user's
    scratch = _scratch_config(config, case, workdir)
    engine = make_engine(scratch.database_url)
    try:
        upgrade(engine)
        matcher = Matcher(scratch.watches)
        zone = ZoneInfo(court_timezone(case.court))
        clock = _Clock(datetime.min.replace(tzinfo=UTC))
        store = Store(engine, matcher, build_listeners(scratch, docket.party_aliases))
        driver = _Driver(store, scratch, docket, zone, options, clock)
        return driver.run()
    finally:
        engine.dispose()


def _scratch_config(config: Config, case: CaseObservation, workdir: Path) -> Config:
    """The user's deadline settings, a scratch database, one watch (this case), no alerts."""
    watch = WatchConfig(name="replay", dockets=[f"{case.court}:{case.docket_number}"])
    return dataclasses.replace(
        config, database_url=f"sqlite:///{workdir / 'replay.db'}", watches=(watch,),
        subscriptions=(), matters=(), sources=(),
    )


class _Clock:
    """The injected clock: set by the driver before each action."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class _Driver:
    """Runs the days of one replay and collects the ledger."""

    def __init__(self, store: Store, config: Config, docket: ReplayDocket, zone: ZoneInfo,
                 options: ReplayOptions, clock: _Clock) -> None:
        self.store, self.config, self.docket, self.zone = store, config, docket, zone
        self.options, self.clock = options, clock
        self.rows: list[LedgerRow] = []
        self.started = False
        self.lead = max([0, *config.deadlines.reminder_days])
        self.wake_on: date | None = None  # the first day a reminder may be due (None: never)
        self.record_end = date.min  # the last day the file has an entry for

    def run(self) -> list[LedgerRow]:
        by_day = {day: tuple(group) for day, group in
                  groupby(sorted(self.docket.entries, key=_day), key=_day)}
        if not by_day:
            return []
        first, self.record_end = min(by_day), max(by_day)
        last = max([self.record_end, *(d for d in (self.docket.case.date_terminated,
                                                   self.options.until) if d is not None)])
        day = first
        while day <= last:
            self._run_day(day, by_day.get(day, ()))
            day += timedelta(days=1)
        return self.rows

    def _run_day(self, day: date, entries: Sequence[EntryObservation]) -> None:
        closes = day == self.docket.case.date_terminated
        if not entries and not closes and (self.wake_on is None or day < self.wake_on):
            return  # a quiet day: no filing, and no reminder can fall due (speed only)
        actions: list[tuple[time, int, Callable[[datetime], None]]] = []
        if self.started and (entries or (self.options.checked == "daily"
                                         and day <= self.record_end)):
            actions.append((CHECK_TIME, 0, lambda now: self._observe(day, (), now)))
        actions.append((self.config.deadlines.remind_at, 1, self._remind))
        if entries or closes:
            actions.append((ENTRY_TIME, 2, lambda now: self._observe(day, entries, now)))
            actions.append((ENTRY_TIME, 3, self._remind))
        for at, _order, action in sorted(actions, key=lambda a: (a[0], a[1])):
            now = datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)
            self.clock.now = now
            action(now)
        reads_ahead = self.options.checked == "daily" and day < self.record_end
        self.wake_on = self._wake_on(_WAKING if reads_ahead else ("open",))

    def _wake_on(self, states: Sequence[str]) -> date | None:
        """The first day a deadline in `states` may need a reminder, an overdue or a recheck.

        Without a read of the docket ahead, an unverified deadline stays as it is."""
        with read_session(self.store.engine) as session:
            dues = session.exec(select(col(Deadline.due_date)).where(
                col(Deadline.state).in_(states))).all()
        return min(dues) - timedelta(days=self.lead) if dues else None

    def _observe(self, day: date, entries: Sequence[EntryObservation], now: datetime) -> None:
        case = self.docket.case
        terminated = case.date_terminated if case.date_terminated and \
            case.date_terminated <= day else None
        obs = dataclasses.replace(case, entries=tuple(entries), date_terminated=terminated,
                                  cl_synced=True)
        result = self.store.apply([obs], source_id=SOURCE_ID, now=now)
        self.started = True
        entry: int | None = None
        for event in result.events:
            if event.kind == "entry.added":
                entry = (event.data or {}).get("entry_number")
            else:
                self._record(event, entry)

    def _remind(self, now: datetime) -> None:
        if not self.started:
            return
        for event in run_reminders(self.store.engine, self.config, now=now,
                                   listeners=self.store.listeners):
            self._record(event, None)

    def _record(self, event: Event, entry: int | None) -> None:
        if not (event.kind.startswith("deadline.") or event.kind == "case.closed"):
            return
        data = event.data or {}
        due = data.get("due_date") if event.kind != "case.closed" else None
        self.rows.append(LedgerRow(
            day=event.at.astimezone(self.zone).date(), event=event.kind,
            deadline=str(data.get("label") or ""),
            due=date.fromisoformat(due) if isinstance(due, str) else None,
            why=_why(event), entry=entry,
        ))


def _day(entry: EntryObservation) -> date:
    assert entry.date_filed is not None  # replay_input places undated entries
    return entry.date_filed


def _why(event: Event) -> str:
    """One line: the event's summary, and for a derived deadline the first counting step."""
    data = event.data or {}
    steps = data.get("steps") or []
    why = " ".join(event.summary.split())
    if event.kind in ("deadline.set", "deadline.changed") and steps:
        why += f" — {' '.join(str(steps[0]).split())}"
    return why[:300]


def format_ledger(rows: Sequence[LedgerRow], heading: str = "") -> str:
    """The ledger as aligned text: day, event, deadline, due, entry, why."""
    lines = [heading] if heading else []
    lines.append(f"{'day':<10}  {'event':<19}  {'deadline':<40}  {'due':<10}  {'entry':>5}  why")
    for row in rows:
        lines.append(
            f"{row.day.isoformat():<10}  {row.event:<19}  {row.deadline[:40]:<40}  "
            f"{row.due.isoformat() if row.due else '':<10}  "
            f"{'' if row.entry is None else row.entry:>5}  {row.why}")
    if not rows:
        lines.append("(no deadline events)")
    return "\n".join(lines)
