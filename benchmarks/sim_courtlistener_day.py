"""A simulated day of the CourtListener source on the free quota (a script, not a test).

100 tracked dockets (30 with a deadline 1-30 days away), a fake CourtListener on loopback that
throttles at 5/min, 50/h, 125/day on the same injected clock, the real ledger quota on a SQLite
file, and the source polled every 10 minutes for 24 simulated hours (no sleeping). During the
day filings arrive on random dockets (half of them also seen by RSS, which marks the case as
freshly active) and some dockets are re-indexed without a filing.

Run: ``.venv/bin/python benchmarks/sim_courtlistener_day.py [--cold] [--seed N] [--push
[--subscribe]]`` (``--cold``: no docket synced before; default: each synced once in the
previous day). ``--push``: the source may subscribe (a reachable webhook endpoint): the fake
pushes a docket-alert webhook for each filing on a docket with an alert, which the simulated
core parses as the daemon's endpoint does (no request spent); by default each docket already
has its alert from an earlier day (the source lists and adopts them at start), with
``--subscribe`` none has (the source creates them during the day, on the same budget).

Prints: requests made, 429s received (must be 0), the busiest rolling windows, checks per
docket grouped by deadline nearness, and how long new filings took to be seen.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from monitor.db import make_engine  # noqa: E402
from monitor.quota import Quota  # noqa: E402
from sources.base import (  # noqa: E402
    CaseObservation,
    Fetched,
    Plan,
    QuotaLimits,
    Runtime,
    Target,
    TargetState,
    TrackedCase,
)
from sources.courtlistener import CourtListener  # noqa: E402
from sources.courtlistener._sync import docket_sync  # noqa: E402
from sources.request_budget import QuotaDeferred  # noqa: E402
from tests.fakes.courtlistener_server import FakeCourtListener  # noqa: E402

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
ROUND = timedelta(minutes=10)
FREE = QuotaLimits(per_minute=5, per_hour=50, per_day=125)
TOKEN = "sim-token"
GROUPS = [("due in 1-3 days", 1, 3), ("due in 4-7 days", 4, 7), ("due in 8-14 days", 8, 14),
          ("due in 15-30 days", 15, 30)]


class SimClock:
    """The one clock of the simulation: the source, the quota and the fake server read it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Filing:
    """A filing that appears during the day, and when the source first reported it."""

    at: datetime
    docket_id: int
    entry_number: int
    seen_by_rss: bool
    reported: datetime | None = None


def group_of(due_in: int | None) -> str:
    if due_in is None:
        return "no deadline"
    return next(name for name, low, high in GROUPS if low <= due_in <= high)


def setup_dockets(fake: FakeCourtListener, rng: random.Random) -> dict[int, int | None]:
    """100 dockets with history; returns docket id -> days to deadline (None: no deadline)."""
    due_in: dict[int, int | None] = {}
    for n in range(100):
        filed = START.date() - timedelta(days=rng.randint(20, 400))
        docket_id = fake.add_docket("dcd", f"1:25-cv-{n + 1:05d}", f"Petitioner {n} v. Noem",
                                    cause="28:1361 Petition for Writ of Mandamus",
                                    nature_of_suit="Other Immigration Actions", date_filed=filed)
        for i in range(1, rng.randint(2, 6)):
            fake.add_entry(docket_id, i, filed + timedelta(days=i), f"Entry {i}",
                           short_description=f"Entry {i}")
        due_in[docket_id] = (n + 1) if n < 30 else None
    return due_in


def schedule_activity(due_in: dict[int, int | None], rng: random.Random) -> list[Filing]:
    """25 filings over the day, deadline dockets twice as likely to see one."""
    ids = list(due_in)
    weights = [2.0 if due_in[i] is not None else 1.0 for i in ids]
    filings = []
    for k in range(25):
        docket_id = rng.choices(ids, weights)[0]
        at = START + timedelta(minutes=rng.randint(0, 23 * 60))
        filings.append(Filing(at, docket_id, 100 + k, seen_by_rss=k % 2 == 0))
    return sorted(filings, key=lambda f: f.at)


