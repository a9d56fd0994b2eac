"""One email message -> observations, whichever way it came (a mail pipe or a mailbox).

A court notice proven to come from a court (`sources.mail_trust`) gives its cases with their
entries, plus a `MailObservation` ("taken") carrying the free looks; anything else gives one
`MailObservation` ("set_aside") with the reason, and never an entry. Pure: the trust verdict,
which may have needed DNS, is computed by the caller.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from typing import Literal

from sources.base import MailObservation, Observation
from sources.court_email import NotACourtNotice, message_key, parse_notice, sender_address
from sources.mail_trust import TrustVerdict

__all__ = ["MailIntake", "take_message"]


@dataclass(frozen=True)
class MailIntake:
    """What a message gave: `notice` (court data), `untrusted` (a notice not proven to come
    from a court) or `not_a_notice`; and the observations to store."""

    outcome: Literal["notice", "untrusted", "not_a_notice"]
    observations: list[Observation]
    reason: str = ""

    @property
    def mail(self) -> MailObservation:
        """The message's own observation (always the first)."""
        first = self.observations[0]
        assert isinstance(first, MailObservation)
        return first


def take_message(raw: bytes, verdict: TrustVerdict, *, track_cases: bool = True) -> MailIntake:
    """The observations of one message, given whether it is proven to come from a court.

    `track_cases`: the notice's cases are tracked outright (the mailbox's owner is on them)
    rather than only when a watch matches them."""
    key = message_key(raw)
    try:
        notice = parse_notice(raw)
    except NotACourtNotice as exc:
        return MailIntake("not_a_notice", [_aside(raw, key, f"not a court notice: {exc.detail}")],
                          exc.detail)
    if not verdict.trusted:
        return MailIntake("untrusted", [_aside(raw, key, f"untrusted: {verdict.reason}")],
                          verdict.reason)
    mail = MailObservation(
        message_key=key, status="taken", message_id=notice.message_id, sender=notice.sender,
        subject=notice.subject, reason=verdict.reason, sent_at=notice.sent_at,
        cases=tuple(f"{c.court}:{c.docket_number}" for c in notice.cases),
        free_looks=tuple((f.court, f.docket_number, f.entry_number, f.url)
                         for f in notice.free_looks),
        track_cases=track_cases,
    )
    return MailIntake("notice", [mail, *notice.cases], verdict.reason)


def _aside(raw: bytes, key: str, reason: str) -> MailObservation:
    msg = email.message_from_bytes(raw[:200_000], policy=email.policy.default)
    subject = " ".join(str(msg.get("Subject", "")).split())
    return MailObservation(
        message_key=key, status="set_aside", message_id=str(msg.get("Message-ID", "")).strip(),
        sender=sender_address(msg), subject=subject, reason=reason, raw=raw,
    )
