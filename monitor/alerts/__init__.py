"""Alerts (design.md, step 6): routing events to the outbox, dispatching, digests, channels.

- `routing`: `make_router(...)` -> a store listener writing `Delivery` rows in the event's
  transaction.
- `outbox`: `dispatch_pending`, `send_digests`, `retry_failed`, `pending`, `outbox_summary`,
  `send_test`.
- `channels`: the `Notifier` protocol, `AppriseNotifier` (Apprise + `console://`), URL masking.
- `render`: `render_message`, `render_digest` (pure).
"""

from __future__ import annotations

from monitor.alerts.channels import CONSOLE_URL, AppriseNotifier, Notifier, mask_url, scrub
from monitor.alerts.outbox import (
    DispatchReport,
    PendingDelivery,
    backoff_delay,
    digest_cutoff,
    dispatch_pending,
    load_context,
    outbox_summary,
    pending,
    retry_failed,
    send_digests,
    send_test,
)
from monitor.alerts.render import (
    Message,
    RenderContext,
    as_utc,
    clean_text,
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
    subscription_wants,
)

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
    "clean_text",
    "digest_cutoff",
    "dispatch_pending",
    "docket_url",
    "event_facts",
    "load_context",
    "make_router",
    "mask_url",
    "outbox_summary",
    "pending",
    "render_digest",
    "render_message",
    "retry_failed",
    "scrub",
    "send_digests",
    "send_test",
    "subscription_channels",
    "subscription_wants",
]
