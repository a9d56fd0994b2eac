"""Parse throughput of the PACER RSS parser: ours vs juriscraper vs an lxml floor, in one run.

    .venv/bin/python benchmarks/bench_pacer_rss.py [--reps 7] [--min-time 0.3] [--json] [--check]

- ours: `sources.pacer_rss.parse_feed` on every corpus/pacer_rss/**/*.xml, in the project venv;
- juriscraper: `PacerRssFeed` (feedparser) on the same bytes, in its own venv
  (benchmarks/.venv-juriscraper, created on first use: juriscraper pins its own lxml and
  pydantic), run as a subprocess of this script that reports its timing as JSON;
- floor: lxml parsing the same bytes and reading each item's title, link, description and
  pubDate with findtext: what any lxml-based RSS reader must at least do.

Each side runs `--reps` repetitions; a repetition parses the whole corpus as many times as fits
in `--min-time` seconds; the median repetition counts. Targets: ours >= 25x juriscraper, and
ours within 2.5x of the floor. `--check` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
JURISCRAPER_VENV = HERE / ".venv-juriscraper"
TARGET_VS_JURISCRAPER = 25.0
TARGET_VS_FLOOR = 2.5
#: CPU time of this process: on a shared machine, other jobs' load does not count against us
#: (all three parsers are single-threaded, so CPU time is their run time on an idle machine).
CLOCK = time.process_time


def find_corpus() -> Path:
    """The corpus: $COURT_MONITOR_CORPUS, else ../shared/corpus beside the checkout."""
    env = os.environ.get("COURT_MONITOR_CORPUS", "")
    for path in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "corpus"]:
        if (path / "pacer_rss").is_dir():
            return path
    sys.exit("corpus not found: set COURT_MONITOR_CORPUS or put shared/ beside the checkout")


def load_feeds(corpus: Path) -> list[tuple[str, str, bytes]]:
    """(name, court, bytes) of every recorded feed, in a stable order."""
    feeds = []
    for path in sorted((corpus / "pacer_rss").rglob("*.xml")):
        court = path.stem.split("_", 1)[0]
        if court == "rss":  # courtlistener/rss_sample_unnumbered_mdb.xml
            court = "mdb"
        feeds.append((path.stem, court, path.read_bytes()))
    return feeds


def measure(
    sides: dict[str, Callable[[], int]], reps: int, min_time: float
) -> dict[str, dict[str, float]]:
    """Median items/sec of each side over `reps` repetitions (each `run_once` returns the items
    it parsed). Sides take turns within each repetition, so a busy moment on a shared machine
    hits them alike."""
    loops: dict[str, int] = {}
    items: dict[str, int] = {}
    for name, run_once in sides.items():
        items[name] = run_once()  # warm-up: imports, caches, regex compilation
        start = CLOCK()
        run_once()
        loops[name] = max(1, int(min_time / max(CLOCK() - start, 1e-6)))
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(reps):
        for name, run_once in sides.items():
            gc.collect()
            start = CLOCK()
            for _ in range(loops[name]):
                run_once()
            rates[name].append(items[name] * loops[name] / (CLOCK() - start))
    return {
        name: {
            "items_per_sec": statistics.median(r),
            "min": min(r),
            "max": max(r),
            "items_per_pass": items[name],
            "loops_per_rep": loops[name],
            "reps": reps,
        }
        for name, r in rates.items()
    }


# ---------------------------------------------------------------------------- our side


def ours_runner(
    feeds: list[tuple[str, str, bytes]], items: int, warm: bool = False
) -> Callable[[], int]:
    """One pass of our parser over the corpus (`warm`: keep its memos from pass to pass)."""
    sys.path.insert(0, str(ROOT))
    from sources import pacer_rss

    # The parser memoizes titles, links and zones across calls (a court's feed repeats itself
    # from poll to poll); the headline figure empties those memos before every pass, so that
    # repeating the same corpus does not flatter us. `warm` shows the re-poll case.
    memos = [] if warm else [
        v for v in vars(pacer_rss).values() if callable(getattr(v, "cache_clear", None))
    ]

    def run_once() -> int:
        for memo in memos:
            memo.cache_clear()
        # Items merge into entries and cases, so every side reports the corpus's XML items
        # (the same denominator for all three).
        for _, court, content in feeds:
            pacer_rss.parse_feed(content, court=court)
        return items

    return run_once


def floor_runner(feeds: list[tuple[str, str, bytes]]) -> Callable[[], int]:
    """One pass of the floor: lxml parse, then findtext of the four fields of every item."""
    from lxml import etree

    def run_once() -> int:
        count = 0
        for _, _, content in feeds:
            parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
            root = etree.fromstring(content, parser)
            for item in root.iter("item"):
                item.findtext("title")
                item.findtext("link")
                item.findtext("description")
                item.findtext("pubDate")
                count += 1
        return count

    return run_once


def count_items(feeds: list[tuple[str, str, bytes]]) -> int:
    from lxml import etree

    return sum(
        sum(1 for _ in etree.fromstring(content, etree.XMLParser(recover=True)).iter("item"))
        for _, _, content in feeds
    )


# ---------------------------------------------------------------------------- juriscraper side


def juriscraper_worker(corpus: Path, items: int, reps: int, min_time: float) -> None:
    """Runs inside the juriscraper venv: time PacerRssFeed on the corpus, print JSON."""
    from juriscraper.pacer.rss_feeds import PacerRssFeed

    feeds = load_feeds(corpus)
    readers = {court: PacerRssFeed(court) for court in {court for _, court, _ in feeds}}

    def run_once() -> int:
        for _, court, content in feeds:
            reader = readers[court]
            reader._clear_caches()
            reader._data = None
            reader._parse_text(content)  # feedparser on the same bytes
            assert reader.data is not None
        return items

    timing = measure({"juriscraper": run_once}, reps, min_time)["juriscraper"]
    result: dict[str, object] = dict(timing)
    from importlib.metadata import version

    result["version"] = version("juriscraper")
    print(json.dumps(result))


def ensure_juriscraper_venv() -> Path:
    """The juriscraper venv's python, creating the venv on first use."""
    python = JURISCRAPER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {JURISCRAPER_VENV} (pip install juriscraper) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(JURISCRAPER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "juriscraper"], check=True)
    return python


