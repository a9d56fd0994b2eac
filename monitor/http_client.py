"""The shared HTTP client: User-Agent with contact, timeouts, one connection per host, retries.

`[http] timeout` is the total budget of one request (connect + every read of the body), not
just of each read: a server that drips a byte at a time cannot hold a round (see
`sources.deadline_transport`). The client also obeys a stop event, so `run` stops within a
moment of SIGTERM even mid-fetch. Conditional requests and the size cap (checked while the body
streams) are applied per request by `sources.fetching`.
"""

from __future__ import annotations

import threading

import httpx

from monitor.config import HttpConfig
from sources.deadline_transport import DeadlineTransport, bounded_backend

__all__ = ["make_client", "user_agent"]


def user_agent(config: HttpConfig) -> str:
    """The User-Agent, with the operator's contact address as polite crawlers do."""
    if config.contact:
        return f"{config.user_agent} contact:{config.contact}"
    return config.user_agent


def make_client(config: HttpConfig, *, stop: threading.Event | None = None) -> httpx.Client:
    """One client for every source; connection errors are retried by the transport; each
    request is bounded by `config.timeout` in total and `config.max_bytes` in size, and
    abandoned when `stop` is set."""
    transport = httpx.HTTPTransport(
        retries=config.retries,
        limits=httpx.Limits(
            max_connections=max(4, config.per_host_connections * 8),
            max_keepalive_connections=config.per_host_connections * 8,
        ),
    )
    # httpx takes no network backend: give its pool ours (deadline-clamped, sliced reads).
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = bounded_backend()
    return httpx.Client(
        transport=DeadlineTransport(transport, total_s=config.timeout_s,
                                    stop=stop or threading.Event(), max_bytes=config.max_bytes),
        timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
        headers={"User-Agent": user_agent(config)},
        follow_redirects=True,
        max_redirects=5,
    )
