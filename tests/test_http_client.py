"""The shared client (`monitor.http_client.make_client`): plain-HTTP fetches never load the trust
store; the first HTTPS request builds the verifying pool and goes through it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from monitor.config import HttpConfig
from monitor.errors import FetchError
from monitor.http_client import make_client
from sources.base import Target, TargetState
from sources.deadline_transport import DeadlineTransport
from sources.fetching import conditional_get
from tests.fakes.hostile_server import HostileServer


def _now() -> datetime:
    return datetime(2026, 3, 26, 15, 0, tzinfo=UTC)


def _verifying(client: httpx.Client) -> bool:
    transport = client._transport
    assert isinstance(transport, DeadlineTransport)
    return bool(transport._inner.verifying)  # type: ignore[attr-defined]


def test_https_is_verified_and_plain_http_loads_no_trust_store() -> None:
    client = make_client(HttpConfig(timeout="5s", retries=0))
    try:
        with HostileServer() as server:
            server.healed["/feed"] = b"<rss/>"
            url = server.url("/feed")
            fetched = conditional_get(client, Target(key="x", url=url), TargetState(),
                                      source_id="s", clock=_now)
            assert fetched.content == b"<rss/>"
            assert not _verifying(client)
            # The same server over TLS: it speaks no TLS, so the handshake fails; the request
            # went to the verifying pool, which now exists.
            secure = url.replace("http://", "https://", 1)
            with pytest.raises(FetchError):
                conditional_get(client, Target(key="x", url=secure), TargetState(),
                                source_id="s", clock=_now)
            assert _verifying(client)
    finally:
        client.close()
