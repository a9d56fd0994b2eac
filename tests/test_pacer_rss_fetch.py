"""PacerRss.fetch against a real HTTP server on 127.0.0.1: ETag / 304, 5xx, oversize bodies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from monitor.errors import FetchError
from sources.base import CaseObservation, Plan, TargetState
from sources.pacer_rss import PacerRss
from tests.conftest import FIXTURES

FEED = (FIXTURES / "pacer_rss" / "district_dcd.xml").read_bytes()
FEED_V2 = (FIXTURES / "pacer_rss" / "multi_event_dcd.xml").read_bytes()
MAX_BYTES = 4096


class FeedHandler(BaseHTTPRequestHandler):
    """Serves /dcd.xml with an ETag, /nysd.xml failing with 500, oversize bodies elsewhere."""

    feed: ClassVar[bytes] = FEED
    etag: ClassVar[str] = '"v1"'
    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        FeedHandler.requests.append({"path": self.path, **dict(self.headers.items())})
        if self.path == "/dcd.xml":
            if self.headers.get("If-None-Match") == self.etag:
                self.send_response(304)
                self.send_header("ETag", self.etag)
                self.end_headers()
                return
            self._send(200, self.feed, etag=self.etag)
        elif self.path == "/nysd.xml":
            self._send(500, b"<html><body>Internal Server Error</body></html>")
        elif self.path == "/mdd.xml":  # declared oversize
            self._send(200, b"<rss>" + b" " * (MAX_BYTES * 2) + b"</rss>")
        elif self.path == "/vaed.xml":  # oversize without a Content-Length (read until close)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(8):
                self.wfile.write(b" " * 1024)
            self.close_connection = True
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, etag: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[str]:
    FeedHandler.feed, FeedHandler.etag, FeedHandler.requests = FEED, '"v1"', []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def _source(base: str, client: httpx.Client, courts: list[str]) -> PacerRss:
    options = PacerRss.Options(
        courts=courts, url_template=base + "/{court}.xml", max_bytes=MAX_BYTES
    )
    return PacerRss("rss", options, client, lambda: datetime(2025, 3, 4, 5, 0, tzinfo=UTC))


def _target(source: PacerRss, court: str) -> Any:
    (target,) = [t for t in source.targets(Plan(now=datetime(2025, 3, 4, tzinfo=UTC)))
                 if t.key == court]
    return target


def test_fetch_etag_304_and_change(server: str, client: httpx.Client) -> None:
    source = _source(server, client, ["dcd"])
    target = _target(source, "dcd")

    first = source.fetch(target, TargetState())
    assert first.status == 200 and not first.not_modified
    assert first.content == FEED
    assert first.fetched_at == datetime(2025, 3, 4, 5, 0, tzinfo=UTC)
    etag = first.headers["etag"]
    cases = source.parse(first)
    assert [c.docket_number for c in cases if isinstance(c, CaseObservation)] == [
        "1:25-cv-00612", "1:25-cv-00598"]
    assert "rss" in FeedHandler.requests[0]["Accept"]

    again = source.fetch(target, TargetState(etag=etag))
    assert again.not_modified and again.status == 304
    assert FeedHandler.requests[-1]["If-None-Match"] == '"v1"'
    assert source.parse(again) == []

    FeedHandler.feed, FeedHandler.etag = FEED_V2, '"v2"'
    changed = source.fetch(target, TargetState(etag=etag))
    assert changed.status == 200 and changed.headers["etag"] == '"v2"'
    (case,) = source.parse(changed)
    assert isinstance(case, CaseObservation) and case.docket_number == "1:25-cv-00701"


def test_fetch_500_is_fetch_error(server: str, client: httpx.Client) -> None:
    source = _source(server, client, ["nysd"])
    target = _target(source, "nysd")
    with pytest.raises(FetchError) as caught:
        source.fetch(target, TargetState())
    assert caught.value.status == 500
    assert caught.value.source == "rss" and caught.value.url == target.url


@pytest.mark.parametrize("court", ["mdd", "vaed"], ids=["content-length", "streamed"])
def test_fetch_oversize_is_fetch_error(server: str, client: httpx.Client, court: str) -> None:
    source = _source(server, client, [court])
    with pytest.raises(FetchError, match="cap"):
        source.fetch(_target(source, court), TargetState())


def test_fetch_connection_refused_is_fetch_error(client: httpx.Client) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = _source(f"http://127.0.0.1:{port}", client, ["dcd"])
    with pytest.raises(FetchError):
        source.fetch(_target(source, "dcd"), TargetState())
