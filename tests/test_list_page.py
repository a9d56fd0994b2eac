"""The `list_page` source on its own: rows and fields from HTML, JSON and RSS/Atom, filters,
keys, broken pages, and pagination with its cap against a real server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from monitor.errors import ParseError
from sources import source_class
from sources.base import Fetched, ListSnapshot, Plan, Target, TargetState
from sources.list_page import FieldSpec, ListPage, item_key, keep_row, pack_pages, unpack_pages
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer

URL = "https://example.org/reports"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

REPORTS = """<!DOCTYPE html><html><body><h1>Reports</h1>
<table id="reports"><thead><tr><th>Number</th><th>Title</th><th>Date</th></tr></thead>
<tbody>
{rows}
</tbody></table>{next}</body></html>"""

ROW = """<tr class="report"><td class="num">{num}</td>
<td class="title"><a href="/reports/{num}">{title}</a></td><td><time>{date}</time></td></tr>"""


def reports_page(rows: list[tuple[str, str, str]], next_href: str = "") -> bytes:
    body = "\n".join(ROW.format(num=n, title=t, date=d) for n, t, d in rows)
    link = f'<nav><a rel="next" class="next" href="{next_href}">Next</a></nav>' \
        if next_href else ""
    return REPORTS.format(rows=body, next=link).encode()


HTML_OPTIONS: dict[str, Any] = {
    "url": URL, "rows": "tr.report",
    "fields": {"number": "td.num", "title": "td.title", "link": "td.title a@href",
               "date": "time"},
    "key": "number",
}


def make(options: dict[str, Any], client: httpx.Client | None = None,
         clock: FixedClock | None = None) -> ListPage:
    cls = source_class("list_page")
    assert cls is ListPage
    source = ListPage("reports", ListPage.Options(**options), client or httpx.Client(),
                      clock or FixedClock(NOW))
    return source


def parse(source: ListPage, body: bytes, url: str = URL,
          content_type: str = "text/html") -> ListSnapshot:
    fetched = Fetched(target=Target(key="list", url=url), content=body,
                      headers={"content-type": content_type})
    observations = source.parse(fetched)
    assert len(observations) == 1
    snapshot = observations[0]
    assert isinstance(snapshot, ListSnapshot)
    return snapshot


# ---------------------------------------------------------------------------- HTML


def test_html_rows_fields_attributes_and_links() -> None:
    snap = parse(make(HTML_OPTIONS), reports_page([
        ("OIG-26-01", "ICE's 287(g) Program  Oversight", "2026-01-05"),
        ("OIG-26-02", "FEMA  grants", "2026-01-09"),
    ]))
    assert snap.total_rows == 2 and snap.complete
    first = snap.items[0]
    assert first.key == "OIG-26-01"
    assert first.fields == {"number": "OIG-26-01", "title": "ICE's 287(g) Program Oversight",
                            "link": "https://example.org/reports/OIG-26-01",
                            "date": "2026-01-05"}
    assert first.link == "https://example.org/reports/OIG-26-01"


def test_key_defaults_to_the_link_then_a_hash() -> None:
    options = {**HTML_OPTIONS, "key": ""}
    snap = parse(make(options), reports_page([("A-1", "One", "x")]))
    assert snap.items[0].key == "https://example.org/reports/A-1"
    assert item_key({"a": "1"}, "", "").startswith("h:")
    assert item_key({"a": "1"}, "", "") == item_key({"a": "1"}, "", "")
    assert item_key({"a": "1"}, "", "") != item_key({"a": "2"}, "", "")
    assert item_key({"a": ""}, "", "") == ""


def test_field_specs() -> None:
    assert FieldSpec.parse("a@href") == FieldSpec("a", "href")
    assert FieldSpec.parse("@data-id") == FieldSpec("", "data-id")
    assert FieldSpec.parse("td.title") == FieldSpec("td.title", "")
    assert FieldSpec.parse("") == FieldSpec("", "")


def test_filters_keep_only_matching_rows() -> None:
    options = {**HTML_OPTIONS, "include": [r"(?i)287\(g\)", "(?i)mandamus"],
               "exclude": ["(?i)withdrawn"], "filter_fields": ["title"]}
    snap = parse(make(options), reports_page([
        ("1", "Review of 287(g) task force", "d"),
        ("2", "FEMA grants", "d"),
        ("3", "Petition for writ of MANDAMUS v. Sheriff", "d"),
        ("4", "287(g) audit (withdrawn)", "d"),
        ("287(g)", "number matches but the filter looks at the title only", "d"),
    ]))
    assert [i.key for i in snap.items] == ["1", "3"]
    assert snap.total_rows == 5  # the short-list test counts rows before the filters
    assert keep_row({"a": "x"}, [], [])


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
    b"<body><h1>This site is down for maintenance</h1></body></html>",
    REPORTS.format(rows="", next="").encode(),
    b"",
], ids=["maintenance", "no-rows", "empty"])
def test_a_page_without_rows_is_an_error_not_an_empty_list(body: bytes) -> None:
    with pytest.raises(ParseError, match="matched nothing"):
        parse(make(HTML_OPTIONS), body)


def test_empty_ok_names_a_legitimately_empty_search() -> None:
    options = {**HTML_OPTIONS, "empty_ok": "(?i)no (records|cases) found"}
    body = b"<html><body><p>No records found for your search.</p></body></html>"
    snap = parse(make(options), body)
    assert snap.items == () and snap.total_rows == 0
    with pytest.raises(ParseError):
        parse(make(options), b"<html><body>Service unavailable</body></html>")


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="rows and fields"):
        ListPage.Options(url=URL)
    with pytest.raises(ValidationError, match="CSS selector"):
        ListPage.Options(url=URL, rows="tr[", fields={"a": "td"})
    with pytest.raises(ValidationError, match="not a field"):
        ListPage.Options(url=URL, rows="tr", fields={"a": "td"}, key="b")
    with pytest.raises(ValidationError, match="regex"):
        ListPage.Options(url=URL, rows="tr", fields={"a": "td"}, include=["(unclosed"])
    with pytest.raises(ValidationError, match="takes no rows"):
        ListPage.Options(url=URL, format="feed", rows="item")
    with pytest.raises(ValidationError, match="json_path"):
        ListPage.Options(url=URL, format="json", rows="$[", fields={"a": "b"})


# ---------------------------------------------------------------------------- JSON


def test_json_rows_by_path_and_field_paths() -> None:
    options = {"url": URL, "format": "json", "rows": "$.results",
               "fields": {"id": "id", "title": "attributes.title", "link": "links.self",
                          "tags": "attributes.tags"},
               "key": "id"}
    body = json.dumps({"count": 2, "results": [
        {"id": 7, "attributes": {"title": "Mandamus  petition", "tags": ["a", "b"]},
         "links": {"self": "https://example.org/r/7"}},
        {"id": 8, "attributes": {"title": "Other"}, "links": {"self": "/r/8"}},
    ]}).encode()
    snap = parse(make(options), body, content_type="application/json")
    assert [i.key for i in snap.items] == ["7", "8"]
    assert snap.items[0].fields == {"id": "7", "title": "Mandamus petition",
                                    "link": "https://example.org/r/7", "tags": '["a","b"]'}
    assert snap.items[1].fields["tags"] == ""
    with pytest.raises(ParseError, match="not JSON"):
        parse(make(options), b"<html>maintenance</html>")
    with pytest.raises(ParseError, match="matched nothing"):
        parse(make(options), b'{"error": "down"}')
    with pytest.raises(ParseError, match="matched nothing"):
        parse(make(options), b'{"results": []}')


# ---------------------------------------------------------------------------- feeds

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>ICE News Releases</title><link>https://www.ice.gov/news</link>
<item><title>ICE signs 287(g) agreements with 12 Florida sheriffs</title>
<link>https://www.ice.gov/news/releases/a</link><guid isPermaLink="false">n-1</guid>
<pubDate>Mon, 05 Jan 2026 15:00:00 GMT</pubDate>
<description>&lt;p&gt;The agreements &lt;b&gt;expand&lt;/b&gt; the program.&lt;/p&gt;
</description></item>
<item><title>ICE arrests fugitive</title><link>/news/releases/b</link>
<pubDate>Tue, 06 Jan 2026 15:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Reports</title><id>urn:x</id>
<updated>2026-01-05T00:00:00Z</updated>
<entry><title type="html">Audit of &lt;i&gt;287(g)&lt;/i&gt;</title><id>urn:r:1</id>
<link rel="alternate" href="https://example.org/r/1"/><updated>2026-01-05T00:00:00Z</updated>
<summary>About the program</summary></entry>
</feed>"""


