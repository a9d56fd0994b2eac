"""Channels: the `Notifier` the dispatcher sends through, backed by Apprise, plus `console://`.

Apprise 2.x traps (design.md): `notify()` returns an `AppriseResult`, truthy on success (never
compare it with `is True`); with no URL it is falsy; one `notify()` over several URLs gives one
result for all. So each send builds one Apprise object for one channel URL. URLs hold secrets:
they are logged only through Apprise's `url(privacy=True)`, and error text is scrubbed.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Protocol, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from monitor.alerts.render import Message
from monitor.errors import AlertError

__all__ = ["CONSOLE_URL", "AppriseNotifier", "Notifier", "failure_reason", "mask_url", "scrub"]

log = logging.getLogger(__name__)

CONSOLE_URL = "console://"
_EMAIL_SCHEMES = frozenset({"mailto", "mailtos"})


class Notifier(Protocol):
    """Sends one message to one channel; raises `AlertError` when the channel did not take it."""

    def send(self, channel_url: str, message: Message) -> None:
        """Deliver `message` to `channel_url` or raise AlertError."""


def _secrets_in(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password or "", parts.username or ""]
    found += [value for _key, value in parse_qsl(parts.query) if len(value) >= 6]
    # Tokens often sit in the path (`discord://id/token`, `tgram://bottoken/chat`).
    found += [seg for seg in parts.path.split("/") if len(seg) >= 12]
    if parts.netloc and len(parts.hostname or "") >= 12 and "." not in (parts.hostname or ""):
        found.append(parts.hostname or "")
    return [s for s in found if s]


def scrub(text: str, url: str) -> str:
    """`text` with the channel URL and anything secret-looking in it replaced by `***`."""
    text = text.replace(url, mask_url(url))
    for secret in sorted(_secrets_in(url), key=len, reverse=True):
        text = text.replace(secret, "***").replace(unquote(secret), "***")
    return text


def mask_url(url: str) -> str:
    """A loggable form of a channel URL (Apprise's privacy form; else the scheme only)."""
    if url.strip() == CONSOLE_URL:
        return CONSOLE_URL
    try:
        import apprise

        obj = apprise.Apprise.instantiate(url)
        if obj:
            return str(obj.url(privacy=True))  # type: ignore[no-untyped-call]
    except Exception:  # noqa: BLE001 - a bad URL must still be loggable
        pass
    return f"{urlsplit(url).scheme or '?'}://***"


class AppriseNotifier:
    """The production notifier: Apprise for every URL, plus our own `console://`."""

    def __init__(self, *, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, channel_url: str, message: Message) -> None:
        """Send through one channel; raise AlertError (secrets scrubbed) on failure."""
        if channel_url.strip() == CONSOLE_URL:
            self._console(message)
            return
        self._apprise(channel_url, message)

    def _console(self, message: Message) -> None:
        stream = self._stream or sys.stdout
        stream.write(f"{message.title}\n{message.text}\n\n")
        stream.flush()

    def _apprise(self, url: str, message: Message) -> None:
        import apprise

        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise AlertError(f"not a usable Apprise URL: {mask_url(url)}")
        scheme = urlsplit(url).scheme.lower()
        if scheme in _EMAIL_SCHEMES:
            body, body_format = message.html, apprise.NotifyFormat.HTML
        else:
            body, body_format = message.text, apprise.NotifyFormat.TEXT
        # Apprise logs the failure at WARNING ("Connection error while submitting email") and
        # its cause only at DEBUG ("Socket Exception: [Errno 111] Connection refused").
        with apprise.LogCapture(level=logging.DEBUG) as captured:  # type: ignore[no-untyped-call]
            try:
                result = notifier.notify(body=body, title=message.title, body_format=body_format)
            except Exception as exc:  # noqa: BLE001 - a plugin bug must not stop the outbox
                raise AlertError(scrub(f"{mask_url(url)} raised {type(exc).__name__}: {exc}",
                                       url)) from None
        if not result:
            reason = failure_reason(captured.getvalue())
            raise AlertError(scrub(f"{mask_url(url)} did not take the message: {reason}", url))
        log.debug("sent %r via %s", message.title, mask_url(url))


_CAUSE = re.compile(r"(?i)exception|error|refused|timed? ?out|denied|unauthori[sz]ed|"
                    r"authenticat|certificate|ssl|tls|reset|unreachable|response|status|"
                    r"rejected|invalid|not (?:found|allowed)")


def failure_reason(logged: str, count: int = 3) -> str:
    """Why Apprise failed, from what it logged: its warnings and errors, plus the DEBUG lines
    that carry the cause (socket errors, server responses); the chatter left out."""
    picked: list[str] = []
    for line in logged.splitlines():
        parts = line.split(" - ", 2)
        if len(parts) < 3:
            continue
        level, text = parts[1].strip(), parts[2].strip()
        cause = level == "DEBUG" and _CAUSE.search(text) and "completed in" not in text
        if (level in ("WARNING", "ERROR", "CRITICAL") or cause) and text not in picked:
            picked.append(text)
    return "; ".join(picked[-count:]) or "no reason given"
