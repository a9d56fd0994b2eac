"""The site in a real browser: Debian's headless Chromium driven by Playwright over a database
filled by real polls of local feeds. A person opens the case list, filters it, follows a case,
and sees its name, an entry, a deadline with its reason and the feed link; the agreements page
draws its map and its chart; a hostile entry shows as text and runs nothing. Screenshots are
saved under the test's tmp path, or in $COURT_MONITOR_SCREENSHOTS (their paths printed).

Skips cleanly when the playwright package or /usr/bin/chromium is missing (Playwright cannot
download its own browsers here: it drives the system one through `executable_path`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer
from tests.site_world import HOSTILE, PRIVATE_MATTER, TOKEN, build_world, site

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--no-sandbox", "--disable-gpu"])
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start is a skip
            pytest.skip(f"chromium does not start under playwright: {exc}")
        try:
            yield instance
        finally:
            instance.close()


@pytest.mark.e2e
def test_a_person_finds_a_case_its_deadline_and_the_agreements_map(
    tmp_path: Path, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_TEST_TOKEN", TOKEN)
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    shots = Path(os.environ.get("COURT_MONITOR_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with FeedServer() as server:
        cfg = build_world(tmp_path, server, clock)
    with site(cfg, clock) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(f"{base}/")
        assert page.get_by_role("link", name="tag-287g.atom").is_visible()
        page.screenshot(path=str(shots / "home.png"), full_page=True)
        page.goto(f"{base}/deadlines?weeks=16")
        assert "FOIA determination" in page.locator("main").inner_text()
        page.screenshot(path=str(shots / "deadlines.png"), full_page=True)

        page.goto(f"{base}/cases")
        assert page.locator("#case-count").inner_text().startswith("2 cases")
        # Filter: Texas only, through the form as a person does it (no JavaScript needed).
        page.select_option("select[name=state]", "TX")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "state=TX" in page.url
        assert page.locator("#case-count").inner_text().startswith("1 case")
        assert page.get_by_text("Roe v. Sheriff of Harris County").is_visible()
        assert page.get_by_text("Doe v. U.S. Citizenship").count() == 0
        # Then a text search that finds the D.D.C. case by its entry text.
        page.goto(f"{base}/cases")
        page.fill("input[name=q]", "summons returned")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("#case-count").inner_text().startswith("1 case")
        page.screenshot(path=str(shots / "cases-filtered.png"), full_page=True)
        page.click("text=Doe v. U.S. Citizenship and Immigration Services")
        page.wait_for_load_state()

        assert "/cases/dcd/1:26-cv-00412" in page.url
        assert page.locator("h1#case-name").inner_text() == \
            "Doe v. U.S. Citizenship and Immigration Services"
        timeline = page.locator("ol.timeline").inner_text()
        assert "SUMMONS Returned Executed as to United States Attorney" in timeline
        deadline = page.locator("li.deadline.state-open").first
        text = deadline.inner_text()
        assert "Response to complaint" in text and "2026-05-01" in text
        assert "FRCP 12(a)(2)" in text  # the reason: its rule
        deadline.locator("summary").click()
        assert "+ 60 days = Fri 2026-05-01" in deadline.locator("ol.steps").inner_text()
        feed = page.locator("#case-feed")
        assert feed.get_attribute("href") == "/feeds/case-dcd-1-26-cv-00412.atom"
        atom = page.request.get(base + feed.get_attribute("href"))
        assert atom.ok and "Doe v. U.S. Citizenship" in atom.text()
        # The hostile entry: shown as text, nothing ran.
        assert HOSTILE in timeline
        assert page.evaluate("window.__pwned") is None
        assert page.locator("ol.timeline script").count() == 0
        assert page.locator("ol.timeline img").count() == 0
        page.screenshot(path=str(shots / "case.png"), full_page=True)

        page.goto(f"{base}/agreements")
        tiles = page.locator("#state-map svg g.tile")
        assert tiles.count() >= 51
        texas = page.locator('#state-map g.tile[data-state="TX"] rect')
        assert texas.get_attribute("fill") != page.locator(
            '#state-map g.tile[data-state="WY"] rect').get_attribute("fill")
        assert texas.bounding_box()["width"] > 10  # drawn, not just present
        bars = page.locator("#signed-chart svg rect.bar")
        assert bars.count() >= 12
        heights = [float(bars.nth(i).get_attribute("height")) for i in range(bars.count())]
        assert max(heights) > 0
        assert "County 25" in page.locator("#changes ~ ul.changes").inner_text() or \
            page.locator("ul.changes").count() == 1
        page.screenshot(path=str(shots / "agreements.png"), full_page=True)
        # A state tile filters the table.
        page.click('#state-map g.tile[data-state="FL"] a')
        page.wait_for_load_state()
        assert "state=FL" in page.url
        assert all(cell.strip() == "FL" for cell in
                   page.locator("table.agreements td[data-label=State]").all_inner_texts())

        # On a phone: the case list still reads (no sideways scrolling of the page).
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{base}/cases")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=str(shots / "cases-phone.png"), full_page=True)

        # Private: absent from the public matters page, shown with the token (kept in a cookie).
        page.goto(f"{base}/matters")
        assert PRIVATE_MATTER not in page.content()
        page.goto(f"{base}/matters?token={TOKEN}")
        assert "token=" not in page.url
        assert PRIVATE_MATTER in page.locator("table.matters").inner_text()

        assert dialogs == [] and errors == []
    for shot in sorted(shots.iterdir()):
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 1000
