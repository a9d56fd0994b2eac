"""Watched web pages, against a real HTTP server on 127.0.0.1 whose pages change between polls."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from monitor.errors import ParseError
from sources.base import Fetched, PageObservation, Plan, TargetState
from sources.web_page import WebPage, normalize_text


@dataclass
class Site:
    """What the loopback server serves: path -> (content type, body); and what it was asked."""

    base: str = ""
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def put(self, path: str, body: str | bytes, content_type: str = "text/html") -> str:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = (content_type, data)
        return self.base + path


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            conditional = self.headers.get("If-None-Match", "")
            site.requests.append((self.path, conditional))
            if self.path not in site.pages:
                self.send_error(404)
                return
            content_type, body = site.pages[self.path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if conditional == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def _source(client: httpx.Client, clock: Any, **options: Any) -> WebPage:
    return WebPage("foia-1", WebPage.Options(**options), client, clock)


def _poll(source: WebPage, clock: Any, state: TargetState | None = None) -> tuple[Fetched, str]:
    target = source.targets(Plan(now=clock()))[0]
    fetched = source.fetch(target, state or TargetState())
    observations = source.parse(fetched)
    assert len(observations) == 1
    observation = observations[0]
    assert isinstance(observation, PageObservation)
    return fetched, observation.text


STATUS = """<html><head><title>FOIA 2025-ICFO-12345</title><style>.s{color:red}</style></head>
<body><nav>Home | Requests</nav>
<div id="status"><b>Status:</b> {status} <span class="since">since {since}</span>
<!-- internal note --><script>var t = "{since}";</script></div>
<p class="checked">Last checked {checked}</p></body></html>"""

RESTYLED = """<html><head><title>FOIA 2025-ICFO-12345</title></head><body>
<div class="wrapper"><section id="status" class="card"><strong class="label">Status:</strong>
    <em>{status_head}</em>{status_tail}&nbsp;&nbsp;<a href="#h">since</a>
    <time datetime="x">{since}</time>
