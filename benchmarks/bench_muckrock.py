"""What following a MuckRock multirequest costs: HTTP requests per round (cold: the listing plus
one lookup per agency and jurisdiction; warm: the listing pages only) and the store's time to
apply a round where nothing changed, at 30 requests and at 300.

    .venv/bin/python benchmarks/bench_muckrock.py [--json] [--check]

The figures that matter are ratios within this run: warm rounds must cost a small fraction of
the cold one in requests, and 10x the requests should cost at most 20x the apply time (one
round is linear in its requests). `--check` exits 1 when either does not hold. CPU time,
median of 3 runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.db import make_engine  # noqa: E402
from monitor.matching import Matcher  # noqa: E402
from monitor.migrate import upgrade  # noqa: E402
from monitor.store import Store  # noqa: E402
from sources.base import Observation, Plan, Runtime, TargetState  # noqa: E402
from sources.muckrock import MuckRock  # noqa: E402
from sources.muckrock._options import MuckRockOptions  # noqa: E402
from tests.conftest import FixedClock  # noqa: E402
from tests.fakes.muckrock_server import FakeMuckRock, FakeRequest  # noqa: E402

NOW = datetime(2026, 4, 20, 13, tzinfo=UTC)
TITLE = "ICE Detainers and 287(g) Policies"
MAX_TIME_RATIO = 20.0
MAX_WARM_SHARE = 0.1


def _fake(fake: FakeMuckRock, n: int) -> None:
    for s in range(1, 11):
        fake.add_jurisdiction(s, f"State {s}", level="s", abbrev=f"S{s}")
    for i in range(n):
        local = fake.add_jurisdiction(100 + i, f"County {i}", level="l", parent=1 + i % 10)
        agency = fake.add_agency(10_000 + i, f"County {i} Sheriff's Office", local)
        fake.add_request(FakeRequest(id=1 + i, title=f"{TITLE} (County {i})", agency=agency,
                                     user="u", status="ack", submitted=NOW))


def _round(src: MuckRock, plan: Plan) -> list[Observation]:
    out: list[Observation] = []
    for target in src.targets(plan):
        out += src.parse(src.fetch(target, TargetState()))
    return out


def measure(n: int, reps: int) -> dict[str, float]:
    clock = FixedClock(NOW)
    with FakeMuckRock(clock=clock, max_page_size=50) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        _fake(fake, n)
        options = MuckRockOptions.model_validate({
            "base_url": fake.base_url, "quota": {"per_minute": 100_000, "per_hour": 100_000,
                                                 "per_day": 1_000_000},
            "multirequest": [{"name": "m", "user": "u", "title": TITLE}]})
        src = MuckRock("mr", options, httpx.Client(timeout=10), clock, runtime=Runtime())
        engine = make_engine(f"sqlite:///{Path(tmp) / 'b.db'}")
        upgrade(engine)
        config = load_config(None, environ={"XDG_CONFIG_HOME": tmp})
        store = Store(engine, Matcher([]), config=config)
        cold = _round(src, Plan(now=NOW))
        cold_requests = sum(fake.requests.values())
        store.apply(cold, source_id="mr", now=NOW)
        times = []
        warm_requests = 0.0
        for _ in range(reps):
            before = sum(fake.requests.values())
            warm = _round(src, Plan(now=NOW))
            warm_requests = sum(fake.requests.values()) - before
            start = time.process_time()
            result = store.apply(warm, source_id="mr", now=NOW)
            times.append(time.process_time() - start)
            assert not result.events
        engine.dispose()
    return {"requests": n, "cold_requests": cold_requests, "warm_requests": warm_requests,
            "warm_apply_s": statistics.median(times)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    small, large = measure(30, args.reps), measure(300, args.reps)
    figures = {
        "small": small, "large": large,
        "warm_share_of_cold_requests": large["warm_requests"] / large["cold_requests"],
        "apply_time_ratio_10x": large["warm_apply_s"] / max(small["warm_apply_s"], 1e-9),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name in ("small", "large"):
            f = figures[name]
            print(f"{int(f['requests']):4} requests: cold round {int(f['cold_requests'])} HTTP "
                  f"requests, warm round {int(f['warm_requests'])}, warm apply "
                  f"{f['warm_apply_s'] * 1000:.1f} ms")
        print(f"warm/cold requests (300): {figures['warm_share_of_cold_requests']:.3f}; "
              f"apply time 300/30: {figures['apply_time_ratio_10x']:.1f}x")
    ok = (figures["warm_share_of_cold_requests"] <= MAX_WARM_SHARE
          and figures["apply_time_ratio_10x"] <= MAX_TIME_RATIO)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
