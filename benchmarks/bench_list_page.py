"""How a list watched row by row (`list_page`) scales with its rows: parsing an HTML page of 200
and of 2,000 rows, and applying such a list to a real SQLite file (the baseline, the same list
again, and the list with 5% of its rows changed, 5% new and 5% gone).

    .venv/bin/python benchmarks/bench_list_page.py [--json] [--check]

The figures that matter are ratios within this run: 10x the rows should cost at most 15x the
time (nothing quadratic over the list), and applying an unchanged list should cost a fraction
of the baseline (no event, no row rewritten that did not change). `--check` exits 1 when the
scaling ratio is exceeded. Wall time, median of 3 runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.db import make_engine  # noqa: E402
from monitor.matching import Matcher  # noqa: E402
from monitor.migrate import upgrade  # noqa: E402
from monitor.store import Store  # noqa: E402
from sources.base import Fetched, ListSnapshot, Target  # noqa: E402
from sources.list_page import ListPage  # noqa: E402

TARGET_RATIO = 15.0
NOW = datetime(2026, 10, 1, tzinfo=UTC)
OPTIONS = {"url": "https://example.org/list", "rows": "tr.row",
           "fields": {"number": "td.n", "title": "td.t", "link": "td.t a@href", "date": "time"},
           "key": "number", "include": [r"(?i)287\(g\)|report"]}


def page(rows: int, *, changed: int = 0, shift: int = 0) -> bytes:
    """A table of `rows` rows; the first `changed` retitled; numbering shifted by `shift`."""
    body = []
    for i in range(shift, rows + shift):
        title = f"287(g) report {i}" + (" (revised)" if i - shift < changed else "")
        body.append(f'<tr class="row"><td class="n">R-{i:05}</td><td class="t">'
                    f'<a href="/r/{i}">{title}</a></td><td><time>2026-01-01</time></td></tr>')
    return f"<html><body><table>{''.join(body)}</table></body></html>".encode()


def median_seconds(action: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse(source: ListPage, body: bytes) -> ListSnapshot:
    snapshot = source.parse(Fetched(target=Target(key="list", url=OPTIONS["url"]),
                                    content=body))[0]
    assert isinstance(snapshot, ListSnapshot)
    return snapshot


def apply_figures(source: ListPage, rows: int) -> dict[str, float]:
    """Seconds to apply the baseline, the same list, and a list with 5% changed/new/gone."""
    baseline = parse(source, page(rows))
    moved = parse(source, page(rows, changed=rows // 20, shift=rows // 20))
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        store = Store(engine, Matcher([]))
        steps = [("baseline", baseline), ("unchanged", baseline), ("changed_5pct", moved)]
        for i, (name, snapshot) in enumerate(steps):
            start = time.perf_counter()
            store.apply([snapshot], source_id="bench", now=NOW + timedelta(hours=i))
            figures[name] = time.perf_counter() - start
        engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    args, _ = parser.parse_known_args(argv)  # `run.sh --each` passes every bench its args
    source = ListPage("bench", ListPage.Options(**OPTIONS), httpx.Client(), lambda: NOW)
    small, large = 200, 2000
    parse_small = median_seconds(lambda: parse(source, page(small)))
    parse_large = median_seconds(lambda: parse(source, page(large)))
    apply_small = apply_figures(source, small)
    apply_large = apply_figures(source, large)
    figures = {
        "parse_200_s": round(parse_small, 4), "parse_2000_s": round(parse_large, 4),
        "parse_ratio_10x_rows": round(parse_large / parse_small, 2),
        "apply_200": {k: round(v, 4) for k, v in apply_small.items()},
        "apply_2000": {k: round(v, 4) for k, v in apply_large.items()},
        "apply_baseline_ratio_10x_rows": round(apply_large["baseline"]
                                               / apply_small["baseline"], 2),
        "apply_unchanged_over_baseline_2000": round(apply_large["unchanged"]
                                                    / apply_large["baseline"], 3),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:40} {value}")
    worst = max(figures["parse_ratio_10x_rows"], figures["apply_baseline_ratio_10x_rows"])
    if args.check and worst > TARGET_RATIO:
        print(f"10x the rows cost {worst}x the time (target <= {TARGET_RATIO}x)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
