"""Parse throughput of the PACER RSS parser: ours vs juriscraper vs an lxml floor, in one run.

    .venv/bin/python benchmarks/bench_pacer_rss.py [--reps 7] [--min-time 0.3] [--json] [--check]

- ours: `sources.pacer_rss.parse_feed` on every corpus/pacer_rss/**/*.xml, in the project venv;
- juriscraper: `PacerRssFeed` (feedparser) on the same bytes, in its own venv
  (benchmarks/.venv-juriscraper, created on first use: juriscraper pins its own lxml and
  pydantic), run by a worker subprocess of this script that times each repetition it is asked
  for and reports it as a JSON line;
- floor: lxml parsing the same bytes and reading each item's title, link, description and
  pubDate with findtext: what any lxml-based RSS reader must at least do.

Each side runs `--reps` repetitions, the sides taking turns; a repetition parses the whole
corpus as many times as fits in `--min-time` seconds of CPU time; the median repetition counts.
Targets: ours >= 25x juriscraper, and ours within 2.5x of the floor. `--check` exits 1 when a
target is missed.
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
#: refusing the entity bomb (tests/fixtures) may cost at most what parsing one real feed of the
#: corpus costs on average: an attack must never be the expensive input
TARGET_BOMB_OVER_FEED = 1.0
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


#: a side of the benchmark: run `loops` passes over the corpus, return the CPU seconds spent
Side = Callable[[int], float]


def local_side(run_once: Callable[[], object]) -> Side:
    """A side that runs in this process."""

    def rep(loops: int) -> float:
        gc.collect()
        start = CLOCK()
        for _ in range(loops):
            run_once()
        return CLOCK() - start

    return rep


def measure(
    sides: dict[str, Side], items: int, reps: int, min_time: float
) -> dict[str, dict[str, float]]:
    """Median items/sec of each side over `reps` repetitions. Sides take turns within each
    repetition (juriscraper's too, in its subprocess), so a busy moment on a shared machine
    hits them alike."""
    loops: dict[str, int] = {}
    for name, rep in sides.items():
        rep(1)  # warm-up: imports, regex compilation
        loops[name] = max(1, int(min_time / max(rep(1), 1e-6)))
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(reps):
        for name, rep in sides.items():
            rates[name].append(items * loops[name] / max(rep(loops[name]), 1e-9))
    return {
        name: {
            "items_per_sec": statistics.median(r),
            "min": min(r),
            "max": max(r),
            "items_per_pass": items,
            "loops_per_rep": loops[name],
            "reps": reps,
        }
        for name, r in rates.items()
    }


# ---------------------------------------------------------------------------- our side


def ours_runner(feeds: list[tuple[str, str, bytes]], warm: bool = False) -> Callable[[], None]:
    """One pass of our parser over the corpus (`warm`: keep its memos from pass to pass)."""
    sys.path.insert(0, str(ROOT))
    from sources import pacer_rss

    # The parser memoizes titles, links and zones across calls (a court's feed repeats itself
    # from poll to poll); the headline figure empties those memos before every pass, so that
    # repeating the same corpus does not flatter us. `warm` shows the re-poll case.
    memos = [] if warm else [
        v for v in vars(pacer_rss).values() if callable(getattr(v, "cache_clear", None))
    ]

    def run_once() -> None:
        for memo in memos:
            memo.cache_clear()
        for _, court, content in feeds:
            pacer_rss.parse_feed(content, court=court)

    return run_once


def bomb_runner() -> Callable[[], None]:
    """One refusal of the entity-bomb fixture (a billion laughs; it must be refused, unexpanded)."""
    sys.path.insert(0, str(ROOT))
    from monitor.errors import ParseError
    from sources import pacer_rss

    content = (ROOT / "tests" / "fixtures" / "pacer_rss" / "entity_bomb.xml").read_bytes()

    def run_once() -> None:
        try:
            pacer_rss.parse_feed(content, court="dcd")
        except ParseError:
            return
        raise SystemExit("the entity bomb was not refused")

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


def juriscraper_worker(corpus: Path) -> None:
    """Runs inside the juriscraper venv. Prints {"version"}, then for each line "N" read from
    stdin runs N passes of PacerRssFeed over the corpus and prints {"seconds": CPU seconds}."""
    from importlib.metadata import version

    from juriscraper.pacer.rss_feeds import PacerRssFeed

    feeds = load_feeds(corpus)
    readers = {court: PacerRssFeed(court) for court in {court for _, court, _ in feeds}}

    def run_once() -> None:
        for _, court, content in feeds:
            reader = readers[court]
            reader._clear_caches()
            reader._data = None
            reader._parse_text(content)  # feedparser on the same bytes
            assert reader.data is not None

    rep = local_side(run_once)
    print(json.dumps({"version": version("juriscraper")}), flush=True)
    for line in sys.stdin:
        print(json.dumps({"seconds": rep(int(line))}), flush=True)


def ensure_juriscraper_venv() -> Path:
    """The juriscraper venv's python, creating the venv on first use."""
    python = JURISCRAPER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {JURISCRAPER_VENV} (pip install juriscraper) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(JURISCRAPER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "juriscraper"], check=True)
    return python


