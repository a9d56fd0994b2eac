"""The outbox: dispatching pending deliveries, digests and test messages.

No delivery is sent twice unless the process died between the channel taking it and the commit
that marks it sent (the one window no outbox can close):

- Deliveries are claimed one at a time (a digest: one channel's rows at a time), right before
  they are sent: the row names its owner (`monitor.leases` process token) and a lease that a
  helper thread renews while the send runs, however slow the channel. A claim of a process on
  this host that no longer runs is void at once (a SIGKILLed daemon's sends are retried by the
  next dispatcher); one of another host lapses with its lease. On PostgreSQL the claim reads
  rows `FOR UPDATE SKIP LOCKED`, so dispatchers of several daemons never take the same row.
- Every send has a total time limit (`SEND_LIMIT`). A channel that has not answered by then
  stops holding the round up: the send keeps its claim until it ends, and its outcome is
  recorded then; the channel's other deliveries wait for a later round. A channel that fails
  is skipped for the rest of the round too, so a dead server costs one try per round.
- A round stops claiming when its time budget is spent; `left` says how many are still due.
Failures retry with capped exponential backoff and jitter, forever unless `give_up_after` is set.

When each delivery may go (`monitor.alerts.schedule`): a delivery routed as `"urgent"` goes at
once whatever its subscription's mode and quiet hours; the other deliveries of an immediate
subscription wait while its quiet hours last; those of a digest subscription wait for the
digest moment (daily or weekly, in the subscription's zone) after they were created. A digest
due while no daemon ran is sent at the next start, once; a failed one is retried like any send.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import ColumnElement, Engine, and_, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from monitor.alerts.channels import Notifier
from monitor.alerts.render import (
    Message,
    RenderContext,
    as_utc,
    render_digest,
    render_message,
)
from monitor.alerts.routing import URGENT, channel_id, subscription_channels
from monitor.alerts.schedule import (
    digest_cutoff,
    digest_period,
    next_digest,
    quiet_ended,
    quiet_until,
    subscription_zone,
)
from monitor.config import SubscriptionConfig
from monitor.db import read_session, write_session
from monitor.errors import AlertError
from monitor.leases import Owner, claim_is_live, renewing, this_process
from monitor.models import Case, Deadline, Delivery, Event
from monitor.views import iso_z

__all__ = [
    "CLAIM_LEASE",
    "ROUND_BUDGET",
    "SEND_LIMIT",
    "DispatchReport",
    "backoff_delay",
    "dispatch_pending",
    "due_count",
    "due_since",
    "load_context",
    "send_digests",
    "send_test",
]

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
#: How long a claim holds without renewal; renewed every quarter of it while the send runs.
CLAIM_LEASE = timedelta(minutes=2)
#: The longest a dispatcher waits for one send.
SEND_LIMIT = timedelta(seconds=20)
#: How long one dispatch round keeps claiming.
ROUND_BUDGET = timedelta(seconds=60)
GONE = "subscription or channel no longer configured"
_CANDIDATES = 50

Clock = Callable[[], datetime]

#: Deliveries this process is sending now (its own claims are live exactly while listed here).
_in_flight: set[int] = set()
_in_flight_lock = threading.Lock()


@dataclass
class DispatchReport:
    """What one dispatch round did; `left` counts deliveries still due when it ended."""

    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    orphaned: int = 0
    unanswered: int = 0
    left: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    ids: tuple[int, ...]
    subscription: SubscriptionConfig
    url: str
    event_ids: tuple[int, ...]

    @property
    def channel(self) -> tuple[str, str]:
        return (self.subscription.name, channel_id(self.url))


def backoff_delay(attempts: int, rng: random.Random, *, base: timedelta = BACKOFF_BASE,
                  cap: timedelta = BACKOFF_CAP) -> timedelta:
    """Delay before try `attempts + 1`: base * 2^(attempts-1), capped, times a 0.9-1.1 jitter."""
    exponent = max(0, min(attempts - 1, 30))
    delay: timedelta = min(cap, base * (2 ** exponent))
    jitter: float = rng.uniform(0.9, 1.1)
    return delay * jitter


def load_context(session: Session, event: Event) -> RenderContext:
    """The case row and, for deadline events, the deadline row an event refers to."""
    case = session.get(Case, event.case_id) if event.case_id is not None else None
    deadline = None
    key = (event.data or {}).get("deadline_key") or (event.data or {}).get("key")
    if event.kind.startswith("deadline.") and key:
        deadline = session.exec(select(Deadline).where(Deadline.key == str(key))).first()
    return RenderContext(case=case, deadline=deadline)


# ---------------------------------------------------------------------------- claiming


def _channels(subscriptions: Iterable[SubscriptionConfig]) -> dict[tuple[str, str], str]:
    return {(s.name, channel_id(u)): u for s in subscriptions for u in subscription_channels(s)}


def _due_query(names: Sequence[str], now: datetime | None,
               created_by: datetime | None = None, *,
               urgent_of: Sequence[str] = ()) -> SelectOfScalar[Delivery]:
    """Pending rows whose next try has come at `now` (None: whenever it is): every row of
    `names`, the urgent rows of `urgent_of`; with `created_by` (a digest), the rows created by
    then that are not urgent."""
    mine: ColumnElement[bool] = col(Delivery.subscription).in_(list(names))
    if urgent_of:
        mine = or_(mine, and_(col(Delivery.mode) == URGENT,
                              col(Delivery.subscription).in_(list(urgent_of))))
    query = select(Delivery).where(Delivery.status == "pending", mine)
    if now is not None:
        query = query.where((col(Delivery.next_try).is_(None)) | (col(Delivery.next_try) <= now))
    if created_by is not None:
        query = query.where(Delivery.created_at <= created_by, col(Delivery.mode) != URGENT)
    return query.order_by(col(Delivery.id))


def _open_names(subs: Iterable[SubscriptionConfig], now: datetime, zone: str) -> list[str]:
    """Immediate subscriptions outside their quiet hours at `now` (all their rows may go)."""
    return [s.name for s in subs if s.mode != "digest"
            and quiet_until(s, now, subscription_zone(s, zone)) is None]


def _claimed(row: Delivery, now: datetime, me: Owner) -> bool:
    """Whether someone is sending this row now (this process: exactly while it is in flight)."""
    if row.claimed_by == me.token:
        with _in_flight_lock:
            return (row.id or 0) in _in_flight
    return claim_is_live(row.claimed_by, row.claimed_until, now, me)


def _take(session: Session, rows: Sequence[Delivery], now: datetime, me: Owner) -> None:
    with _in_flight_lock:
        for row in rows:
            row.claimed_by, row.claimed_until = me.token, now + CLAIM_LEASE
            _in_flight.add(row.id or 0)
            session.add(row)


def _orphan(session: Session, rows: Iterable[Delivery]) -> int:
    count = 0
    for row in rows:
        row.status, row.last_error, row.next_try = "failed", GONE, None
        row.claimed_by, row.claimed_until = "", None
        session.add(row)
        count += 1
    return count


def _orphan_unknown(engine: Engine, known: set[str]) -> int:
    with write_session(engine) as session:
        return _orphan(session, session.exec(select(Delivery).where(
            Delivery.status == "pending", col(Delivery.subscription).not_in(list(known)))).all())


def _claim_next(engine: Engine, subs: dict[str, SubscriptionConfig],
                urls: dict[tuple[str, str], str], clock: Clock, me: Owner,
                skip: set[tuple[str, str]], report: DispatchReport, zone: str) -> _Claim | None:
    """Claim the oldest delivery due to go alone (urgent, or of an immediate subscription
    outside its quiet hours) that nobody is sending, on a channel not skipped."""
    with write_session(engine) as session:
        now = as_utc(clock())
        query = _due_query(_open_names(subs.values(), now, zone), now, urgent_of=list(subs))
        rows = session.exec(query.limit(_CANDIDATES).with_for_update(skip_locked=True)).all()
        for row in rows:
            key = (row.subscription, row.channel)
            if key in skip or _claimed(row, now, me):
                continue
            if key not in urls:
                report.orphaned += _orphan(session, [row])
                continue
            _take(session, [row], now, me)
            return _Claim((row.id or 0,), subs[row.subscription], urls[key], (row.event_id,))
    return None


def _claim_digest(engine: Engine, sub: SubscriptionConfig, url: str, cutoff: datetime,
                  clock: Clock, me: Owner) -> _Claim | None:
    """Claim every due digest delivery of one channel (none when any is being sent)."""
    with write_session(engine) as session:
        now = as_utc(clock())
        query = _due_query([sub.name], now, created_by=cutoff)
        rows = [r for r in session.exec(query.with_for_update(skip_locked=True)).all()
                if r.channel == channel_id(url)]
        if not rows or any(_claimed(r, now, me) for r in rows):
            return None
        _take(session, rows, now, me)
        return _Claim(tuple(r.id or 0 for r in rows), sub, url, tuple(r.event_id for r in rows))


# ---------------------------------------------------------------------------- sending


def _rows(session: Session, ids: Sequence[int]) -> Sequence[Delivery]:
    return session.exec(select(Delivery).where(col(Delivery.id).in_(list(ids)))).all()


def _renew(engine: Engine, ids: Sequence[int], clock: Clock, me: Owner) -> None:
    with write_session(engine) as session:
        for row in _rows(session, ids):
            if row.claimed_by == me.token and row.status == "pending":
                row.claimed_until = as_utc(clock()) + CLAIM_LEASE
                session.add(row)


def _release(ids: Sequence[int]) -> None:
    with _in_flight_lock:
        _in_flight.difference_update(ids)


def _record(engine: Engine, claim: _Claim, error: AlertError | None, now: datetime,
            rng: random.Random) -> str:
    """Write the outcome of one send and end its claim: "sent", "retrying" or "gave_up"."""
    outcome = "sent" if error is None else "retrying"
    with write_session(engine) as session:
        for row in _rows(session, claim.ids):
            row.claimed_by, row.claimed_until = "", None
            if error is None:
                row.status, row.sent_at, row.next_try, row.last_error = "sent", now, None, ""
            else:
                row.attempts += 1
                row.last_error = str(error)[:500]
                give_up = claim.subscription.give_up_after
                if give_up is not None and row.attempts >= give_up:
                    row.status, row.next_try, outcome = "failed", None, "gave_up"
                else:
                    row.next_try = now + backoff_delay(row.attempts, rng)
            session.add(row)
    return outcome


@dataclass
class _Send:
    """One send running in its own thread; `outcome` is set when it has been recorded."""

    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""
    error: str = ""


def _start_send(engine: Engine, claim: _Claim, message: Message, notifier: Notifier,
                clock: Clock, rng: random.Random, me: Owner) -> _Send:
    """Send in a helper thread that renews the claim until the channel answers, then records
    the outcome (even after the dispatcher stopped waiting for it)."""
    state = _Send()

    def work() -> None:
        error: AlertError | None = None
        try:
            with renewing(lambda: _renew(engine, claim.ids, clock, me), CLAIM_LEASE / 4):
                notifier.send(claim.url, message)
        except AlertError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a channel bug must not strand the claim
            error = AlertError(f"{type(exc).__name__} while sending")
        try:
            state.error = str(error) if error is not None else ""
            state.outcome = _record(engine, claim, error, as_utc(clock()), rng)
        except Exception:  # the claim lapses when this process ends
            log.exception("could not record the outcome of deliveries %s", claim.ids)
            state.outcome = "unrecorded"
        finally:
            _release(claim.ids)
            state.done.set()

    threading.Thread(target=work, name=f"send-{claim.ids[0]}", daemon=True).start()
    return state


def _send(engine: Engine, claim: _Claim, message: Message, notifier: Notifier, clock: Clock,
          rng: random.Random, me: Owner, limit: timedelta, report: DispatchReport) -> bool:
    """Send one claim, waiting at most `limit`; count the outcome. False: skip the channel."""
    state = _start_send(engine, claim, message, notifier, clock, rng, me)
    name = claim.subscription.name
    if not state.done.wait(limit.total_seconds()):
        report.unanswered += len(claim.ids)
        report.errors.append(f"{name}: no answer within {limit.total_seconds():g}s")
        log.warning("delivery to subscription %s: no answer within %gs; its outcome is "
                    "recorded when the channel answers", name, limit.total_seconds())
        return False
    if state.outcome == "sent":
        report.sent += len(claim.ids)
        return True
    if state.outcome == "gave_up":
        report.gave_up += len(claim.ids)
    else:
        report.retrying += len(claim.ids)
    report.errors.append(f"{name}: {state.error}")
    log.warning("delivery to subscription %s failed: %s", name, state.error)
    return False


# ---------------------------------------------------------------------------- public


def due_count(engine: Engine, subscriptions: Sequence[SubscriptionConfig], now: datetime,
              *, timezone: str = "UTC") -> int:
    """Deliveries that may go alone at `now` (urgent ones, and those of immediate
    subscriptions outside their quiet hours) whose next try has come."""
    at = as_utc(now)
    query = _due_query(_open_names(subscriptions, at, timezone), at,
                       urgent_of=[s.name for s in subscriptions])
    with read_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(
            query.order_by(None).subquery())).one())


def due_since(engine: Engine, subscriptions: Sequence[SubscriptionConfig], now: datetime,
              *, timezone: str = "UTC") -> datetime | None:
    """Since when the longest-waiting pending delivery could have gone (None: none could).

    A delivery held by its digest or by quiet hours is not waiting; one created for a digest
    waits from the digest moment after it was created; a retrying one still waits. `status`
    calls the outbox stuck when this is more than an hour ago.
    """
    at = as_utc(now)
    names = [s.name for s in subscriptions]
    open_names = _open_names(subscriptions, at, timezone)
    plain = [s.name for s in subscriptions if s.name in open_names and s.quiet_hours is None]
    since: list[datetime] = []
    with read_session(engine) as session:
        rows = _due_query(plain, None, urgent_of=names).order_by(None).subquery()
        first = session.exec(select(func.min(rows.c.created_at))).one()
        if first is not None:
            since.append(as_utc(first))
        for sub in subscriptions:
            ended = quiet_ended(sub, at, subscription_zone(sub, timezone))
            if sub.name not in open_names or ended is None:
                continue
            oldest = session.exec(select(func.min(Delivery.created_at)).where(
                Delivery.status == "pending", Delivery.subscription == sub.name)).one()
            if oldest is not None:  # held until the quiet period ended: waiting since then
                since.append(max(as_utc(oldest), ended))
        for sub in subscriptions:
            if sub.mode != "digest":
                continue
            zone = subscription_zone(sub, timezone)
            oldest = session.exec(select(func.min(Delivery.created_at)).where(
                Delivery.status == "pending", Delivery.subscription == sub.name,
                col(Delivery.mode) != URGENT,
                Delivery.created_at <= digest_cutoff(sub, at, zone))).one()
            if oldest is not None:
                since.append(next_digest(sub, as_utc(oldest), zone))
    return min(since) if since else None


def dispatch_pending(
    engine: Engine,
    subscriptions: Sequence[SubscriptionConfig],
    *,
    now: datetime,
    notifier: Notifier,
    batch: int | None = None,
    rng: random.Random | None = None,
    clock: Clock | None = None,
    budget: timedelta | None = ROUND_BUDGET,
    send_limit: timedelta = SEND_LIMIT,
    monotonic: Callable[[], float] = time.monotonic,
    timezone: str = "UTC",
) -> DispatchReport:
    """Send the deliveries due to go alone, one message each, claiming and marking each in turn:
    urgent ones of every subscription, and the others of immediate subscriptions outside their
    quiet hours (read in the subscription's `timezone`, else `timezone`).

    Stops when nothing is due, after `batch` claims (None: no cap), or when `budget` (wall time;
    None: none) is spent. `clock` gives the time of each claim (default: `now` throughout).
    Deliveries of subscriptions no longer configured are marked failed (`alerts retry` after
    restoring the subscription requeues them).
    """
    rng = rng or random.Random()
    fixed = as_utc(now)
    clock = clock or (lambda: fixed)
    me = this_process()
    report = DispatchReport()
    report.orphaned += _orphan_unknown(engine, {s.name for s in subscriptions})
    subs = {s.name: s for s in subscriptions}
    urls = _channels(subs.values())
    skip: set[tuple[str, str]] = set()
    started, claims = monotonic(), 0
    while batch is None or claims < batch:
        if budget is not None and monotonic() - started >= budget.total_seconds():
            break
        claim = _claim_next(engine, subs, urls, clock, me, skip, report, timezone)
        if claim is None:
            break
        claims += 1
        message = _render(engine, claim.event_ids, digest_of=None)
        if message is None:
            _drop(engine, claim.ids, report)
            continue
        if not _send(engine, claim, message, notifier, clock, rng, me, send_limit, report):
            skip.add(claim.channel)
    report.left = due_count(engine, subscriptions, clock(), timezone=timezone)
    return report


def send_digests(
    engine: Engine,
    subscriptions: Sequence[SubscriptionConfig],
    *,
    now: datetime,
    notifier: Notifier,
    timezone: str = "UTC",
    rng: random.Random | None = None,
    clock: Clock | None = None,
    send_limit: timedelta = SEND_LIMIT,
) -> DispatchReport:
    """Send each digest subscription one message per channel with everything pending for it,
    grouped by case (or matter, or agreement).

    Deliveries created up to the last digest moment (`digest_at`, daily or on `digest_day`, in
    the subscription's `timezone`, else `timezone`) are due, urgent ones excepted (they went
    alone); call this as often as you like (each minute, or at `digest_at`): nothing is sent
    twice, and a digest missed while no daemon ran goes at the next call.
    """
    rng = rng or random.Random()
    fixed = as_utc(now)
    clock = clock or (lambda: fixed)
    me = this_process()
    report = DispatchReport()
    report.orphaned += _orphan_unknown(engine, {s.name for s in subscriptions})
    for sub in subscriptions:
        if sub.mode != "digest":
            continue
        zone = subscription_zone(sub, timezone)
        cutoff = digest_cutoff(sub, fixed, zone)
        for url in subscription_channels(sub):
            claim = _claim_digest(engine, sub, url, cutoff, clock, me)
            if claim is None:
                continue
            message = _render(engine, claim.event_ids, digest_of=sub.name,
                              period=digest_period(sub, cutoff, zone))
            if message is None:
                _drop(engine, claim.ids, report)
                continue
            _send(engine, claim, message, notifier, clock, rng, me, send_limit, report)
    report.orphaned += _orphan_gone_channels(engine, subscriptions)
    return report


def _orphan_gone_channels(engine: Engine, subscriptions: Sequence[SubscriptionConfig]) -> int:
    """Fail digest deliveries whose channel left their subscription's URLs."""
    urls = _channels(s for s in subscriptions if s.mode == "digest")
    names = {name for name, _ in urls} | {s.name for s in subscriptions if s.mode == "digest"}
    with write_session(engine) as session:
        rows = session.exec(select(Delivery).where(
            Delivery.status == "pending", col(Delivery.subscription).in_(list(names)))).all()
        return _orphan(session, [r for r in rows if (r.subscription, r.channel) not in urls])


def _drop(engine: Engine, ids: Sequence[int], report: DispatchReport) -> None:
    """Fail deliveries whose events are gone (pruned): nothing left to say."""
    with write_session(engine) as session:
        for row in _rows(session, ids):
            row.status, row.next_try, row.last_error = "failed", None, "event no longer exists"
            row.claimed_by, row.claimed_until = "", None
            session.add(row)
    _release(ids)
    report.orphaned += len(ids)


def _render(engine: Engine, event_ids: Sequence[int], *,
            digest_of: str | None, period: str = "") -> Message | None:
    with read_session(engine) as session:
        events = session.exec(
            select(Event).where(col(Event.id).in_(list(event_ids))).order_by(col(Event.id))
        ).all()
        items = [(event, load_context(session, event)) for event in events]
        if not items:
            return None
        if digest_of is None:
            return render_message(*items[0])
        return render_digest(items, subscription=digest_of, period=period)


def send_test(subscription: SubscriptionConfig, notifier: Notifier, now: datetime) -> None:
    """Send a test message to every channel of a subscription (`alerts test NAME`).

    Raises AlertError naming (masked) every channel that failed.
    """
    stamp = iso_z(now, timespec="seconds")
    message = Message(
        title=f"[court-monitor] Test message for subscription {subscription.name}",
        text=f"This is a test of subscription {subscription.name!r}, sent {stamp}.\n"
             "If you can read it, this channel works.",
        html=f"<p>This is a test of subscription <strong>{escape(subscription.name)}</strong>, "
             f"sent {stamp}.</p><p>If you can read it, this channel works.</p>",
    )
    failures = []
    for url in subscription_channels(subscription):
        try:
            notifier.send(url, message)
        except AlertError as exc:
            failures.append(str(exc))
    if failures:
        raise AlertError("; ".join(failures))