def initial_tracked(
    fake: FakeCourtListener, due_in: dict[int, int | None], rng: random.Random, cold: bool
) -> dict[int, TrackedCase]:
    tracked = {}
    for docket_id, days in due_in.items():
        docket = fake.dockets[docket_id]
        stamp = fake._docket_json(docket)["date_modified"]
        synced = None if cold else START - timedelta(minutes=rng.randint(10, 24 * 60))
        tracked[docket_id] = TrackedCase(
            court=docket.court, docket_number=docket.docket_number, cl_docket_id=docket_id,
            next_due=START.date() + timedelta(days=days) if days is not None else None,
            last_synced=synced, last_modified_seen="" if cold else stamp)
    return tracked


def subscribe_all(fake: FakeCourtListener, dockets: Sequence[int]) -> None:
    """Each docket's alert, made on an earlier day (not counted in today's requests)."""
    for docket_id in dockets:
        fake.subscribe(docket_id)


def pushed_to(source: CourtListener, clock: SimClock, tracked: dict[int, TrackedCase],
              filings: list[Filing]) -> Callable[[bytes, str], None]:
    """The daemon's webhook endpoint, simulated: parse the push, note it on its cases."""
    def receive(body: bytes, key: str) -> None:
        pushed = Fetched(target=Target(key="webhook", url=""), content=body,
                         fetched_at=clock.now)
        observations = source.parse(pushed)
        for obs in observations:
            if isinstance(obs, CaseObservation) and obs.cl_docket_id in tracked:
                tracked[obs.cl_docket_id] = replace(
                    tracked[obs.cl_docket_id], last_push=clock.now, last_activity=clock.now)
        mark_reported(observations, filings, clock.now)
    return receive


def run(cold: bool, seed: int, push: bool = False, subscribe: bool = False) -> None:
    rng = random.Random(seed)
    clock = SimClock(START - timedelta(days=2))
    with tempfile.TemporaryDirectory() as tmp, FakeCourtListener(
        token=TOKEN, clock=clock, per_minute=FREE.per_minute, per_hour=FREE.per_hour,
        per_day=FREE.per_day,
    ) as fake:
        due_in = setup_dockets(fake, rng)
        filings = schedule_activity(due_in, rng)
        clock.now = START
        tracked = initial_tracked(fake, due_in, rng, cold)
        if push and not subscribe:
            subscribe_all(fake, list(tracked))
        engine = make_engine(f"sqlite:///{tmp}/sim.db")
        SQLModel.metadata.create_all(engine)
        quota = Quota(engine, "cl", FREE)
        options = CourtListener.Options.model_validate({
            "base_url": fake.base_url, "token_env": "CL_TOKEN",
            "query": [{"name": "mandamus", "type": "d", "cause": "28:1361"}]})
        with httpx.Client(timeout=5) as client:
            runtime = Runtime(secrets={"token": TOKEN}, gate=quota.gate(clock), push=push)
            source = CourtListener("cl", options, client, clock, runtime=runtime)
            if push:
                fake.push_sink = pushed_to(source, clock, tracked, filings)
            checks = simulate(source, fake, clock, tracked, filings)
        report(fake, quota, checks, due_in, filings, cold)
        if push:
            report_push(fake, subscribe)


def simulate(source: CourtListener, fake: FakeCourtListener, clock: SimClock,
             tracked: dict[int, TrackedCase], filings: list[Filing]) -> dict[int, int]:
    """Play the core: one round every 10 minutes for a day."""
    checks = {docket_id: 0 for docket_id in tracked}
    pending = list(filings)
    last_run: datetime | None = None
    while clock.now < START + timedelta(days=1):
        while pending and pending[0].at <= clock.now:
            filing = pending.pop(0)
            fake.add_entry(filing.docket_id, filing.entry_number, filing.at.date(),
                           f"Filing {filing.entry_number}",
                           short_description=f"Filing {filing.entry_number}")
            if filing.seen_by_rss:
                tracked[filing.docket_id] = replace(tracked[filing.docket_id],
                                                    last_activity=filing.at)
        if rng_touch(clock.now):
            fake.touch_docket(list(tracked)[clock.now.hour * 3 % len(tracked)])
        plan = Plan(now=clock.now, tracked=tuple(tracked.values()), last_run=last_run)
        one_round(source, plan, tracked, checks, filings)
        last_run = clock.now
        clock.now += ROUND
    return checks


def rng_touch(now: datetime) -> bool:
    """A re-index without filing every other hour."""
    return now.minute == 0 and now.hour % 2 == 0


