"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

aiosmtpd 1.4 cannot bind port 0, so a free port is picked first. `refuse(n)` makes the next `n`
DATA commands answer "451 try later" (a temporary failure the sender must retry).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["ReceivedMail", "SmtpServer", "free_port", "smtp_server"]


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
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refusals_left > 0:
                self.refusals_left -= 1
                self.refused += 1
                return "451 try later"
            self.received.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
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
