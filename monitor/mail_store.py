"""Email messages in the store: one `MailMessage` row per message, taken or kept aside.

A court notice's cases and entries go through the store like every source's; this keeps what
only email has: the message's identity (the same message by pipe and by mailbox, or twice, is
one row), the notice's free-look links (which never leave the store), and the messages set
aside, each reported once (a warning in the log when first seen) and kept for review.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from monitor.models import MailMessage
from sources.base import MailObservation

__all__ = ["apply_mail", "set_aside_messages", "taken"]

log = logging.getLogger(__name__)

#: bytes of a set-aside message kept for review (a notice is a few kilobytes)
RAW_LIMIT = 256_000


def apply_mail(session: Session, obs: MailObservation, *, source_id: str,
               now: datetime) -> bool:
    """Record a message; True when it is new. A set-aside message is reported here, once."""
    row = session.exec(select(MailMessage).where(
        MailMessage.message_key == obs.message_key)).first()
    if row is not None:
        if row.status == "set_aside" and obs.status == "taken":
            # Proven since (a later copy passed, or the operator trusts it now): taken.
            row.status, row.reason, row.raw = "taken", obs.reason, None
            row.cases, row.free_looks = list(obs.cases), _looks(obs)
            session.add(row)
        return False
    session.add(MailMessage(
        message_key=obs.message_key, source_id=source_id, message_id=obs.message_id[:500],
        sender=obs.sender[:320], subject=obs.subject[:500], status=obs.status,
        reason=obs.reason[:500], sent_at=obs.sent_at, received_at=now, cases=list(obs.cases),
        free_looks=_looks(obs),
        raw=obs.raw[:RAW_LIMIT] if obs.status == "set_aside" and obs.raw else None,
    ))
    if obs.status == "set_aside":
        log.warning("%s: set aside a message from %s (%s): %s", source_id,
                    obs.sender or "(no sender)", obs.subject[:120] or "(no subject)",
                    obs.reason)
    return True


def _looks(obs: MailObservation) -> list[dict[str, object]]:
    return [{"court": court, "docket_number": docket, "entry_number": number, "url": url}
            for court, docket, number, url in obs.free_looks]


def taken(session: Session, message_key: str) -> MailMessage | None:
    """The row of a message already recorded, if any."""
    return session.exec(select(MailMessage).where(
        MailMessage.message_key == message_key)).first()


def set_aside_messages(session: Session, *, limit: int = 100) -> list[MailMessage]:
    """The messages kept aside, newest first."""
    return list(session.exec(
        select(MailMessage).where(MailMessage.status == "set_aside")
        .order_by(MailMessage.received_at.desc()).limit(limit)))  # type: ignore[attr-defined]
