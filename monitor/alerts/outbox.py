"""The outbox: dispatching pending deliveries, digests and test messages.

At most once per (event, subscription, channel): a delivery row is claimed (its `next_try` pushed
a lease ahead, so a second dispatcher leaves it alone), sent, and its "sent" mark committed right
after the send. A crash between the send and that commit may resend once; nothing else does.
Failures retry with capped exponential backoff and jitter, forever unless `give_up_after` is set.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.alerts.channels import Notifier
from monitor.alerts.render import (
    Message,
    RenderContext,
    as_utc,
    iso_z,
    render_digest,
    render_message,
)
from monitor.alerts.routing import channel_id, subscription_channels
from monitor.config import SubscriptionConfig
from monitor.db import read_session, write_session
from monitor.errors import AlertError
from monitor.models import Case, Deadline, Delivery, Event

__all__ = [
    "DispatchReport",
    "backoff_delay",
    "digest_cutoff",
    "dispatch_pending",
    "load_context",
    "send_digests",
    "send_test",
]

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=5)
GONE = "subscription or channel no longer configured"


@dataclass
class DispatchReport:
    """What one dispatch round did."""

    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    orphaned: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    ids: tuple[int, ...]
    subscription: SubscriptionConfig
    url: str
    event_ids: tuple[int, ...]


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


def _due(session: Session, names: Sequence[str], now: datetime, limit: int | None,
         created_by: datetime | None = None) -> list[Delivery]:
    query = select(Delivery).where(
        Delivery.status == "pending",
        col(Delivery.subscription).in_(list(names)),
        (col(Delivery.next_try).is_(None)) | (col(Delivery.next_try) <= now),
    )
    if created_by is not None:
        query = query.where(Delivery.created_at <= created_by)
    query = query.order_by(col(Delivery.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def _orphan_unknown(session: Session, known: set[str]) -> int:
    rows = session.exec(select(Delivery).where(
        Delivery.status == "pending", col(Delivery.subscription).not_in(list(known)))).all()
    for row in rows:
        row.status, row.last_error, row.next_try = "failed", GONE, None
        session.add(row)
    return len(rows)


def _claim(engine: Engine, subscriptions: Sequence[SubscriptionConfig], now: datetime,
           limit: int | None, *, digest_zone: str | None, report: DispatchReport) -> list[_Claim]:
    """Pick due deliveries, push their next_try a lease ahead, group them per channel."""
    digest = digest_zone is not None
    subs = {s.name: s for s in subscriptions if (s.mode == "digest") == digest}
    urls = _channels(subs.values())
    claims: dict[tuple[str, str], list[Delivery]] = {}
    with write_session(engine) as session:
        report.orphaned += _orphan_unknown(session, {s.name for s in subscriptions})
        for name, sub in subs.items():
            cutoff = digest_cutoff(sub, now, digest_zone) if digest_zone else None
            for row in _due(session, [name], now, limit, created_by=cutoff):
                if (row.subscription, row.channel) not in urls:
                    row.status, row.last_error, row.next_try = "failed", GONE, None
                    report.orphaned += 1
                else:
                    row.next_try = now + CLAIM_LEASE
                    claims.setdefault((row.subscription, row.channel), []).append(row)
                session.add(row)
        result = [
            _Claim(tuple(r.id or 0 for r in rows), subs[key[0]], urls[key],
                   tuple(r.event_id for r in rows))
            for key, rows in claims.items()
        ]
    return result


# ---------------------------------------------------------------------------- marking


def _mark_sent(engine: Engine, ids: Sequence[int], now: datetime) -> None:
    with write_session(engine) as session:
        for row in session.exec(select(Delivery).where(col(Delivery.id).in_(list(ids)))).all():
            row.status, row.sent_at, row.next_try, row.last_error = "sent", now, None, ""
            session.add(row)


def _mark_failed(engine: Engine, ids: Sequence[int], now: datetime, error: str,
                 sub: SubscriptionConfig, rng: random.Random) -> bool:
    """Count a failed try; True when the deliveries were given up."""
    gave_up = False
    with write_session(engine) as session:
        for row in session.exec(select(Delivery).where(col(Delivery.id).in_(list(ids)))).all():
            row.attempts += 1
            row.last_error = error[:500]
            if sub.give_up_after is not None and row.attempts >= sub.give_up_after:
                row.status, row.next_try, gave_up = "failed", None, True
            else:
                row.next_try = now + backoff_delay(row.attempts, rng)
            session.add(row)
    return gave_up


def _send_claim(engine: Engine, claim: _Claim, message: Message, notifier: Notifier,
                now: datetime, rng: random.Random, report: DispatchReport) -> None:
    try:
        notifier.send(claim.url, message)
    except AlertError as exc:
        error = str(exc)
        if _mark_failed(engine, claim.ids, now, error, claim.subscription, rng):
            report.gave_up += len(claim.ids)
        else:
            report.retrying += len(claim.ids)
        report.errors.append(f"{claim.subscription.name}: {error}")
        log.warning("delivery to subscription %s failed: %s", claim.subscription.name, error)
        return
    _mark_sent(engine, claim.ids, now)
    report.sent += len(claim.ids)


# ---------------------------------------------------------------------------- public


def dispatch_pending(
    engine: Engine,
    subscriptions: Sequence[SubscriptionConfig],
    *,
    now: datetime,
    notifier: Notifier,
    batch: int = 100,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Send the due immediate deliveries (one message per delivery); mark each as it goes.

    At most `batch` deliveries per subscription per round; the rest wait for the next round.
    Deliveries of subscriptions no longer configured are marked failed (`alerts retry` after
    restoring the subscription requeues them).
    """
    rng = rng or random.Random()
    now = as_utc(now)
    report = DispatchReport()
    for claim in _claim(engine, subscriptions, now, batch, digest_zone=None, report=report):
        # Claims from the immediate path hold one delivery each per channel group; send each.
        for delivery_id, event_id in zip(claim.ids, claim.event_ids, strict=True):
            single = _Claim((delivery_id,), claim.subscription, claim.url, (event_id,))
            message = _render(engine, [event_id], digest_of=None)
            if message is None:
                _drop(engine, single.ids, report)
                continue
            _send_claim(engine, single, message, notifier, now, rng, report)
    return report


