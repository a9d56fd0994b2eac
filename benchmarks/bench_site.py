"""The site's page weights and time to first byte, as ratios within one run.

Two databases are filled by real polls of a local PACER RSS feed (tests/fakes/feed_server.py):
10 cases and 1,000 cases (`--toy`: 100), each with a petition and a summons returned executed
(so each has an open deadline). Both are served on 127.0.0.1 by the real server
(`monitor.server.start_server`, uvicorn in a thread), and the script asks each page `--reps`
times (15), taking turns between pages so that a slow moment hits them alike.

- time to first byte: from sending the request to reading the status line and headers
  (`http.client`), median of the repetitions; the headline is the case list (`/cases`, 50 rows
  a page) at 1,000 cases, given as ratios against `/health` on the same server and against the
  case list at 10 cases;
- page weights: the bytes of each page as sent plain and with gzip (`Accept-Encoding: gzip`).

Targets (`--check` exits 1 when one is missed): the case list (50 rows) at 1,000 cases within
**8x /health**; a page of 10 rows at 1,000 cases within **3x the same page at 10 cases** (a
page must not cost what the whole table costs), the deadline agenda likewise within **3x**;
the case list page at most **25 kB gzipped**.

    .venv/bin/python benchmarks/bench_site.py [--toy] [--reps N] [--json] [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.server import start_server  # noqa: E402
from tests.cli_helpers import poll_once  # noqa: E402
from tests.conftest import FixedClock  # noqa: E402
from tests.fakes.feed_server import FeedServer, Item, rss  # noqa: E402

PAGES = ("/health", "/", "/cases", "/cases?limit=10", "/cases?q=sheriff",
         "/cases?state=DC&status=open",
         "/api/cases?limit=50", "/deadlines", "/agreements", "/static/site.css")
CASE_PAGE = "/cases/dcd/1:26-cv-00007"
TARGETS = {"cases_1000_vs_health": 8.0, "cases_1000_vs_10": 3.0, "deadlines_1000_vs_10": 3.0,
           "cases_gzip_kb": 25.0}


def items(n: int) -> list[Item]:
    """Two entries for each of n cases (every one matches the watch)."""
    out = []
    for i in range(n):
        docket, name = f"1:26-cv-{i:05d}", f"Doe {i} v. Sheriff of County {i % 97}"
        out.append(Item("dcd", docket, name, "PETITION for Writ of Mandamus", 1,
                        case_id=str(300000 + i)))
        out.append(Item("dcd", docket, name,
                        "SUMMONS Returned Executed as to United States Attorney", 4,
                        case_id=str(300000 + i)))
    return out


def fill(folder: Path, n: int) -> tuple[Path, FixedClock]:
    """A database of n cases filled by one real poll; returns its config and clock."""
    clock = FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC))
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", items(n)))
        cfg = folder / "config.toml"
        cfg.write_text(f"""
[database]
url = "sqlite:///{folder / 'monitor.db'}"
[feeds]
dir = "{folder / 'feeds'}"
[server]
port = 0
[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "{server.base}/{{court}}/rss"
[[watch]]
name = "mandamus"
tags = ["mandamus"]
entry_text = ["(?i)writ of mandamus"]
[[subscription]]
name = "nobody"
urls = ["json://127.0.0.1:9/"]
events = ["source.*"]
""")
        poll_once(str(cfg), clock)
    return cfg, clock


@contextlib.contextmanager
def serving(cfg: Path, clock: FixedClock) -> Iterator[int]:
    config = load_config(str(cfg))
    config = dataclasses.replace(config, server=config.server.model_copy(update={"port": 0}))
    app = App(config=config, clock=clock)
    server = start_server(app)
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        app.close()


def ask(port: int, path: str, gzip: bool = False) -> tuple[float, int, int]:
    """(seconds to the first byte, status, body bytes as sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        first = time.perf_counter() - start
        body = answer.read()
        return first, answer.status, len(body)
    finally:
        conn.close()


def measure(port: int, reps: int) -> dict[str, dict[str, float]]:
    pages = (*PAGES, CASE_PAGE)
    times: dict[str, list[float]] = {p: [] for p in pages}
    for path in pages:  # warm up: templates compiled, caches filled
        ask(port, path)
    for _ in range(reps):
        for path in pages:
            first, status, _ = ask(port, path)
            if status != 200:
                raise SystemExit(f"{path}: HTTP {status}")
            times[path].append(first)
    out = {}
    for path in pages:
        _, _, plain = ask(port, path)
        _, _, packed = ask(port, path, gzip=True)
        out[path] = {"ttfb_ms": statistics.median(times[path]) * 1000, "bytes": plain,
                     "gzip_bytes": packed}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toy", action="store_true", help="100 cases instead of 1,000")
    parser.add_argument("--cases", type=int, default=1000, help="the large size (1,000)")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    args, _ = parser.parse_known_args()
    logging.disable(logging.INFO)
    big = 100 if args.toy else args.cases
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        for n in (10, big):
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            started = time.perf_counter()
            cfg, clock = fill(folder, n)
            filled = time.perf_counter() - started
            with serving(cfg, clock) as port:
                results[n] = measure(port, args.reps)
            print(f"filled {n} cases by a real poll in {filled:.1f} s", file=sys.stderr)
    small, large = results[10], results[big]
    figures: dict[str, Any] = {
        "cases": big,
        "cases_1000_vs_health": large["/cases"]["ttfb_ms"] / large["/health"]["ttfb_ms"],
        "cases_1000_vs_10": large["/cases?limit=10"]["ttfb_ms"]
        / small["/cases?limit=10"]["ttfb_ms"],
        "deadlines_1000_vs_10": large["/deadlines"]["ttfb_ms"] / small["/deadlines"]["ttfb_ms"],
        "cases_gzip_kb": large["/cases"]["gzip_bytes"] / 1024,
        "pages": {str(n): r for n, r in results.items()},
    }
    print(f"{'page':32} {'ttfb@10':>9} {'ttfb@' + str(big):>10} {'bytes':>8} {'gzip':>7}")
    for path in large:
        print(f"{path:32} {small[path]['ttfb_ms']:8.1f}ms {large[path]['ttfb_ms']:8.1f}ms "
              f"{int(large[path]['bytes']):8d} {int(large[path]['gzip_bytes']):7d}")
    missed = []
    for key, limit in TARGETS.items():
        ok = figures[key] <= limit
        missed += [] if ok else [key]
        print(f"{key:32} {figures[key]:8.2f}  (target <= {limit}) {'ok' if ok else 'MISSED'}")
    if args.json:
        print(json.dumps(figures, indent=2))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
