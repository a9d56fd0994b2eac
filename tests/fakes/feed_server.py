"""A real HTTP server on 127.0.0.1 that serves documents tests can change between polls.

    with FeedServer() as server:
        server.set("/dcd/rss", rss_bytes)          # 200 with an ETag
        url = server.url("/dcd/rss")
        server.fail("/txsd/rss", status=500)       # misbehave on purpose

`requests` lists every request (path, User-Agent, start and end time), so a test can tell which
client asked and whether two requests for one path overlapped.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Request:
    """One request the server answered."""

    path: str
    agent: str
    started: float
    ended: float


@dataclass
class _Doc:
    body: bytes
    content_type: str = "application/rss+xml"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """Serves `set` documents; counts requests per path; honours If-None-Match."""

    def __init__(self) -> None:
        self.docs: dict[str, _Doc] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                started = time.time()
                try:
                    self._answer()
                finally:
                    with server.lock:
                        server.requests.append(Request(self.path.split("?")[0],
                                                       self.headers.get("User-Agent", ""),
                                                       started, time.time()))

            def _answer(self) -> None:
                path = self.path.split("?")[0]
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    doc = server.docs.get(path)
                if doc is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha1(doc.body).hexdigest() + '"'
                if doc.status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(doc.status)
                self.send_header("Content-Type", doc.content_type)
                self.send_header("Content-Length", str(len(doc.body)))
                if doc.status == 200:
                    self.send_header("ETag", etag)
                for k, v in doc.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(doc.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: bytes, content_type: str = "application/rss+xml",
            status: int = 200, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.docs[path] = _Doc(body, content_type, status, headers or {})

    def fail(self, path: str, status: int = 500, body: bytes = b"error",
             headers: dict[str, str] | None = None) -> None:
        self.set(path, body, "text/plain", status, headers)


@dataclass(frozen=True)
class Item:
    """One RSS item as CM/ECF writes it."""

    court: str
    docket: str
    case_name: str
    text: str
    entry_number: int | None = None
    doc_id: str = ""
    case_id: str = "100001"
    when: datetime = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


def rss(court: str, items: list[Item]) -> bytes:
    """A district court feed in CM/ECF's shape."""
    host = f"https://ecf.{court}.uscourts.gov"
    parts = [
        '<?xml version="1.0" encoding="ISO-8859-1" ?>',
        '<rss version="2.0"><channel>',
        f"<title>{court} - Recent Entries</title><link>{host}</link>",
        "<description>Public filings in the last 24 Hours</description>",
    ]
    for it in items:
        link = f"{host}/cgi-bin/DktRpt.pl?{it.case_id}"
        desc = f"[{escape(it.text)}]"
        if it.entry_number is not None:
            doc = it.doc_id or f"0450{it.case_id}{it.entry_number:03d}"
            anchor = f"<a href='{host}/doc1/{doc}'>{it.entry_number}</a>"
            desc += f" ({escape(anchor)})"
        parts.append(
            "<item>"
            f"<title><![CDATA[{it.docket} {it.case_name}]]></title>"
            f"<pubDate>{format_datetime(it.when, usegmt=True)}</pubDate>"
            f"<description>{desc}</description>"
            f'<guid isPermaLink="true">{link}</guid><link>{link}</link>'
            "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("iso-8859-1")