def test_rss_items() -> None:
    options = {"url": "https://www.ice.gov/feeds/news.rss", "format": "feed",
               "include": [r"287\(g\)"]}
    snap = parse(make(options), RSS, url="https://www.ice.gov/feeds/news.rss",
                 content_type="application/rss+xml")
    assert snap.total_rows == 2
    (item,) = snap.items
    assert item.key == "n-1"
    assert item.fields == {"title": "ICE signs 287(g) agreements with 12 Florida sheriffs",
                           "link": "https://www.ice.gov/news/releases/a", "id": "n-1",
                           "published": "Mon, 05 Jan 2026 15:00:00 GMT",
                           "summary": "The agreements expand the program."}
    all_rows = parse(make({**options, "include": []}), RSS,
                     url="https://www.ice.gov/feeds/news.rss")
    # no guid: the link (resolved against the feed's URL) is the key
    assert all_rows.items[1].key == "https://www.ice.gov/news/releases/b"


def test_atom_entries_and_broken_feeds() -> None:
    options = {"url": URL, "format": "feed"}
    snap = parse(make(options), ATOM, content_type="application/atom+xml")
    (item,) = snap.items
    assert (item.key, item.fields["title"], item.link) == (
        "urn:r:1", "Audit of 287(g)", "https://example.org/r/1")
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse(make(options), b"<html><body>Down for maintenance</body></html>")
    with pytest.raises(ParseError, match="matched nothing"):
        parse(make(options), b"<rss><channel><title>x</title></channel></rss>")


