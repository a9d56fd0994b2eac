"""The shared HTTP client: User-Agent with contact, timeouts, one connection per host, retries.

`[http] timeout` is the total budget of one request (connect + every read of the body), not
just of each read: a server that drips a byte at a time cannot hold a round (see
`sources.deadline_transport`). The client also obeys a stop event, so `run` stops within a
moment of SIGTERM even mid-fetch. Conditional requests and the size cap (checked while the body
streams) are applied per request by `sources.fetching`.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable

import httpx

from monitor.config import HttpConfig
from sources.deadline_transport import DeadlineTransport, bounded_backend

__all__ = ["make_client", "user_agent"]

#: what builds one pool of connections: given the TLS context its HTTPS connections verify with
_PoolBuilder = Callable[[ssl.SSLContext | bool], httpx.HTTPTransport]


def user_agent(config: HttpConfig) -> str:
    """The User-Agent, with the operator's contact address as polite crawlers do."""
    if config.contact:
        return f"{config.user_agent} contact:{config.contact}"
    return config.user_agent


def make_client(config: HttpConfig, *, stop: threading.Event | None = None) -> httpx.Client:
    """One client for every source; connection errors are retried by the transport; each
    request is bounded by `config.timeout` in total and `config.max_bytes` in size, and
    abandoned when `stop` is set. The trust store HTTPS verifies with is loaded by the first
    HTTPS request (`_TlsOnFirstUse`)."""

    def pool(verify: ssl.SSLContext | bool) -> httpx.HTTPTransport:
        transport = httpx.HTTPTransport(
            verify=verify,
            retries=config.retries,
            limits=httpx.Limits(
                max_connections=max(4, config.per_host_connections * 8),
                max_keepalive_connections=config.per_host_connections * 8,
            ),
        )
        # httpx takes no network backend: give its pool ours (deadline-clamped, sliced reads).
        inner = getattr(transport, "_pool", None)
        if inner is not None and hasattr(inner, "_network_backend"):
            inner._network_backend = bounded_backend()
        return transport

    return httpx.Client(
        transport=DeadlineTransport(_TlsOnFirstUse(pool), total_s=config.timeout_s,
                                    stop=stop or threading.Event(), max_bytes=config.max_bytes),
        timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
        headers={"User-Agent": user_agent(config)},
        follow_redirects=True,
        max_redirects=5,
    )


class _TlsOnFirstUse(httpx.BaseTransport):
    """Plain-HTTP requests on a pool that trusts no certificate, HTTPS ones on a verifying pool
    built by the first HTTPS request: loading the trust store is most of a client's start
    (20 ms), and a process whose URLs are all plain HTTP never needs it. The plain pool's TLS
    context has no trust store at all, so a TLS handshake on it could only fail."""

    def __init__(self, pool: _PoolBuilder) -> None:
        self._pool = pool
        self._plain = pool(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._secure: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    @property
    def verifying(self) -> bool:
        """The verifying pool (and its trust store) exists."""
        return self._secure is not None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return self._plain.handle_request(request)
        return self._verified().handle_request(request)

    def _verified(self) -> httpx.HTTPTransport:
        secure = self._secure
        if secure is None:
            with self._lock:
                if self._secure is None:
                    self._secure = self._pool(True)
                secure = self._secure
        return secure

    def close(self) -> None:
        self._plain.close()
        with self._lock:
            secure, self._secure = self._secure, None
        if secure is not None:
            secure.close()
