"""End to end over the real May 2025 lists and the lists derived from them: XLSX files on a local
server, `poll --once` with an injected clock, email to a real SMTP server, the Atom feeds on
disk, `agreements --history` and `--snapshots`. Subscribers hear the renames and the real
events only: no false ending, no false new agreement, no absence before it is confirmed."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from sources.base import AgreementRow
from tests.agreement_scenario import build
from tests.cli_helpers import event_rows, poll_once, run_json
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer
from tests.fakes.smtp import smtp_server
from tests.test_agreement_scenario import HEADER, real_rows

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
START = datetime(2026, 3, 2, 12, tzinfo=UTC)


def workbook(rows: list[AgreementRow]) -> bytes:
    """An ICE-style list: a title row, the header, the MOA behind a "link" hyperlink."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["287(g) Participating Agencies"])
    sheet.append(list(HEADER))
    for r in rows:
        sheet.append([r.state, r.agency, r.type, r.county, r.support_type, r.signed,
                      "link" if r.moa_url else "link pending"])
        if r.moa_url:
            sheet.cell(row=sheet.max_row, column=7).hyperlink = r.moa_url
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.corpus
@pytest.mark.e2e
def test_subscribers_and_feeds_get_renames_and_real_events_only(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    participating, pending = real_rows(corpus)
    scenario = build(participating, pending)
    clock = FixedClock(START)
    with FeedServer() as server, smtp_server() as smtp:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"
max_entries = 1000

[[source]]
id = "ice-287g"
kind = "ice_287g"
participating_url = "{server.url('/participating.xlsx')}"
pending_url = "{server.url('/pending.xlsx')}"

[[watch]]
name = "none"
case_name = ["(?i)no case is named like this"]

[[subscription]]
name = "advocates"
urls = ["{smtp.apprise_url()}"]
events = ["*"]
""")
        mails_per_step = []
        for step in scenario.steps:
            server.set("/participating.xlsx", workbook(step.participating), XLSX)
            server.set("/pending.xlsx", workbook(step.pending), XLSX)
            clock.now = START + timedelta(hours=step.hours)
            before = len(smtp.received)
            poll_once(str(cfg), clock)
            mails_per_step.append(len(smtp.received) - before)
        events = event_rows(str(cfg), clock, capsys)

    later = [e for e in events if not e["data"].get("baseline")]
    kinds = Counter(e["kind"] for e in later)
    subjects = Counter(str(m.message["Subject"]) for m in smtp.received)
    with capsys.disabled():
        print(f"\ne2e: events after the baseline {dict(kinds)}; mails per snapshot "
              f"{mails_per_step}; {len(smtp.received)} mails")
    assert mails_per_step[0] == 0  # the baseline is stored, not mailed
    # every later event is mailed once, except the absences that are not yet endings
    mailed = sum(n for kind, n in kinds.items() if kind != "agreement.missing")
    assert len(smtp.received) == mailed
    assert not any("missing" in s.lower() for s in subjects)
    assert sum(n for s, n in subjects.items() if "renamed" in s) == len(scenario.renames)
    assert kinds["agreement.renamed"] == len(scenario.renames)
    assert kinds["agreement.removed"] == len(scenario.endings)
    assert kinds["agreement.added"] == len(scenario.new)
    added = sorted(e["data"]["agency"] for e in later if e["kind"] == "agreement.added")
    assert added == sorted(scenario.new)
    removed = sorted(e["data"]["agency"] for e in later if e["kind"] == "agreement.removed")
    assert removed == sorted(scenario.endings)
    assert mails_per_step[3] == 0  # the broken file, fetched again: nothing

    feed = feedparser.parse((tmp_path / "feeds" / "agreements.atom").read_bytes())
    titles = Counter(entry.title.split(":")[0] for entry in feed.entries)
    summaries = " ".join(entry.get("summary", "") for entry in feed.entries)
    assert not any("missing" in title.lower() for title in titles)
    renamed_entries = [e for e in feed.entries if "renamed" in e.title.lower()]
    assert len(renamed_entries) == len(scenario.renames)
    for _, old, new in scenario.renames:
        assert old.strip() in summaries and new.strip() in summaries
    removed_entries = [e for e in feed.entries if "removed" in e.title.lower()]
    assert len(removed_entries) == len(scenario.endings)

    # the typo'd agency's life: both names, each snapshot file it came from, two renames
    _, typo_name, right_name = scenario.renames[-1]
    history = run_json(["--config", str(cfg), "agreements", "--history", right_name],
                       clock, capsys)
    mine = [h for h in history if h["agency"] == right_name]
    assert len(mine) == 1
    life = mine[0]
    assert life["names"] == [right_name, typo_name]
    assert [e["kind"] for e in life["events"]] == ["agreement.added"] + [
        "agreement.renamed"] * 4  # the typo made, fixed, made, fixed
    assert all(v["first"]["url"].startswith("http://127.0.0.1") for v in life["versions"])
    assert sum(v["snapshots"] for v in life["versions"]) == 5  # 7 fetches, 2 quarantined
    ended = run_json(["--config", str(cfg), "agreements", "--history", scenario.endings[0]],
                     clock, capsys)
    absences = [v for v in ended[0]["versions"] if v["kind"] == "absent"]
    assert sum(v["snapshots"] for v in absences) == 3
    snapshots = run_json(["--config", str(cfg), "agreements", "--snapshots", "--status",
                          "participating"], clock, capsys)
    assert [s["status"] for s in snapshots] == [
        "baseline", "applied", "quarantined", "quarantined", "applied", "applied", "applied"]
    assert any("duplicate" in n for n in snapshots[1]["notes"])