def test_entity_bomb_is_not_expanded() -> None:
    from tests.fakes.hostile_server import ENTITY_BOMB

    options = {"url": URL, "format": "feed"}
    snap = parse(make(options), ENTITY_BOMB)
    (item,) = snap.items  # the entities stay unexpanded: the text is what is written
    assert item.fields["title"] == "1:26-cv-00001 &lol9; v. X"


# ---------------------------------------------------------------------------- pagination


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_pagination_follows_next_links_up_to_the_cap(server: FeedServer) -> None:
    for page in range(1, 6):
        rows = [(f"R-{page}-{n}", f"Report {page}.{n}", "d") for n in range(3)]
        server.set(f"/list/{page}", reports_page(rows, f"/list/{page + 1}" if page < 5 else ""),
                   "text/html")
    options = {**HTML_OPTIONS, "url": server.url("/list/1"), "next": "a[rel=next]",
               "max_pages": 3}
    with httpx.Client(timeout=5) as client:
        source = make(options, client, FixedClock(NOW))
        (target,) = source.targets(Plan(now=source.clock()))
        fetched = source.fetch(target, TargetState())
        assert [p.url for p in unpack_pages(fetched)] == [
            server.url(f"/list/{n}") for n in (1, 2, 3)]
        snap = source.parse(fetched)[0]
        assert isinstance(snap, ListSnapshot)
        assert len(snap.items) == 9 and not snap.complete  # the cap left pages unread
        assert server.hits.get("/list/4") is None

        whole = make({**options, "max_pages": 10}, client, source.clock)
        fetched = whole.fetch(target, TargetState())
        snap = whole.parse(fetched)[0]
        assert isinstance(snap, ListSnapshot)
        assert len(snap.items) == 15 and snap.complete


def test_a_next_link_loop_stops(server: FeedServer) -> None:
    server.set("/a", reports_page([("1", "x", "d")], "/b"), "text/html")
    server.set("/b", reports_page([("2", "y", "d")], "/a"), "text/html")
    options = {**HTML_OPTIONS, "url": server.url("/a"), "next": "a.next", "max_pages": 50}
    with httpx.Client(timeout=5) as client:
        source = make(options, client, FixedClock(NOW))
        fetched = source.fetch(Target(key="list", url=server.url("/a")), TargetState())
        snap = source.parse(fetched)[0]
        assert isinstance(snap, ListSnapshot)
        assert [i.key for i in snap.items] == ["1", "2"] and snap.complete
        assert server.hits == {"/a": 1, "/b": 1}


def test_pack_and_unpack_pages_round_trip() -> None:
    from sources.list_page import Page

    pages = [Page("u1", b"\x00\xffone", "text/html"), Page("u2", b"two", "")]
    fetched = Fetched(target=Target(key="list", url="u1"), content=pack_pages(pages))
    assert unpack_pages(fetched) == pages
    single = Fetched(target=Target(key="list", url="u1"), content=pack_pages(pages[:1]))
    assert single.content == b"\x00\xffone"


# ---------------------------------------------------------------------------- the examples


def example_options(source_id: str) -> dict[str, Any]:
    """The options of one `list_page` source of config.example.toml, as shipped."""
    import tomllib
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    rows = tomllib.loads(example.read_text())["source"]
    (row,) = [r for r in rows if r["id"] == source_id]
    common = {"id", "kind", "interval", "jitter", "fail_after", "enabled"}
    return {k: v for k, v in row.items() if k not in common}