class JuriscraperSide:
    """juriscraper's side, run by a worker subprocess in its own venv, one repetition a call."""

    def __init__(self, corpus: Path) -> None:
        python = ensure_juriscraper_venv()
        self.process = subprocess.Popen(
            [str(python), __file__, "--juriscraper-worker", "--corpus", str(corpus)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(HERE),
        )
        self.version = str(self._read()["version"])

    def _read(self) -> dict[str, object]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"juriscraper worker died (exit {self.process.wait()})")
        result: dict[str, object] = json.loads(line)
        return result

    def __call__(self, loops: int) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{loops}\n")
        self.process.stdin.flush()
        return float(self._read()["seconds"])  # type: ignore[arg-type]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


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
    args = ap.parse_args()
    corpus = args.corpus or find_corpus()
    if args.juriscraper_worker:
        juriscraper_worker(corpus)
        return 0

    feeds = load_feeds(corpus)
    items = count_items(feeds)
    results: dict[str, object] = {
        "files": len(feeds),
        "bytes": sum(len(c) for _, _, c in feeds),
        "items": items,
    }
    sides: dict[str, Side] = {
        "ours": local_side(ours_runner(feeds)),
        "ours_warm": local_side(ours_runner(feeds, warm=True)),
        "floor": local_side(floor_runner(feeds)),
    }
    juriscraper = None if args.no_juriscraper else JuriscraperSide(corpus)
    if juriscraper is not None:
        sides["juriscraper"] = juriscraper
    try:
        measured = measure(sides, items, args.reps, args.min_time)
    finally:
        if juriscraper is not None:
            juriscraper.close()
    ours, floor = measured["ours"], measured["floor"]
    results.update(measured)
    floor_ratio = floor["items_per_sec"] / ours["items_per_sec"]
    results["floor_over_ours"] = floor_ratio
    ok = floor_ratio <= TARGET_VS_FLOOR
    if juriscraper is not None:
        js = dict(measured["juriscraper"], version=juriscraper.version)
        results["juriscraper"] = js
        ratio = ours["items_per_sec"] / measured["juriscraper"]["items_per_sec"]
        results["ours_over_juriscraper"] = ratio
        ok = ok and ratio >= TARGET_VS_JURISCRAPER
    # Refusing the bomb once vs parsing one feed of the corpus (on average), in the same run.
    bomb = measure({"bomb": local_side(bomb_runner())}, 1, args.reps, args.min_time)["bomb"]
    feeds_per_sec = ours["items_per_sec"] / items * len(feeds)
    bomb_ratio = feeds_per_sec / bomb["items_per_sec"]
    results["bomb_over_feed"] = bomb_ratio
    ok = ok and bomb_ratio <= TARGET_BOMB_OVER_FEED
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
    print(f"  bomb / feed        = {r['bomb_over_feed']:.2f}x (refusing the entity bomb vs "
          f"parsing one feed; target <= {TARGET_BOMB_OVER_FEED:g}x)")
    print("  (items/s in CPU time; 'ours' parses with its memos emptied before every pass,")
    print("   'warm' keeps them, as a daemon re-polling the same feeds does)")
    print(f"  targets met: {'yes' if r['targets_met'] else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
