"""Alerts (design.md, step 6): routing events to the outbox, dispatching, digests, channels.

- `routing`: `make_router(...)` -> a store listener writing `Delivery` rows in the event's
  transaction.
- `outbox`: `dispatch_pending`, `send_digests`, `send_test`.
- `status`: `pending`, `retry_failed`, `outbox_summary`.
- `channels`: the `Notifier` protocol, `AppriseNotifier` (Apprise + `console://`), URL masking.
- `render`: `render_message`, `render_digest` (pure).
- `schedule`: `digest_cutoff`, `quiet_until`, `is_urgent` (pure): when a delivery may go.
"""

from __future__ import annotations

from monitor.alerts.channels import CONSOLE_URL, AppriseNotifier, Notifier, mask_url, scrub
from monitor.alerts.outbox import (
    DispatchReport,
    backoff_delay,
    dispatch_pending,
    load_context,
    send_digests,
    send_test,
)
from monitor.alerts.queue import PendingDelivery, outbox_summary, pending, retry_failed
from monitor.alerts.render import (
    Message,
    RenderContext,
    as_utc,
    docket_url,
    render_digest,
    render_message,
)
from monitor.alerts.routing import (
    EventFacts,
    channel_id,
    event_facts,
    make_router,
    subscription_channels,
)
from monitor.alerts.schedule import digest_cutoff, is_urgent, quiet_until

__all__ = [
    "CONSOLE_URL",
    "AppriseNotifier",
    "DispatchReport",
    "EventFacts",
    "Message",
    "Notifier",
    "PendingDelivery",
    "RenderContext",
    "as_utc",
    "backoff_delay",
    "channel_id",
    "digest_cutoff",
    "dispatch_pending",
    "docket_url",
    "event_facts",
    "is_urgent",
    "load_context",
    "make_router",
    "mask_url",
    "outbox_summary",
    "pending",
    "quiet_until",
    "render_digest",
    "render_message",
    "retry_failed",
    "scrub",
    "send_digests",
    "send_test",
    "subscription_channels",
]