@pytest.mark.corpus
def test_the_texas_mandamus_example_reads_courtlistener_search_results(corpus: Any) -> None:
    """The shipped example against CourtListener's documented v4 search result (corpus)."""
    result = json.loads((corpus / "courtlistener" / "api_docs_examples"
                         / "search_v4_opinions_response_first_result.json").read_text())
    options = example_options("tx-mandamus-sheriff")
    source = make(options)
    body = json.dumps({"count": 1, "next": None, "previous": None,
                       "results": [result]}).encode()
    snap = parse(source, body, url=options["url"], content_type="application/json")
    (item,) = snap.items
    assert item.key == str(result["cluster_id"])
    assert item.fields["case_name"] == result["caseName"]
    assert item.fields["docket_number"] == result["docketNumber"]
    assert item.link == "https://www.courtlistener.com" + result["absolute_url"]
    empty = parse(source, b'{"count": 0, "next": null, "results": []}', url=options["url"])
    assert empty.items == ()
    with pytest.raises(ParseError):
        parse(source, b'{"detail": "Authentication credentials were not provided."}',
              url=options["url"])


@pytest.mark.parametrize("source_id", ["dhs-oig-reports", "dhs-crcl", "ice-news-287g",
                                       "tx-mandamus-sheriff"])
def test_every_list_example_is_valid(source_id: str) -> None:
    options = ListPage.Options(**example_options(source_id))
    assert options.url.startswith("https://")


def test_the_oig_example_reads_a_table_like_oigs() -> None:
    """The OIG example against a page shaped as the OIG list reads (columns as published)."""
    options = example_options("dhs-oig-reports")
    page = b"""<html><body><table class="views-table"><thead><tr><th>Report Number</th>
    <th>Title</th><th>Issue Date</th><th>Fiscal Year</th></tr></thead><tbody>
    <tr><td>OIG-26-10</td><td><a href="/reports/2026/oig-26-10">ICE Did Not Oversee
    287(g) Agreements Effectively</a></td><td>01/05/2026</td><td>2026</td></tr>
    <tr><td>OIG-26-11</td><td><a href="/reports/2026/oig-26-11">FEMA grants</a></td>
    <td>01/06/2026</td><td>2026</td></tr></tbody></table></body></html>"""
    snap = parse(make(options), page, url=options["url"])
    (item,) = snap.items
    assert item.key == "OIG-26-10"
    assert item.link == "https://www.oig.dhs.gov/reports/2026/oig-26-10"
    assert item.fields["issued"] == "01/05/2026"


def test_a_watch_that_does_not_exist_is_a_config_error(tmp_path: Any) -> None:
    from monitor.config import load_config
    from monitor.errors import ConfigError

    path = tmp_path / "config.toml"
    source = """
[[source]]
id = "oig"
kind = "list_page"
url = "https://example.org/list"
format = "feed"
watch = "{watch}"

[[watch]]
name = "oversight"
tags = ["x"]
case_name = ["nothing"]
"""
    path.write_text(source.format(watch="oversigth"))
    with pytest.raises(ConfigError, match=r"source\[0\]\.watch: no \[\[watch\]\] named"):
        load_config(str(path))
    path.write_text(source.format(watch="oversight"))
    assert load_config(str(path)).sources[0].kind == "list_page"


@pytest.mark.parametrize("fault,error", [
    ("5xx", "FetchError"), ("maintenance", "ParseError"), ("truncated", "ParseError"),
    ("empty", "ParseError"), ("huge", "FetchError"),
])
def test_hostile_pages_fail_without_a_list(fault: str, error: str) -> None:
    """Each fault of the hostile server is an error of the round, never a list (emptied or
    not); the core counts it against `fail_after`."""
    from monitor.errors import SourceError
    from tests.fakes.hostile_server import HostileServer

    with HostileServer(max_bytes=4 * 1024 * 1024) as hostile, httpx.Client(timeout=5) as client:
        for options in (HTML_OPTIONS, {"url": URL, "format": "feed",
                                       "include": ["(?i)no item has this title"]}):
            source = make({**options, "url": hostile.url(f"/{fault}"),
                           "max_bytes": 1024 * 1024}, client, FixedClock(NOW))
            target = source.targets(Plan(now=NOW))[0]
            with pytest.raises(SourceError) as caught:
                source.parse(source.fetch(target, TargetState()))
            if options is HTML_OPTIONS or fault in ("5xx", "huge"):
                assert type(caught.value).__name__ == error
