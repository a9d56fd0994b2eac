"""The daemon's HTTP endpoint (off by default): the site, feeds, health, pushed webhooks.

The site (`monitor.web`: pages, the JSON API under `/api/`) runs under uvicorn in a thread of
the daemon (`court-monitor run` with `[server] enabled = true`), or alone
(`court-monitor serve`).

- `GET /feeds/<file>`: the rendered Atom and ICS files (when `serve_feeds`), with ETag,
  Last-Modified, 304s and gzip.
- `GET /health`: 200 with the `status --json` object, 503 when a source is failing.
- `POST /<secret path>`: webhooks for the source that takes pushed payloads
  (`Source.accepts_push`, e.g. CourtListener's); the path comes from `webhook_path_env` or
  `webhook_path_file` (a secret: it is the only authentication such senders offer). Each payload
  is taken once per `Idempotency-Key` and goes through that source's `parse` and the store, as
  polling does. The request line is never logged (uvicorn's access log is off): the webhook
  path is a secret.
"""

from __future__ import annotations

import hmac
import logging
import signal
import socket
import threading
import time
from datetime import datetime

import uvicorn
from sqlmodel import select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from monitor.app import App
from monitor.config import resolve_secret
from monitor.db import write_session
from monitor.errors import MonitorError
from monitor.models import WebhookReceipt
from monitor.push import note_push
from monitor.web import create_site
from sources.base import Fetched, Source, Target

__all__ = ["RunningServer", "WebhookOutcome", "accept_webhook", "build_asgi", "push_source",
           "serve_forever", "start_server"]

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


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


async def _read_body(request: Request) -> bytes | Response:
    """The request body, or the answer to give when its length is wrong (400 empty, 413 over
    `MAX_WEBHOOK_BYTES`, whether announced by Content-Length or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            return PlainTextResponse("bad length", status_code=400)
        if length > MAX_WEBHOOK_BYTES:
            return PlainTextResponse("bad length", status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return PlainTextResponse("bad length", status_code=413)
    if not body:
        return PlainTextResponse("bad length", status_code=400)
    return bytes(body)


def _webhook_route(app: App) -> Route:
    """Any path no other route took: for a POST, the webhook when the path is the secret one
    (compared in constant time), else 404 like any unknown path (and always when no source
    takes pushes)."""
    pushed_to = push_source(app)
    secret = _webhook_path(app) if pushed_to is not None else None

    async def webhook(request: Request) -> Response:
        if request.method != "POST":  # every other unknown path: 404, never 405
            raise HTTPException(404, "not found")
        given = request.url.path.encode("utf-8")
        if pushed_to is None or secret is None \
                or not hmac.compare_digest(given, secret.encode("utf-8")):
            return PlainTextResponse("not found", status_code=404)
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        outcome = await run_in_threadpool(
            accept_webhook, app, body, request.headers.get("idempotency-key", ""),
            now=app.clock(), source=pushed_to)
        return PlainTextResponse(outcome.message, status_code=outcome.status)

    # Starlette gives a function endpoint GET alone unless told: name every method, so that a
    # POST reaches the webhook and any other method on an unknown path is a 404, never a 405.
    return Route("/{path:path}", webhook, methods=list(ANY_METHOD))


def build_asgi(app: App) -> Starlette:
    """The whole HTTP application: the site (`monitor.web`) and the webhook."""
    return create_site(app, extra_routes=[_webhook_route(app)])


class RunningServer:
    """The endpoint running in a background thread: `server_address` is (host, port) as
    bound (a port of 0 picks a free one); `shutdown()` stops it and waits."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket,
                 thread: threading.Thread) -> None:
        self._server, self._sock, self._thread = server, sock, thread
        self.server_address: tuple[str, int] = sock.getsockname()[:2]

    def shutdown(self) -> None:
        """Stop serving (requests in flight finish) and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    def server_close(self) -> None:
        """Release the listening socket (as `http.server` has it; `shutdown` already does)."""
        self._sock.close()


def _uvicorn(app: App) -> tuple[uvicorn.Server, socket.socket]:
    cfg = app.config.server
    family = socket.AF_INET6 if ":" in cfg.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((cfg.bind, cfg.port))
    sock.listen(128)
    config = uvicorn.Config(build_asgi(app), log_config=None, access_log=False,
                            lifespan="off", server_header=False,
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config), sock


def start_server(app: App) -> RunningServer:
    """Start the endpoint in a thread once it listens; returns it (call `.shutdown()`)."""
    server, sock = _uvicorn(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="http",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    running = RunningServer(server, sock, thread)
    log.info("HTTP endpoint on %s:%s", running.server_address[0], running.server_address[1])
    return running


def serve_forever(app: App) -> None:
    """Serve until SIGINT or SIGTERM (`court-monitor serve`), then stop cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping the site", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    running = start_server(app)
    log.info("site on http://%s:%s/", running.server_address[0], running.server_address[1])
    try:
        while not stop.wait(1.0):
            pass
    finally:
        running.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
