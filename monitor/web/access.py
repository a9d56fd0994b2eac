"""Who is looking: the public, or the holder of one subscription's site token.

A subscription's `token_env` / `token_file` (a secret, never logged) is its key to the site.
The public sees everything that is not private; a token holder also sees the private matters
(their clocks, deadlines and events) that its subscription takes: `include_private = true`,
and its `tags` and `agencies` filters, when set, matching the matter. Tokens are compared in
constant time; an unknown token is refused, never treated as public.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.config import SubscriptionConfig
from monitor.models import Deadline, Event, Matter

__all__ = ["PUBLIC", "Viewer", "viewer_for_token"]


@dataclass(frozen=True)
class Viewer:
    """The public (`subscription` None) or one subscription's token holder."""

    subscription: SubscriptionConfig | None = None

    @property
    def name(self) -> str:
        """The subscription's name, "" for the public."""
        return self.subscription.name if self.subscription is not None else ""

    @property
    def sees_private(self) -> bool:
        """Whether private things not tied to a hidden matter may be shown."""
        return self.subscription is not None and self.subscription.include_private

    def sees_matter(self, matter: Matter) -> bool:
        """Whether this viewer may see the matter (every viewer sees the public ones)."""
        if not matter.private:
            return True
        sub = self.subscription
        if sub is None or not sub.include_private:
            return False
        if sub.tags and not set(sub.tags) & set(matter.tags):
            return False
        agency = matter.agency.casefold()
        return not sub.agencies or any(a.casefold() in agency for a in sub.agencies)

    def hidden_matters(self, matters: Iterable[Matter]) -> frozenset[str]:
        """The ids of the matters this viewer may not see."""
        return frozenset(m.id for m in matters if not self.sees_matter(m))

    def sees_event(self, event: Event, hidden: frozenset[str]) -> bool:
        """Whether the event may be shown: not about a hidden matter, and private only to a
        viewer whose subscription takes private things."""
        if event.matter_id and event.matter_id in hidden:
            return False
        return not event.private or self.sees_private

    def sees_deadline(self, deadline: Deadline, hidden: frozenset[str]) -> bool:
        """Whether the deadline may be shown (the same test as for events)."""
        if deadline.matter_id and deadline.matter_id in hidden:
            return False
        return not deadline.private or self.sees_private


PUBLIC = Viewer()


def viewer_for_token(subscriptions: Sequence[SubscriptionConfig], token: str) -> Viewer | None:
    """The viewer a token names, None when no subscription has it (compared in constant
    time, every subscription tried so the answer's timing says nothing)."""
    found: Viewer | None = None
    given = token.encode("utf-8")
    for sub in subscriptions:
        if sub.token and hmac.compare_digest(sub.token.encode("utf-8"), given):
            found = Viewer(sub)
    return found
