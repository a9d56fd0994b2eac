"""The shared HTTP client: User-Agent with contact, timeouts, one connection per host, retries.

Conditional requests and the size cap are applied per request by `sources.fetching`.
"""

from __future__ import annotations

import httpx

from monitor.config import HttpConfig

__all__ = ["make_client", "user_agent"]


def user_agent(config: HttpConfig) -> str:
    """The User-Agent, with the operator's contact address as polite crawlers do."""
    if config.contact:
        return f"{config.user_agent} contact:{config.contact}"
    return config.user_agent


def make_client(config: HttpConfig) -> httpx.Client:
    """One client for every source; connection errors are retried by the transport."""
    transport = httpx.HTTPTransport(
        retries=config.retries,
        limits=httpx.Limits(
            max_connections=max(4, config.per_host_connections * 8),
            max_keepalive_connections=config.per_host_connections * 8,
        ),
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
        headers={"User-Agent": user_agent(config)},
        follow_redirects=True,
        max_redirects=5,
    )
