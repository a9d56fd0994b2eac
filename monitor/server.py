"""The daemon's small HTTP endpoint (off by default): feeds, health, pushed webhooks.

- `GET /feeds/<file>`: the rendered Atom and ICS files (when `serve_feeds`).
- `GET /health`: 200 with the `status --json` object, 503 when a source is failing.
- `POST /<secret path>`: webhooks for the source that takes pushed payloads
  (`Source.accepts_push`, e.g. CourtListener's); the path comes from `webhook_path_env` or
  `webhook_path_file` (a secret: it is the only authentication such senders offer). Each payload
  is taken once per `Idempotency-Key` and goes through that source's `parse` and the store, as
  polling does.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlmodel import select

from monitor import queries
from monitor.app import App
from monitor.config import resolve_secret
from monitor.db import write_session
from monitor.errors import MonitorError
from monitor.models import WebhookReceipt
from monitor.push import note_push
from sources.base import Fetched, Source, Target

__all__ = ["WebhookOutcome", "accept_webhook", "push_source", "start_server"]

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024


class WebhookOutcome:
    """What happened to one pushed payload."""

    def __init__(self, status: int, message: str, events: int = 0) -> None:
        self.status, self.message, self.events = status, message, events


def push_source(app: App) -> Source | None:
    """The enabled source that takes pushed payloads (`Source.accepts_push`), if any."""
    return next((s for s in app.runner.sources.values() if s.accepts_push), None)


def accept_webhook(app: App, body: bytes, idempotency_key: str, *, now: datetime,
                   source: Source) -> WebhookOutcome:
    """Parse one pushed payload with `source.parse` (as a `Fetched` whose target key is
    ``"webhook"``: the path polling takes too) and store it, once per Idempotency-Key."""
    if not idempotency_key:
        return WebhookOutcome(400, "missing Idempotency-Key")
    with write_session(app.engine) as session:
        seen = session.exec(select(WebhookReceipt).where(
            WebhookReceipt.idempotency_key == idempotency_key)).first()
        if seen is not None:
            return WebhookOutcome(200, "duplicate")
    pushed = Fetched(target=Target(key="webhook", url=""), content=body, fetched_at=now)
    try:
        observations = source.parse(pushed)
    except MonitorError as exc:
        return WebhookOutcome(400, f"unreadable payload: {exc}")
    result = app.store.apply(observations, source_id=source.source_id, now=now)
    with write_session(app.engine) as session:
        if session.get(WebhookReceipt, idempotency_key) is None:
            session.add(WebhookReceipt(idempotency_key=idempotency_key,
                                       source_id=source.source_id, received_at=now))
    note_push(app.engine, app.store.listeners, observations, source_id=source.source_id,
              now=now)
    return WebhookOutcome(200, "stored", len(result.events))


def _webhook_path(app: App) -> str | None:
    server = app.config.server
    secret = resolve_secret(server.webhook_path_env, server.webhook_path_file,
                            where=app.config.path, key="server.webhook_path")
    if not secret:
        return None
    return "/" + secret.strip("/")


def start_server(app: App) -> ThreadingHTTPServer:
    """Start the endpoint in a thread; returns the server (call `.shutdown()` to stop)."""
    cfg = app.config.server
    feeds_dir: Path = app.config.feeds_dir
    pushed_to = push_source(app)
    # No source takes pushes: the webhook path answers 404 like any unknown path.
    webhook_path = _webhook_path(app) if pushed_to is not None else None

    class Handler(BaseHTTPRequestHandler):
        server_version = "court-monitor"

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path == "/health":
                status = queries.status(app.engine, app.config, now=app.clock())
                failing = any(s["failing"] for s in status["sources"])
                body = json.dumps(status).encode()
                self._send(503 if failing else 200, body, "application/json")
                return
            if cfg.serve_feeds and path.startswith("/feeds/"):
                name = path[len("/feeds/"):]
                target = (feeds_dir / name).resolve()
                if "/" in name or not target.is_file() or target.parent != feeds_dir.resolve():
                    self._send(404, b"not found", "text/plain")
                    return
                kind = ("application/atom+xml" if name.endswith(".atom")
                        else "text/calendar" if name.endswith(".ics") else "text/plain")
                self._send(200, target.read_bytes(), kind)
                return
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            if pushed_to is None or webhook_path is None \
                    or self.path.split("?")[0] != webhook_path:
                self._send(404, b"not found", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_WEBHOOK_BYTES:
                self._send(413 if length else 400, b"bad length", "text/plain")
                return
            body = self.rfile.read(length)
            outcome = accept_webhook(app, body, self.headers.get("Idempotency-Key", ""),
                                     now=app.clock(), source=pushed_to)
            self._send(outcome.status, outcome.message.encode(), "text/plain")

        def log_message(self, fmt: str, *args: Any) -> None:
            # Never log the request line: the webhook path is a secret.
            log.debug("http %s", args[1] if len(args) > 1 else "")

    httpd = ThreadingHTTPServer((cfg.bind, cfg.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="http", daemon=True)
    thread.start()
    log.info("HTTP endpoint on %s:%s", cfg.bind, httpd.server_address[1])
    return httpd
