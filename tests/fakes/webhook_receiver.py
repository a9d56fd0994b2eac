"""An HTTP server on 127.0.0.1 that collects JSON posts (Apprise `json://` and chat webhooks).

`fail(n)` makes the next `n` posts answer 503.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Post", "WebhookReceiver", "webhook_receiver"]


@dataclass
class Post:
    """One request received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _State:
    posts: list[Post] = field(default_factory=list)
    failures_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebhookReceiver:
    """The running receiver: `url`, `posts`, `fail(n)`."""

    def __init__(self, server: ThreadingHTTPServer, state: _State) -> None:
        self._server = server
        self._state = state
        self.host = "127.0.0.1"
        self.port: int = server.server_address[1]

    @property
    def posts(self) -> list[Post]:
        with self._state.lock:
            return list(self._state.posts)

    def fail(self, times: int) -> None:
        """Answer the next `times` posts with 503."""
        with self._state.lock:
            self._state.failures_left = times

    def apprise_url(self, path: str = "/hook") -> str:
        """An Apprise `json://` URL posting to this receiver."""
        return f"json://{self.host}:{self.port}{path}"


def _handler_class(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                failing = state.failures_left > 0
                if failing:
                    state.failures_left -= 1
                else:
                    state.posts.append(Post(self.path, dict(self.headers.items()), body))
            self.send_response(503 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """Start the receiver on a free loopback port; stop it on exit."""
    state = _State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebhookReceiver(server, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
