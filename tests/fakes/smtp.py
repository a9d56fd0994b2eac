"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

aiosmtpd 1.4 cannot bind port 0, so a free port is picked first. `refuse(n)` makes the next `n`
DATA commands answer "451 try later" (a temporary failure the sender must retry); `slow(s)`
makes each DATA take `s` seconds before "250 OK". `silent_smtp_server()` is the other extreme: it
accepts connections and never says a word.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["ReceivedMail", "SilentServer", "SmtpServer", "free_port", "silent_smtp_server",
           "smtp_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ReceivedMail:
    """One accepted message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    #: time.time() when the server accepted it
    at: float = 0.0

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        """The decoded text/<subtype> part ("plain" or "html"), or "" when absent."""
        for part in self.message.walk():
            if part.get_content_type() == f"text/{subtype}":
                return str(part.get_content())
        return ""


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    refusals_left: int = 0
    refused: int = 0
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refusals_left > 0:
                self.refusals_left -= 1
                self.refused += 1
                return "451 try later"
            self.received.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                             time.time())
            )
        return "250 OK"


class SmtpServer:
    """The running server: `port`, `received`, `refuse(n)`."""

    def __init__(self, controller: Controller, handler: _Handler, port: int) -> None:
        self.controller = controller
        self._handler = handler
        self.host = "127.0.0.1"
        self.port = port

    @property
    def received(self) -> list[ReceivedMail]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def refused(self) -> int:
        return self._handler.refused

    def refuse(self, times: int) -> None:
        """Answer the next `times` messages with 451 (temporary failure)."""
        with self._handler.lock:
            self._handler.refusals_left = times

    def slow(self, seconds: float) -> None:
        """Take `seconds` over each message before accepting it."""
        with self._handler.lock:
            self._handler.delay = seconds

    def apprise_url(self, *, to: str = "clerk@example.org",
                    sender: str = "monitor@example.org") -> str:
        """A `mailto://` URL that sends to this server in plain SMTP (no TLS, no AUTH)."""
        return (f"mailto://{self.host}:{self.port}?mode=insecure&from={sender}&to={to}")


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """Start the server on a free loopback port; stop it on exit."""
    handler = _Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(controller, handler, port)
    finally:
        controller.stop()


class SilentServer:
    """A TCP server that accepts connections and never answers (counts them)."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((self.host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def apprise_url(self, *, to: str = "clerk@example.org") -> str:
        """A `mailto://` URL pointing at this server."""
        return f"mailto://{self.host}:{self.port}?mode=insecure&from=m@example.org&to={to}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()


@contextmanager
def silent_smtp_server() -> Iterator[SilentServer]:
    """An "SMTP server" that takes the connection and never sends its greeting."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()