def digest_cutoff(sub: SubscriptionConfig, now: datetime, zone: str) -> datetime:
    """The latest digest moment (`digest_at` local time in `zone`) at or before `now`, in UTC."""
    tz = ZoneInfo(zone)
    local = as_utc(now).astimezone(tz)
    day: date = local.date()
    moment = datetime.combine(day, sub.digest_at, tzinfo=tz)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=1), sub.digest_at, tzinfo=tz)
    return as_utc(moment)


def send_digests(
    engine: Engine,
    subscriptions: Sequence[SubscriptionConfig],
    *,
    now: datetime,
    notifier: Notifier,
    timezone: str = "UTC",
    rng: random.Random | None = None,
) -> DispatchReport:
    """Send each digest subscription one message per channel with everything pending for it.

    Deliveries created up to the last `digest_at` (local time in `timezone`) are due; call this
    as often as you like (each minute, or at `digest_at`): nothing is sent twice.
    """
    rng = rng or random.Random()
    now = as_utc(now)
    report = DispatchReport()
    for claim in _claim(engine, subscriptions, now, None, digest_zone=timezone,
                        report=report):
        message = _render(engine, claim.event_ids, digest_of=claim.subscription.name)
        if message is None:
            _drop(engine, claim.ids, report)
            continue
        _send_claim(engine, claim, message, notifier, now, rng, report)
    return report


def _drop(engine: Engine, ids: Sequence[int], report: DispatchReport) -> None:
    """Fail deliveries whose events are gone (pruned): nothing left to say."""
    with write_session(engine) as session:
        for row in session.exec(select(Delivery).where(col(Delivery.id).in_(list(ids)))).all():
            row.status, row.next_try, row.last_error = "failed", None, "event no longer exists"
            session.add(row)
    report.orphaned += len(ids)


def _render(engine: Engine, event_ids: Sequence[int], *,
            digest_of: str | None) -> Message | None:
    with read_session(engine) as session:
        events = session.exec(
            select(Event).where(col(Event.id).in_(list(event_ids))).order_by(col(Event.id))
        ).all()
        items = [(event, load_context(session, event)) for event in events]
        if not items:
            return None
        if digest_of is None:
            return render_message(*items[0])
        return render_digest(items, subscription=digest_of)


def send_test(subscription: SubscriptionConfig, notifier: Notifier, now: datetime) -> None:
    """Send a test message to every channel of a subscription (`alerts test NAME`).

    Raises AlertError naming (masked) every channel that failed.
    """
    stamp = iso_z(now)
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