def one_round(source: CourtListener, plan: Plan, tracked: dict[int, TrackedCase],
              checks: dict[int, int], filings: list[Filing]) -> None:
    for target in source.targets(plan):
        try:
            fetched = source.fetch(target, TargetState())
        except QuotaDeferred:
            return
        observations = source.parse(fetched)
        sync = docket_sync(fetched)
        if sync is not None:
            if not target.context.get("resumed"):
                checks[sync.cl_docket_id] += 1
            case = tracked[sync.cl_docket_id]
            tracked[sync.cl_docket_id] = replace(
                case, last_synced=plan.now,
                last_modified_seen=sync.date_modified or case.last_modified_seen)
        mark_reported(observations, filings, plan.now)


def mark_reported(observations: Sequence[object], filings: list[Filing], now: datetime) -> None:
    seen = {(o.cl_docket_id, e.entry_number) for o in observations
            if isinstance(o, CaseObservation) for e in o.entries}
    for filing in filings:
        if filing.reported is None and (filing.docket_id, filing.entry_number) in seen:
            filing.reported = now


def report(fake: FakeCourtListener, quota: Quota, checks: dict[int, int],
           due_in: dict[int, int | None], filings: list[Filing], cold: bool) -> None:
    times = sorted(r.at for r in fake.log if r.status != 429)
    print(f"start: {'cold (never synced)' if cold else 'warm (each synced in the last day)'}")
    print(f"rounds: {int(timedelta(days=1) / ROUND)} (every {ROUND})")
    print(f"requests made: {fake.count()}  (search {fake.count('search/')}, dockets "
          f"{fake.count('dockets/')}, docket-entries {fake.count('docket-entries/')})")
    print(f"429s received: {fake.throttled}")
    seen = sum(1 for f in filings if f.reported)
    print(f"filings seen by the end of the day: {seen}/{len(filings)}")
    for name, length in (("minute", timedelta(minutes=1)), ("hour", timedelta(hours=1))):
        busiest = max((sum(1 for s in times if t - length < s <= t) for t in times), default=0)
        print(f"busiest rolling {name}: {busiest}")
    print(f"quota at the end: {quota.remaining(START + timedelta(days=1))}")
    print("checks per docket (dockets/<id>/ requests), by deadline nearness at the start:")
    names = [g[0] for g in GROUPS] + ["no deadline"]
    for name in names:
        members = [checks[i] for i, days in due_in.items() if group_of(days) == name]
        print(f"  {name:18} dockets {len(members):3}  checks/docket mean "
              f"{statistics.mean(members):5.2f}  min {min(members)}  max {max(members)}")
    print("new filings: hours until reported, by deadline nearness:")
    for name in names:
        delays = [(f.reported - f.at).total_seconds() / 3600 for f in filings
                  if group_of(due_in[f.docket_id]) == name and f.reported]
        missing = sum(1 for f in filings if group_of(due_in[f.docket_id]) == name
                      and not f.reported)
        if delays or missing:
            mean = f"{statistics.mean(delays):5.1f}" if delays else "  -  "
            print(f"  {name:18} filings {len(delays) + missing:2}  mean {mean} h  "
                  f"not yet reported {missing}")
    rss = [(f.reported - f.at).total_seconds() / 3600 for f in filings
           if f.seen_by_rss and f.reported]
    if rss:
        print(f"  (filings RSS had flagged: mean {statistics.mean(rss):.1f} h)")


def report_push(fake: FakeCourtListener, subscribe: bool) -> None:
    listed = fake.count_method("GET", "docket-alerts/") + fake.count_method("GET", "alerts/")
    start = "subscribing during the day" if subscribe else "alerts from an earlier day"
    print(f"push: {start}; webhooks pushed {fake.pushed}; alerts at the end: docket "
          f"{len(fake.docket_alerts)}, search {len(fake.search_alerts)}; alert requests: "
          f"list {listed}, create {fake.count_method('POST')}, "
          f"delete {fake.count_method('DELETE')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="no docket synced before")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--push", action="store_true", help="subscribe; filings are pushed")
    parser.add_argument("--subscribe", action="store_true",
                        help="with --push: no alert exists yet (created during the day)")
    args = parser.parse_args()
    run(args.cold, args.seed, push=args.push, subscribe=args.subscribe)


if __name__ == "__main__":
    main()

