"""Source leases between daemons: split, never shared at once, taken over when a daemon dies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from monitor.cluster import Coordinator, source_lease_ttl
from monitor.db import make_engine
from monitor.leases import Owner
from monitor.migrate import upgrade
from tests.conftest import FixedClock

SOURCES = {name: timedelta(minutes=15) for name in ("a", "b", "c", "d")}


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    return engine


def _daemon(engine: Engine, clock: FixedClock, host: str) -> Coordinator:
    # Daemons on other machines: only their leases tell whether they live.
    return Coordinator(engine, clock, SOURCES, me=Owner(host, "boot", 1, "1"))


def test_daemons_split_the_sources_and_never_hold_one_together(tmp_path: Path,
                                                                clock: FixedClock) -> None:
    engine = _engine(tmp_path)
    first = _daemon(engine, clock, "host-a")
    first.beat()
    assert [first.take(s) for s in SOURCES] == [True] * 4  # alone, it polls everything
    second = _daemon(engine, clock, "host-b")
    second.beat()
    assert [second.take(s) for s in SOURCES] == [False] * 4  # all held
    clock.advance(minutes=15)
    first.beat()
    second.beat()
    # At its next turn the first lets go of what is over its share of two...
    assert [first.take(s) for s in SOURCES] == [False, False, True, True]
    # ...which the second takes; nothing is held by both.
    assert [second.take(s) for s in SOURCES] == [True, True, False, False]
    clock.advance(minutes=15)
    first.beat()
    second.beat()
    assert [first.take(s) for s in SOURCES] == [False, False, True, True]
    assert [second.take(s) for s in SOURCES] == [True, True, False, False]


def test_a_dead_daemons_sources_are_taken_over_within_a_lease(tmp_path: Path,
                                                              clock: FixedClock) -> None:
    engine = _engine(tmp_path)
    first, second = _daemon(engine, clock, "host-a"), _daemon(engine, clock, "host-b")
    first.beat()
    second.beat()
    assert [first.take(s) for s in ("a", "b")] == [True, True]
    assert [second.take(s) for s in ("c", "d")] == [True, True]
    # The first dies: no more beats, no more renewals.
    clock.advance(minutes=1)
    second.beat()
    assert not second.take("a")  # its lease still holds
    clock.advance(seconds=source_lease_ttl(SOURCES["a"]).total_seconds())
    second.beat()
    assert [second.take(s) for s in SOURCES] == [True] * 4


def test_a_daemon_that_leaves_hands_over_at_once(tmp_path: Path, clock: FixedClock) -> None:
    engine = _engine(tmp_path)
    first, second = _daemon(engine, clock, "host-a"), _daemon(engine, clock, "host-b")
    first.beat()
    assert first.take("a")
    first.leave()
    second.beat()
    assert second.take("a")
    with second.polling("a") as mine:
        assert mine
    with first.polling("a") as mine:
        assert not mine
