"""A real HTTP server on 127.0.0.1 that misbehaves on purpose, one fault per path.

    with HostileServer() as server:
        server.url("/hang")        # accepts, reads the request, never answers
        server.heal("/hang", body) # from now on: 200 with `body`

Faults (`FAULTS`): hang, drip (one byte every `drip_every` s), reset (TCP RST before any
answer), 5xx, 429 with Retry-After, maintenance page with status 200, truncated XML, bad
encoding (declared UTF-8, not UTF-8), huge (a body without Content-Length that never ends),
entity bomb, redirect loop, empty body. Every handler is bounded: it gives up after
`max_seconds` or `max_bytes`, or as soon as the server closes, so a broken client cannot keep
a test running for ever.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["FAULTS", "HostileServer"]

FAULTS = ("hang", "drip", "reset", "5xx", "429", "maintenance", "truncated", "bad-encoding",
          "huge", "entity-bomb", "redirect-loop", "empty")

_RSS_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
             b"<title>x</title>")
_ITEM = (b"<item><title>1:26-cv-00999 Filler v. Filler</title><link>https://ecf.dcd.uscourts"
         b".gov/cgi-bin/DktRpt.pl?1</link><description>[Filler]</description></item>\n")

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>1:26-cv-00001 &lol9; v. X</title>
<description>[&lol9;]</description></item></channel></rss>
"""


class HostileServer:
    """Serves one fault per path until `heal`ed; counts requests per path."""

    def __init__(self, *, drip_every: float = 0.2, max_seconds: float = 30.0,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.hits: dict[str, int] = {}
        self.healed: dict[str, bytes] = {}
        self.closing = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes: without this, delayed ACKs
                # cost every healthy answer 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    healed = server.healed.get(path)
                if healed is not None:
                    self._send(200, healed, "application/rss+xml")
                    return
                fault = path.strip("/").split("/")[0]
                getattr(self, "_" + fault.replace("-", "_"), self._not_found)()

            # -- helpers

            def _send(self, status: int, body: bytes, content_type: str = "text/plain",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _not_found(self) -> None:
                self._send(404, b"no such fault")

            # -- the faults

            def _hang(self) -> None:
                server.closing.wait(max_seconds)
                self.close_connection = True

            def _drip(self) -> None:
                body = _RSS_HEAD + _ITEM * 50 + b"</channel></rss>"
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                started = time.monotonic()
                for i in range(len(body)):
                    if server.closing.wait(drip_every) or time.monotonic() - started > max_seconds:
                        break
                    try:
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                    except OSError:
                        break
                self.close_connection = True

            def _reset(self) -> None:
                # SO_LINGER 0: close sends RST instead of FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            def _5xx(self) -> None:
                self._send(503, b"<html><body>Service Unavailable</body></html>", "text/html")

            def _429(self) -> None:
                self._send(429, b"slow down", headers={"Retry-After": "60"})

            def _maintenance(self) -> None:
                self._send(200, b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
                           b"<body><h1>CM/ECF is down for maintenance</h1></body></html>",
                           "text/html")

            def _truncated(self) -> None:
                body = _RSS_HEAD + _ITEM * 20 + b"</channel></rss>"
                cut = len(body) * 2 // 3
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(cut))
                self.end_headers()
                self.wfile.write(body[:cut])

            def _bad_encoding(self) -> None:
                body = (_RSS_HEAD + b"<item><title>1:26-cv-00998 Caf\xe9 \xff\xfe v. \x80\x81"
                        b"</title><description>[Order \xc3\x28 \xa0]</description></item>"
                        + b"</channel></rss>")
                self._send(200, body, "application/rss+xml; charset=utf-8")

            def _huge(self) -> None:
                # No Content-Length: the body ends when the connection closes.
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = _ITEM * 100
                sent = 0
                try:
                    self.wfile.write(_RSS_HEAD)
                    while sent < max_bytes and not server.closing.is_set():
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except OSError:
                    pass
                self.close_connection = True

            def _entity_bomb(self) -> None:
                self._send(200, ENTITY_BOMB, "application/rss+xml")

            def _redirect_loop(self) -> None:
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _empty(self) -> None:
                self._send(200, b"", "application/rss+xml")

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def heal(self, path: str, body: bytes) -> None:
        """From now on `path` answers 200 with `body`."""
        with self.lock:
            self.healed[path] = body

    def hit(self, path: str) -> int:
        with self.lock:
            return self.hits.get(path, 0)
