"""End to end, lists watched row by row (`list_page`): through the command line with an injected
clock, against real local servers on 127.0.0.1 (the list pages on a FeedServer, email to a real
SMTP server), a real SQLite file and the Atom feeds written to the feeds directory, read back
with feedparser."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests.cli_helpers import event_rows, poll_once, run_json
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer
from tests.fakes.smtp import SmtpServer, smtp_server

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

PAGE = """<!DOCTYPE html><html><head><title>Reports</title></head><body>
<table><tbody>{rows}</tbody></table></body></html>"""
ROW = ('<tr class="report"><td class="num">{0}</td>'
       '<td class="title"><a href="/reports/{0}">{1}</a></td><td><time>{2}</time></td></tr>')
MAINTENANCE = (b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
               b"<body><h1>This site is down for scheduled maintenance</h1></body></html>")


def page(*rows: tuple[str, str, str]) -> bytes:
    return PAGE.format(rows="\n".join(ROW.format(*r) for r in rows)).encode()


def config(tmp_path: Path, server: FeedServer, smtp: SmtpServer, extra: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[[watch]]
name = "oversight"
tags = ["287g-oversight"]
case_name = ["(?i)no case is named like this"]

[[source]]
id = "oig"
kind = "list_page"
title = "DHS OIG reports"
url = "{server.url('/oig')}"
rows = "tr.report"
fields = {{ number = "td.num", title = "td.title", link = "td.title a@href", date = "time" }}
key = "number"
include = ['(?i)287\\(g\\)|immigration']
filter_fields = ["title"]
watch = "oversight"
fail_after = 2
{extra}

[[subscription]]
name = "oversight"
urls = ["{smtp.apprise_url()}"]
events = ["item.*"]
watches = ["oversight"]

[[subscription]]
name = "elsewhere"
urls = ["{smtp.apprise_url(to='other@example.org')}"]
events = ["item.*"]
tags = ["some-other-tag"]
""")
    return str(path)


def kinds(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["kind"] for r in rows)


def step(cfg: str, clock: FixedClock, capsys: pytest.CaptureFixture[str],
         after: int) -> tuple[list[dict[str, Any]], int]:
    """One poll an hour later; the events it made and the last event id."""
    clock.advance(hours=1)
    poll_once(cfg, clock)
    rows = event_rows(cfg, clock, capsys, after)
    return rows, (rows[-1]["id"] if rows else after)


