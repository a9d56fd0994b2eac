"""The shared request quota on a real SQLite file: windows, rolling, Retry-After, two processes."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.db import make_engine, read_session
from monitor.models import ApiRequest, SourceState
from monitor.quota import Quota
from sources.base import QuotaLimits

FREE = QuotaLimits(per_minute=5, per_hour=50, per_day=125)
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def new_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    return engine


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.db"
    new_engine(path).dispose()
    return path


def ledger(engine: Engine, source_id: str = "cl") -> list[datetime]:
    with read_session(engine) as session:
        rows = session.exec(select(ApiRequest.at).where(ApiRequest.source_id == source_id))
        return sorted(at.replace(tzinfo=UTC) for at in rows)


def max_in_window(times: list[datetime], length: timedelta) -> int:
    """The most requests any window of `length` (ending at a request) ever held."""
    return max((sum(1 for s in times if t - length < s <= t) for t in times), default=0)


@pytest.mark.parametrize("pace", [False, True])
def test_never_exceeds_any_window(db: Path, pace: bool) -> None:
    engine = new_engine(db)
    quota = Quota(engine, "cl", FREE, pace=pace)
    rng = random.Random(7)
    now = START
    while now < START + timedelta(days=2):
        for _ in range(rng.randint(0, 4)):
            quota.try_acquire(now, "dockets/1/")
        now += timedelta(seconds=rng.randint(1, 600))
    times = ledger(engine)
    assert max_in_window(times, timedelta(minutes=1)) <= 5
    assert max_in_window(times, timedelta(hours=1)) <= 50
    assert max_in_window(times, timedelta(days=1)) <= 125
    assert len(times) >= 200  # two days of budget were actually spent


def test_minute_window_rolls(db: Path) -> None:
    quota = Quota(new_engine(db), "cl", FREE, pace=False)
    assert [quota.try_acquire(START, "search/") for _ in range(6)] == [True] * 5 + [False]
    assert not quota.try_acquire(START + timedelta(seconds=59), "search/")
    assert quota.try_acquire(START + timedelta(seconds=61), "search/")


def test_hour_and_day_windows_roll(db: Path) -> None:
    quota = Quota(new_engine(db), "cl", QuotaLimits(100, 10, 15), pace=False)
    at = [START + timedelta(minutes=i) for i in range(12)]
    granted = [quota.try_acquire(t, "x") for t in at]
    assert granted == [True] * 10 + [False] * 2
    assert quota.try_acquire(START + timedelta(hours=1, minutes=1), "x")  # the hour rolled
    later = START + timedelta(hours=2)
    assert sum(quota.try_acquire(later + timedelta(minutes=i), "x") for i in range(10)) == 4
    assert not quota.try_acquire(START + timedelta(hours=23, minutes=59), "x")
    assert quota.try_acquire(START + timedelta(days=1, minutes=1), "x")  # the day rolled


def test_remaining_reports_each_window(db: Path) -> None:
    quota = Quota(new_engine(db), "cl", FREE, pace=False)
    for i in range(3):
        quota.try_acquire(START + timedelta(seconds=i), "x")
    quota.try_acquire(START - timedelta(minutes=30), "x")
    left = quota.remaining(START + timedelta(seconds=5))
    assert left["minute"] == {"used": 3, "left": 2, "limit": 5}
    assert left["hour"] == {"used": 4, "left": 46, "limit": 50}
    assert left["day"] == {"used": 4, "left": 121, "limit": 125}


def test_two_quota_objects_share_the_ledger(db: Path) -> None:
    first = Quota(new_engine(db), "cl", FREE, pace=False)
    second = Quota(new_engine(db), "cl", FREE, pace=False)
    assert all(first.try_acquire(START, "a") for _ in range(3))
    assert second.remaining(START)["minute"]["used"] == 3
    assert [second.try_acquire(START, "b") for _ in range(3)] == [True, True, False]
    assert not first.try_acquire(START, "a")
    other_source = Quota(new_engine(db), "other", FREE, pace=False)
    assert other_source.try_acquire(START, "a")  # each source has its own budget


def test_concurrent_processes_never_overspend(db: Path) -> None:
    quotas = [Quota(new_engine(db), "cl", QuotaLimits(20, 100, 1000), pace=False)
              for _ in range(4)]
    granted: list[bool] = []
    lock = threading.Lock()

    def hammer(quota: Quota) -> None:
        for _ in range(15):
            ok = quota.try_acquire(START, "x")
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=hammer, args=(q,)) for q in quotas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 20 and len(granted) == 60
    assert len(ledger(quotas[0].engine)) == 20


def test_retry_after_is_stored_and_honoured(db: Path) -> None:
    engine = new_engine(db)
    quota = Quota(engine, "cl", FREE, kind="courtlistener")
    quota.defer(START + timedelta(minutes=2))
    quota.defer(START + timedelta(minutes=1))  # an earlier time does not shorten the wait
    other = Quota(new_engine(db), "cl", FREE)
    assert not other.try_acquire(START + timedelta(seconds=119), "x")
    assert other.try_acquire(START + timedelta(seconds=120), "x")
    assert quota.not_before() == START + timedelta(minutes=2)
    with read_session(engine) as session:
        (row,) = session.exec(select(SourceState).where(SourceState.source_id == "cl")).all()
    assert row.target == "" and row.kind == "courtlistener"


def test_pacing_spreads_the_day(db: Path) -> None:
    quota = Quota(new_engine(db), "cl", FREE)
    now = START
    while now < START + timedelta(days=1):
        quota.try_acquire(now, "x")
        quota.try_acquire(now, "x")
        now += timedelta(minutes=10)
    times = ledger(quota.engine)
    assert 115 <= len(times) <= 125
    assert max_in_window(times, timedelta(hours=1)) <= 11
    first_hours = sum(1 for t in times if t < START + timedelta(hours=4))
    assert first_hours <= 30  # greedy would have taken 125 in the first three hours


def test_gate_binds_a_clock(db: Path) -> None:
    quota = Quota(new_engine(db), "cl", FREE, pace=False)
    moments = iter([START, START + timedelta(seconds=1)])
    gate = quota.gate(lambda: next(moments))
    assert gate.acquire("dockets/5/")
    gate.defer(START + timedelta(minutes=5))
    assert not gate.acquire("dockets/5/")
    assert ledger(quota.engine) == [START]


def test_old_rows_are_pruned(db: Path) -> None:
    quota = Quota(new_engine(db), "cl", FREE, pace=False)
    quota.try_acquire(START, "x")
    quota.try_acquire(START + timedelta(days=8), "x")
    assert ledger(quota.engine) == [START + timedelta(days=8)]