</section></div><p class="checked">Last   checked {checked}</p></body></html>"""


def _status_page(status: str, since: str = "2025-04-01", checked: str = "10:00") -> str:
    return (
        STATUS.replace("{status}", status).replace("{since}", since).replace("{checked}", checked)
    )


def test_status_change_and_markup_only_change(site: Site, client: httpx.Client, clock: Any) -> None:
    url = site.put("/foia/12345", _status_page("In Process"))
    source = _source(client, clock, url=url, selector="#status", matter="foia-12345")

    _, first = _poll(source, clock)
    assert first == "Status: In Process since 2025-04-01"

    site.put(
        "/foia/12345",
        RESTYLED.replace("{status_head}", "In Pro")
        .replace("{status_tail}", "cess")
        .replace("{since}", "2025-04-01")
        .replace("{checked}", "11:00"),
    )
    _, restyled = _poll(source, clock)
    assert restyled == first

    site.put("/foia/12345", _status_page("Closed - Records Released"))
    _, changed = _poll(source, clock)
    assert changed != first and changed == "Status: Closed - Records Released since 2025-04-01"


def test_ignore_and_capture(site: Site, client: httpx.Client, clock: Any) -> None:
    url = site.put("/foia/1", _status_page("In Process", checked="10:00"))
    whole = _source(client, clock, url=url, selector="body", ignore=[r"Last checked \S+"])
    _, before = _poll(whole, clock)
    site.put("/foia/1", _status_page("In Process", checked="23:59"))
    _, after = _poll(whole, clock)
    assert before == after and "checked" not in before and "Home | Requests" in before

    captured = _source(
        client, clock, url=url, selector="#status", capture=r"(?i)status:\s*(.+?) since"
    )
    _, status = _poll(captured, clock)
    assert status == "In Process"
    whole_match = _source(client, clock, url=url, selector="#status", capture=r"since \S+")
    assert _poll(whole_match, clock)[1] == "since 2025-04-01"


def test_json_path(site: Site, client: httpx.Client, clock: Any) -> None:
    url = site.put(
        "/api/requests/77",
        b'{"id": 77, "status": "Awaiting Response", "history": [{"b": 1, "a": 2}], "seen": 3}',
        "application/json",
    )
    status = _source(client, clock, url=url, json_path="$.status")
    assert _poll(status, clock)[1] == "Awaiting Response"
    history = _source(client, clock, url=url, json_path="$.history")
    assert _poll(history, clock)[1] == '[{"a":2,"b":1}]'

    site.put(
        "/api/requests/77",
        b'{"seen": 4, "history": [{"a": 2, "b": 1}], "status": "Awaiting Response", "id": 77}',
        "application/json",
    )
    assert _poll(status, clock)[1] == "Awaiting Response"
    assert _poll(history, clock)[1] == '[{"a":2,"b":1}]'

    site.put("/api/requests/77", b'{"status": "Completed", "history": []}', "application/json")
    assert _poll(status, clock)[1] == "Completed"
    listing = site.put(
        "/api/requests",
        b'[{"id": 76, "status": "Completed"}, {"id": 77, "status": "Processing"}]',
        "application/json",
    )
    filtered = _source(client, clock, url=listing, json_path="$[?(@.id == 77)].status")
    assert _poll(filtered, clock)[1] == "Processing"


def test_not_modified(site: Site, client: httpx.Client, clock: Any) -> None:
    url = site.put("/foia/9", _status_page("In Process"))
    source = _source(client, clock, url=url, selector="#status")
    fetched, _ = _poll(source, clock)
    state = TargetState(etag=fetched.headers["etag"])
    again = source.fetch(source.targets(Plan(now=clock()))[0], state)
    assert again.not_modified and again.status == 304
    assert source.parse(again) == []
    assert site.requests[-1] == ("/foia/9", fetched.headers["etag"])

    site.put("/foia/9", _status_page("Closed"))
    changed = source.fetch(source.targets(Plan(now=clock()))[0], state)
    assert not changed.not_modified
    assert source.parse(changed) == [
        PageObservation(url=url, text="Status: Closed since 2025-04-01")
    ]


def test_a_broken_page_is_a_parse_error(site: Site, client: httpx.Client, clock: Any) -> None:
    url = site.put("/foia/5", "<html><body><h1>Service temporarily unavailable</h1></body></html>")
    cases = [
        {"selector": "#status"},
        {"selector": "h1", "capture": r"Status: (\w+)"},
        {"json_path": "$.status"},
    ]
    for options in cases:
        source = _source(client, clock, url=url, **options)
        with pytest.raises(ParseError) as info:
            _poll(source, clock)
        assert info.value.source == "foia-1" and info.value.url == url
    site.put("/foia/5", b'{"state": "x"}', "application/json")
    with pytest.raises(ParseError, match="matched nothing"):
        _poll(_source(client, clock, url=url, json_path="$.status"), clock)


def test_charset_from_the_header(site: Site, client: httpx.Client, clock: Any) -> None:
    body = "<div id='s'>Résolu – déposé</div>".encode("cp1252")
    url = site.put("/fr", body, "text/html; charset=windows-1252")
    assert _poll(_source(client, clock, url=url, selector="#s"), clock)[1] == "Résolu – déposé"


@pytest.mark.parametrize(
    "options",
    [
        {"url": "http://127.0.0.1/x"},
        {"url": "http://127.0.0.1/x", "selector": "#a", "json_path": "$.a"},
        {"url": "", "selector": "#a"},
        {"url": "http://127.0.0.1/x", "selector": "div[", "json_path": ""},
        {"url": "http://127.0.0.1/x", "json_path": "$.[[["},
        {"url": "http://127.0.0.1/x", "selector": "#a", "capture": "("},
        {"url": "http://127.0.0.1/x", "selector": "#a", "ignore": ["ok", "[z-a]"]},
        {"url": "http://127.0.0.1/x", "selector": "#a", "interval": "5m"},
    ],
)
def test_options_are_validated(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WebPage.Options(**options)


def test_normalize_text_order() -> None:
    text = "  Status:\n  Pending   (updated 5/1)  since  May "
    assert normalize_text(text) == "Status: Pending (updated 5/1) since May"
    import re

    ignore = [re.compile(r"\(updated [^)]*\)")]
    assert normalize_text(text, ignore) == "Status: Pending since May"
    assert normalize_text(text, ignore, re.compile(r"Status: (\w+)")) == "Pending"
    assert normalize_text(text, ignore, re.compile(r"Closed")) is None