def items_table(tmp_path: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        return {key: (title, removed) for key, title, removed in db.execute(
            "SELECT key, json_extract(fields, '$.title'), removed_at FROM list_item")}


def test_rows_added_changed_removed_and_broken_pages_held(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(START)
    with FeedServer() as server, smtp_server() as smtp:
        cfg = config(tmp_path, server, smtp)
        server.set("/oig", page(("OIG-26-01", "Review of ICE's 287(g) Program", "2026-01-05"),
                                ("OIG-26-02", "Immigration detention inspections", "2026-01-09"),
                                ("OIG-26-03", "FEMA grant management", "2026-01-12")),
                   "text/html")
        first, last = step(cfg, clock, capsys, 0)
        # The baseline: the two matching rows, no email (subscriptions skip baseline events).
        assert kinds(first) == {"item.added": 2}
        assert all(e["data"]["baseline"] for e in first)
        assert {e["data"]["key"] for e in first} == {"OIG-26-01", "OIG-26-02"}
        assert first[0]["data"]["tags"] == ["287g-oversight"]
        assert first[0]["data"]["url"] == server.url("/reports/OIG-26-01")
        assert smtp.received == []

        # A title changes, a row arrives, one disappears: added + changed, no removal yet.
        server.set("/oig", page(("OIG-26-01", "Review of ICE's 287(g) Program (Final)", "x"),
                                ("OIG-26-04", "287(g) task force model", "2026-02-01"),
                                ("OIG-26-03", "FEMA grant management", "2026-01-12")),
                   "text/html")
        second, last = step(cfg, clock, capsys, last)
        assert kinds(second) == {"item.added": 1, "item.changed": 1}
        changed = next(e for e in second if e["kind"] == "item.changed")
        assert changed["data"]["changed"] == ["title", "date"]
        assert changed["data"]["changes"]["title"] == {
            "before": "Review of ICE's 287(g) Program",
            "after": "Review of ICE's 287(g) Program (Final)"}
        assert not any(e["data"]["baseline"] for e in second)
        assert len(smtp.received) == 2
        assert {m.message["To"] for m in smtp.received} == {"clerk@example.org"}

        # The same page again: the absence is confirmed, the row removed (kept in the table).
        third, last = step(cfg, clock, capsys, last)
        assert kinds(third) == {"item.removed": 1}
        assert third[0]["data"]["key"] == "OIG-26-02"
        assert third[0]["data"]["absences"] == 2
        assert items_table(tmp_path)["OIG-26-02"][1] is not None
        assert len(smtp.received) == 3
        assert "Gone from a watched list" in str(smtp.received[-1].message["Subject"])
        quiet, last = step(cfg, clock, capsys, last)
        assert quiet == []
        listed = run_json(["--config", cfg, "items", "oig"], clock, capsys)
        assert [(r["key"], r["removed_at"]) for r in listed] == [("OIG-26-01", None),
                                                                 ("OIG-26-04", None)]
        assert listed[0]["fields"]["title"] == "Review of ICE's 287(g) Program (Final)"
        everything = run_json(["--config", cfg, "items", "--removed"], clock, capsys)
        assert [r["key"] for r in everything] == ["OIG-26-01", "OIG-26-02", "OIG-26-04"]
        assert everything[1]["removed_at"] is not None

        # Broken pages: a 500, a maintenance page served with 200, a page without rows. Each,
        # fetched three times, gives no item event and exactly one source.failing.
        before = items_table(tmp_path)
        good = page(("OIG-26-01", "Review of ICE's 287(g) Program (Final)", "x"),
                    ("OIG-26-04", "287(g) task force model", "2026-02-01"),
                    ("OIG-26-03", "FEMA grant management", "2026-01-12"))
        for broken, status, content_type in [(b"Internal Server Error", 500, "text/plain"),
                                              (MAINTENANCE, 200, "text/html"),
                                              (page(), 200, "text/html")]:
            server.set("/oig", broken, content_type, status=status)
            episode: list[dict[str, Any]] = []
            for _ in range(3):
                rows, last = step(cfg, clock, capsys, last)
                episode += rows
            assert kinds(episode) == {"source.failing": 1}, broken[:40]
            assert items_table(tmp_path) == before
            server.set("/oig", good, "text/html")
            rows, last = step(cfg, clock, capsys, last)
            assert kinds(rows) == {"source.recovered": 1}
        assert len(smtp.received) == 3

        status = run_json(["--config", cfg, "status"], clock, capsys)
        (oig,) = [s for s in status["sources"] if s["id"] == "oig"]
        assert oig["kind"] == "list_page" and oig["consecutive_failures"] == 0

        # The feeds: one per list, and the list in its watch's tag feed, read by feedparser.
        feeds = tmp_path / "feeds"
        parsed = feedparser.parse((feeds / "list-oig.atom").read_bytes())
        assert not parsed.bozo
        assert parsed.feed.title.endswith("DHS OIG reports")
        titles = [e.title for e in parsed.entries]
        assert len(titles) == 5  # 2 baseline + added + changed + removed, newest first
        assert titles[0].startswith("Gone from a watched list")
        assert {e.link for e in parsed.entries} >= {server.url("/reports/OIG-26-04")}
        assert all(t.term.startswith("item.") for e in parsed.entries for t in e.tags)
        tagged = feedparser.parse((feeds / "tag-287g-oversight.atom").read_bytes())
        assert [e.id for e in tagged.entries] == [e.id for e in parsed.entries]


def test_a_big_drop_is_held_then_a_normal_list_ends_the_hold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(START)
    rows = [(f"R-{n:02}", f"287(g) report {n}", "d") for n in range(10)]
    with FeedServer() as server, smtp_server() as smtp:
        cfg = config(tmp_path, server, smtp)
        server.set("/oig", page(*rows), "text/html")
        first, last = step(cfg, clock, capsys, 0)
        assert kinds(first) == {"item.added": 10}

        # Two rows left (a half-rendered page): held, one source.failing, nothing removed.
        server.set("/oig", page(*rows[:2]), "text/html")
        held, last = step(cfg, clock, capsys, last)
        assert kinds(held) == {"source.failing": 1}
        assert held[0]["data"]["quarantine"] is True
        assert "max_loss" in held[0]["data"]["reasons"][0]
        server.set("/oig", page(*rows[:3]), "text/html")  # another short list: still held
        again, last = step(cfg, clock, capsys, last)
        assert again == []
        server.set("/oig", page(*rows), "text/html")
        back, last = step(cfg, clock, capsys, last)
        assert kinds(back) == {"source.recovered": 1}
        assert all(removed is None for _, removed in items_table(tmp_path).values())

        # A real shrink: the same short list twice is applied; removals follow confirmation.
        server.set("/oig", page(*rows[:2]), "text/html")
        held, last = step(cfg, clock, capsys, last)
        assert kinds(held) == {"source.failing": 1}
        applied, last = step(cfg, clock, capsys, last)
        assert kinds(applied) == {"source.recovered": 1}
        assert applied[0]["data"]["confirmed"] is True
        removed, last = step(cfg, clock, capsys, last)
        assert kinds(removed) == {"item.removed": 8}
        assert len(smtp.received) == 8


def test_rss_list_with_a_filter_and_no_removals(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def rss(*items: tuple[str, str]) -> bytes:
        body = "".join(f"<item><title>{t}</title><link>https://www.ice.gov/news/{g}</link>"
                       f"<guid>{g}</guid></item>" for g, t in items)
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
                f"{body}</channel></rss>").encode()

    clock = FixedClock(START)
    with FeedServer() as server, smtp_server() as smtp:
        cfg = config(tmp_path, server, smtp, extra=f"""
[[source]]
id = "ice-news"
kind = "list_page"
format = "feed"
url = "{server.url('/news.rss')}"
include = ['287\\(g\\)']
removals = false
tags = ["ice-news"]
""")
        server.set("/oig", page(("A", "287(g) a", "d")), "text/html")
        server.set("/news.rss", rss(("n1", "ICE arrests"), ("n2", "New 287(g) agreements")))
        first, last = step(cfg, clock, capsys, 0)
        news = [e for e in first if e["data"]["list"] == "ice-news"]
        assert [(e["kind"], e["data"]["key"]) for e in news] == [("item.added", "n2")]
        assert news[0]["data"]["tags"] == ["ice-news"] and news[0]["data"]["watches"] == []
        # Old items scroll out of the feed: with removals = false that is no event, ever.
        server.set("/news.rss", rss(("n3", "Sheriff joins 287(g)"), ("n4", "Other news")))
        second, last = step(cfg, clock, capsys, last)
        third, last = step(cfg, clock, capsys, last)
        assert [(e["kind"], e["data"]["key"]) for e in second + third] == [("item.added", "n3")]
        # the "elsewhere" subscription (tag some-other-tag) and "oversight" (its watch) hear
        # nothing of this list
        assert smtp.received == []
        parsed = feedparser.parse((tmp_path / "feeds" / "list-ice-news.atom").read_bytes())
        assert [e.link for e in parsed.entries] == ["https://www.ice.gov/news/n3",
                                                    "https://www.ice.gov/news/n2"]