def bench_juriscraper(
    corpus: Path, items: int, reps: int, min_time: float
) -> dict[str, float]:
    python = ensure_juriscraper_venv()
    out = subprocess.run(
        [str(python), __file__, "--juriscraper-worker", "--corpus", str(corpus),
         "--items", str(items), "--reps", str(reps), "--min-time", str(min_time)],
        check=True, capture_output=True, text=True, cwd=str(HERE),
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition")
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--no-juriscraper", action="store_true")
    ap.add_argument("--juriscraper-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--items", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    corpus = args.corpus or find_corpus()
    if args.juriscraper_worker:
        juriscraper_worker(corpus, args.items, args.reps, args.min_time)
        return 0

    feeds = load_feeds(corpus)
    items = count_items(feeds)
    results: dict[str, object] = {
        "files": len(feeds),
        "bytes": sum(len(c) for _, _, c in feeds),
        "items": items,
    }
    measured = measure(
        {
            "ours": ours_runner(feeds, items),
            "ours_warm": ours_runner(feeds, items, warm=True),
            "floor": floor_runner(feeds),
        },
        args.reps,
        args.min_time,
    )
    ours, floor = measured["ours"], measured["floor"]
    results.update(ours=ours, ours_warm=measured["ours_warm"], floor=floor)
    ok = True
    floor_ratio = floor["items_per_sec"] / ours["items_per_sec"]
    results["floor_over_ours"] = floor_ratio
    ok &= floor_ratio <= TARGET_VS_FLOOR
    if not args.no_juriscraper:
        js = bench_juriscraper(corpus, items, args.reps, args.min_time)
        results["juriscraper"] = js
        ratio = ours["items_per_sec"] / js["items_per_sec"]
        results["ours_over_juriscraper"] = ratio
        ok &= ratio >= TARGET_VS_JURISCRAPER
    results["targets_met"] = ok

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
    return 1 if args.check and not ok else 0


def print_report(r: dict[str, object]) -> None:
    def line(name: str, side: object) -> None:
        assert isinstance(side, dict)
        print(f"  {name:<12} {side['items_per_sec']:>12,.0f} items/s "
              f"(min {side['min']:,.0f}, max {side['max']:,.0f}; "
              f"{side['reps']} reps x {side['loops_per_rep']} passes)")

    print(f"pacer_rss parse: {r['files']} files, {r['bytes']:,} bytes, {r['items']} items per pass")
    line("ours", r["ours"])
    line("ours (warm)", r["ours_warm"])
    line("floor (lxml)", r["floor"])
    if "juriscraper" in r:
        js = r["juriscraper"]
        assert isinstance(js, dict)
        line(f"juriscraper {js.get('version', '')}".strip()[:12], js)
        print(f"  ours / juriscraper = {r['ours_over_juriscraper']:.1f}x "
              f"(target >= {TARGET_VS_JURISCRAPER:g}x)")
    print(f"  floor / ours       = {r['floor_over_ours']:.2f}x (target <= {TARGET_VS_FLOOR:g}x)")
    print("  (items/s in CPU time; 'ours' parses with its memos emptied before every pass,")
    print("   'warm' keeps them, as a daemon re-polling the same feeds does)")
    print(f"  targets met: {'yes' if r['targets_met'] else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
