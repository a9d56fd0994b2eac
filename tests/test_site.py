"""The site over HTTP on 127.0.0.1, over a database filled by real polls (`site_world`):
privacy (a private matter on no public page, feed or API answer, and there with the token),
the API's shapes (the CLI's `--json`) and paging, feeds with ETag / Last-Modified / 304 /
gzip, escaping, and the headers that keep scripts out."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli_helpers import run_json
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer
from tests.site_world import HOSTILE, PRIVATE_MATTER, PUBLIC_MATTER, TOKEN, build_world, site

SECRETS = (PRIVATE_MATTER, "A-SECRET-0042", "USCIS Houston Field Office")
CASE = "/cases/dcd/1:26-cv-00412"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, FixedClock]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("SITE_TEST_TOKEN", TOKEN)
    tmp = tmp_path_factory.mktemp("site")
    mp.setenv("XDG_DATA_HOME", str(tmp / "data"))
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server:
        cfg = build_world(tmp, server, clock)
    yield cfg, clock
    mp.undo()


@pytest.fixture(scope="module")
def base(world: tuple[Path, FixedClock]) -> Iterator[str]:
    cfg, clock = world
    mp = pytest.MonkeyPatch()
    mp.setenv("SITE_TEST_TOKEN", TOKEN)
    with site(cfg, clock) as url:
        yield url
    mp.undo()


def _get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, timeout=20, **kwargs)


def _all_events(base: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url = f"{base}/api/events?limit=7"
    while url:
        answer = _get(url, headers=headers)
        assert answer.status_code == 200
        rows += answer.json()
        link = answer.links.get("next", {}).get("url", "")
        url = f"{base}{link}" if link else ""
    return rows


def test_a_private_matter_is_on_no_public_page_feed_or_api_answer(
    world: tuple[Path, FixedClock], base: str
) -> None:
    cfg, _ = world
    public = ["/", "/cases", CASE, "/cases/txsd/4:26-cv-01234", "/deadlines", "/matters",
              "/agreements", "/api/cases", "/api/cases/dcd/1:26-cv-00412", "/api/deadlines",
              "/api/matters", "/api/agreements", "/health"]
    feeds = sorted(p.name for p in (cfg.parent / "feeds").iterdir()
                   if p.suffix in (".atom", ".ics") and not p.name.startswith("."))
    assert "all.atom" in feeds and "deadlines.ics" in feeds
    public += [f"/feeds/{name}" for name in feeds]
    for path in public:
        answer = _get(base + path)
        assert answer.status_code == 200, path
        for secret in SECRETS:
            assert secret not in answer.text, (path, secret)
    events = _all_events(base)
    assert len(events) > 20
    assert not any(secret in json.dumps(events) for secret in SECRETS)
    # The public matter is there: the filter hides the private one, not everything.
    assert PUBLIC_MATTER in _get(f"{base}/matters").text
    assert [m["id"] for m in _get(f"{base}/api/matters").json()] == [PUBLIC_MATTER]


def test_the_token_shows_the_private_matter_everywhere_it_belongs(base: str) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    matters = _get(f"{base}/api/matters", headers=bearer).json()
    assert sorted(m["id"] for m in matters) == sorted([PUBLIC_MATTER, PRIVATE_MATTER])
    private = next(m for m in matters if m["id"] == PRIVATE_MATTER)
    assert private["private"] is True and private["clock"]["rule"] == "ina-1447b"
    assert private["days_elapsed"] == (datetime(2026, 3, 3).date()
                                       - datetime(2025, 9, 1).date()).days
    assert any(d["subject"] == f"matter:{PRIVATE_MATTER}"
               for d in _get(f"{base}/api/deadlines", headers=bearer).json())
    assert any(e["subject"] == f"matter:{PRIVATE_MATTER}"
               for e in _all_events(base, headers=bearer))
    # In a browser: ?token= once, kept in an HttpOnly cookie, dropped from the address.
    with httpx.Client(base_url=base, timeout=20) as client:
        first = client.get(f"/matters?token={TOKEN}")
        assert first.status_code == 303 and first.headers["location"] == "/matters"
        assert "httponly" in first.headers["set-cookie"].lower()
        page = client.get("/matters")
        assert PRIVATE_MATTER in page.text and "A-SECRET-0042" in page.text
        assert "advocates" in page.text  # says whose view this is
        client.get("/sign-out")
        assert PRIVATE_MATTER not in client.get("/matters").text


def test_an_unknown_token_is_refused_not_served_as_public(base: str) -> None:
    assert _get(f"{base}/matters?token=guess-guess-guess-guess").status_code == 403
    answer = _get(f"{base}/api/matters", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 403 and answer.json() == {"error": "unknown token"}


def test_the_api_answers_the_clis_json_shapes(
    world: tuple[Path, FixedClock], base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, clock = world
    cli_cases = run_json(["--config", str(cfg), "cases"], clock, capsys)
    api_cases = _get(f"{base}/api/cases").json()
    assert len(api_cases) == len(cli_cases) == 2
    by_key = {(c["court"], c["docket_number"]): c for c in api_cases}
    for row in cli_cases:
        api = by_key[(row["court"], row["docket_number"])]
        assert {k: api[k] for k in row} == row  # the same shape, extended only
    assert by_key[("dcd", "1:26-cv-00412")]["next_deadline"]["rule"] == "frcp-12a2"
    assert by_key[("dcd", "1:26-cv-00412")]["last_entry"]["entry_number"] == 6
    cli_case = run_json(["--config", str(cfg), "case", "dcd", "1:26-cv-00412"], clock, capsys)
    assert _get(f"{base}/api/cases/dcd/1:26-cv-00412").json() == cli_case
    cli_events = run_json(["--config", str(cfg), "events"], clock, capsys)
    public = [e for e in cli_events if PRIVATE_MATTER not in e["subject"]]
    assert _all_events(base) == public
    agreements = run_json(["--config", str(cfg), "agreements"], clock, capsys)
    api_agreements = _get(f"{base}/api/agreements?limit=500").json()
    assert [{k: a[k] for k in agreements[0]} for a in api_agreements] == agreements
    assert _get(f"{base}/api/cases/dcd/9:99-cv-99999").status_code == 404


def test_api_pages_follow_their_next_links(base: str) -> None:
    first = _get(f"{base}/api/agreements?limit=10&state=FL")
    assert first.headers["x-total-count"] == "9"
    assert "next" not in first.links
    pages, url = [], f"{base}/api/agreements?limit=10"
    while url:
        answer = _get(url)
        pages.append(answer.json())
        link = answer.links.get("next", {}).get("url", "")
        url = f"{base}{link}" if link else ""
    assert [len(p) for p in pages] == [10, 10, 6]
    agencies = [a["agency"] for p in pages for a in p]
    assert len(set(agencies)) == 26
    assert _get(f"{base}/api/cases?limit=x").status_code == 400
    texas = _get(f"{base}/api/cases?state=TX").json()
    assert [c["court"] for c in texas] == ["txsd"]


def test_feeds_have_validators_answer_304_and_gzip(base: str) -> None:
    url = f"{base}/feeds/all.atom"
    full = _get(url, headers={"Accept-Encoding": "identity"})
    assert full.status_code == 200 and full.headers["content-type"] == "application/atom+xml"
    etag, modified = full.headers["etag"], full.headers["last-modified"]
    assert _get(url, headers={"If-None-Match": etag}).status_code == 304
    assert _get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert _get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert _get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert _get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}) \
        .status_code == 200
    raw = httpx.get(url, headers={"Accept-Encoding": "gzip"}, timeout=20)
    assert raw.headers["content-encoding"] == "gzip"
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=20) as answer:
        packed = b"".join(answer.iter_raw())
    assert len(packed) < len(full.content) / 3
    assert gzip.decompress(packed) == full.content
    ics = _get(f"{base}/feeds/deadlines.ics")
    assert ics.headers["content-type"].startswith("text/calendar") and ics.headers["etag"]
    for path in ("/feeds/.all.atom.tmp", "/feeds/nope.atom", "/feeds/../monitor.db"):
        assert _get(base + path).status_code == 404


def test_docket_text_is_escaped_and_no_script_is_allowed(base: str) -> None:
    for path in (CASE, "/cases", "/"):
        answer = _get(base + path)
        assert "<script>" not in answer.text and "onerror=\"window" not in answer.text
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert "script-src" not in answer.headers["content-security-policy"]
    assert "&lt;script&gt;window.__pwned" in _get(base + CASE).text
    entries = _get(f"{base}/api/cases/dcd/1:26-cv-00412").json()["entries"]
    assert any(HOSTILE in e["description"] for e in entries)  # JSON carries the text as is
    search = _get(f"{base}/cases", params={"q": '"><script>alert(1)</script>'})
    assert search.status_code == 200 and "<script>alert(1)" not in search.text


def test_pages_filter_and_page_without_javascript(base: str) -> None:
    closed = _get(f"{base}/cases?status=closed").text
    assert "0 cases" in closed
    found = _get(f"{base}/cases", params={"q": "harris"}).text
    assert "Roe v. Sheriff of Harris County" in found and "Doe v." not in found
    paged = _get(f"{base}/cases?limit=1").text
    assert "page 1 of 2" in paged and 'rel="next"' in paged
    agenda = _get(f"{base}/deadlines").text  # the coming 8 weeks: to 2026-04-28
    assert "FOIA determination" in agenda and "Response to complaint" not in agenda
    assert "2 more due after the next 8 weeks" in agenda
    agenda = _get(f"{base}/deadlines?weeks=16").text
    assert agenda.index("FOIA determination") < agenda.index("Response to complaint") \
        < agenda.index("Service of process")
    assert _get(f"{base}/no/such/page").status_code == 404
    assert _get(f"{base}/health").json()["sources"][0]["id"] == "pacer-rss"
