"""The hostile-source test: one court per fault on a local server that misbehaves on purpose
(hang, drip, reset, 5xx, 429 with Retry-After, maintenance page with 200, truncated, bad
encoding, huge, entity bomb, redirect loop, empty), beside a good court of the same source and
a good second source.

Each round is bounded in time (the total deadline per request) and memory (the size cap while
streaming); no fault makes a false event; each failing court raises one `source.failing` when it
reaches `fail_after` (never before, never again), and one `source.recovered` when it heals; the
good court and the other source get every entry, once.
"""

from __future__ import annotations

import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from monitor.app import App
from monitor.config import load_config
from monitor.db import read_session
from monitor.models import Event
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.hostile_server import FAULTS, HostileServer

#: fault path -> court id of the hostile source (court ids are [a-z0-9]+)
COURT_OF = {"hang": "hang", "drip": "drip", "reset": "reset", "5xx": "err5xx",
            "429": "throttle", "maintenance": "maint", "truncated": "trunc",
            "bad-encoding": "badenc", "huge": "huge", "entity-bomb": "bomb",
            "redirect-loop": "loop", "empty": "empty"}
#: a feed with bad bytes is still read (the bytes are replaced), so that court does not fail
READABLE = {"badenc"}
FAILING = {court for court in COURT_OF.values() if court not in READABLE}
TIMEOUT_S = 1  # [http] timeout: the total deadline of one request
MAX_BYTES = 256 * 1024
#: faults that can use a whole deadline: hang and drip (the rest fail at once)
SLOW_FAULTS = 2

GOOD_1 = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
              "PETITION for Writ of Mandamus", 1, case_id="290001")
GOOD_2 = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
              "SUMMONS Returned Executed", 2, case_id="290001")
OTHER = Item("txsd", "4:26-cv-01234", "Roe v. Sheriff of Harris County (filler)",
             "PETITION for Writ of Mandamus", 1, case_id="350001")
EMPTY_FEED = rss("x", [])


def _config(tmp_path: Path, hostile: HostileServer, good: FeedServer) -> Path:
    feed_urls = ", ".join(f'{court} = "{hostile.url("/" + fault)}"'
                          for fault, court in COURT_OF.items())
    courts = ", ".join(f'"{c}"' for c in ["dcd", *COURT_OF.values()])
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[http]
timeout = "{TIMEOUT_S}s"
retries = 0

[[source]]
id = "hostile"
kind = "pacer_rss"
courts = [{courts}]
url_template = "{good.base}/{{court}}/rss"
feed_urls = {{ {feed_urls} }}
max_bytes = {MAX_BYTES}
fail_after = 2

[[source]]
id = "other"
kind = "pacer_rss"
courts = ["txsd"]
url_template = "{good.base}/{{court}}/rss"

[[watch]]
name = "any"
# Filler cases live in the faulty feeds: a fault that leaked an item would be discovered.
case_name = ["(?i)citizenship|filler|lol"]

[[subscription]]
name = "console"
urls = ["console://"]
""")
    return path


def _round(app: App) -> tuple[float, int]:
    """Poll both sources; (seconds, peak traced bytes)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        for source_id in ("hostile", "other"):
            app.runner.poll(source_id)
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return took, peak


def _new_events(app: App, seen: int) -> tuple[list[Event], int]:
    with read_session(app.engine) as session:
        rows = list(session.exec(select(Event).where(Event.id > seen).order_by(Event.id)).all())
    return rows, (rows[-1].id or seen) if rows else seen


def _kinds(events: list[Event]) -> Counter[str]:
    """Events by kind; deadlines derived from the good courts' entries are not counted (they
    must concern a good case, like every case and entry event)."""
    for event in events:
        if not event.kind.startswith("source."):
            assert str(event.subject).startswith(("dcd:1:26-cv-00412", "txsd:4:26-cv-01234")), \
                (event.kind, event.subject)
    return Counter(e.kind for e in events if not e.kind.startswith("deadline."))


def _targets(events: list[Event], kind: str) -> set[str]:
    return {str(e.data["target"]) for e in events if e.kind == kind}


@pytest.mark.e2e
def test_hostile_source(tmp_path: Path) -> None:
    assert set(COURT_OF) == set(FAULTS)
    clock = FixedClock(datetime(2026, 3, 26, 15, 0, tzinfo=UTC))
    with HostileServer(drip_every=0.2) as hostile, FeedServer() as good:
        good.set("/dcd/rss", rss("dcd", [GOOD_1]))
        good.set("/txsd/rss", rss("txsd", [OTHER]))
        app = App(config=load_config(str(_config(tmp_path, hostile, good))), clock=clock)
        try:
            # Warm up (migrations, the store, the deadline tables) on the good source, so the
            # rounds measure the fetches.
            app.runner.poll("other")
            events, seen = _new_events(app, 0)
            assert _kinds(events) == {"case.discovered": 1, "entry.added": 1}
            rounds: list[tuple[float, int]] = []

            # Round 1: every fault fails once; the good court is read.
            rounds.append(_round(app))
            events, seen = _new_events(app, seen)
            assert _kinds(events) == {"case.discovered": 1, "entry.added": 1}

            # Round 2: fail_after reached: one source.failing per faulty court; a new entry of
            # the good court arrives all the same.
            good.set("/dcd/rss", rss("dcd", [GOOD_1, GOOD_2]))
            clock.advance(minutes=15)
            rounds.append(_round(app))
            events, seen = _new_events(app, seen)
            assert _kinds(events) == {"source.failing": len(FAILING), "entry.added": 1}
            assert _targets(events, "source.failing") == FAILING

            # Round 3: still failing: nothing new (no second source.failing, no false entry).
            clock.advance(minutes=15)
            rounds.append(_round(app))
            events, seen = _new_events(app, seen)
            assert events == []

            # 30 s later, inside the 429's Retry-After (60 s): that court is not asked again,
            # and being deferred is no failure and no event.
            throttled = hostile.hit("/429")
            clock.advance(seconds=30)
            rounds.append(_round(app))
            events, seen = _new_events(app, seen)
            assert events == [] and hostile.hit("/429") == throttled

            # The server heals: one source.recovered per court that was failing.
            for fault in FAULTS:
                hostile.heal("/" + fault, EMPTY_FEED)
            clock.advance(minutes=15)
            rounds.append(_round(app))
            events, seen = _new_events(app, seen)
            assert _kinds(events) == {"source.recovered": len(FAILING)}
            assert _targets(events, "source.recovered") == FAILING

            # And then quiet.
            clock.advance(minutes=15)
            rounds.append(_round(app))
            events, seen = _new_events(app, seen)
            assert events == []
        finally:
            app.close()

    print("hostile rounds (seconds, peak bytes):",
          [(round(took, 2), peak) for took, peak in rounds])
    # Bounded: a failing round costs at most the slow faults' deadlines plus slack (the drip
    # alone would hold a round for 30 s, the huge body would be 64 MB).
    for took, peak in rounds[:4]:
        assert took < SLOW_FAULTS * TIMEOUT_S + 4.0, rounds
        assert peak < 16 * MAX_BYTES, rounds
    assert hostile.hit("/429") == len(rounds) - 1  # all rounds but the deferred one
