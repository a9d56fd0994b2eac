"""Fast at national scale (issue 12): every figure a ratio within this one run.

    .venv/bin/python benchmarks/bench_national.py [--json] [--check] [--toy] [--reps 3]
        [--daemon-seconds 600] [--no-parse] [--no-courtlistener]

Builds its own sizes (see `national_data`): 200 feeds derived from the corpus under real court
ids on a local server; a database of 20,000 tracked cases and ~1M entries (and their events) and
one of 700 cases and 35,000 entries, cached in `benchmarks/.work/` for a few hours. Then, with
the sides interleaved in every repetition (the machine is shared; ratios, medians):

1. floor: the 200 feeds fetched with one httpx client and parsed with lxml (`findtext` of each
   item's fields), one after the other;
   and the same feeds fetched alone (the least an unchanged cycle must do: the server sends
   no validators, as PACER's CGI does not, so every feed is downloaded again); and each feed
   asked again with its ETag from the server's `/v/` paths (304s: the least an unchanged cycle
   must do against a server with validators);
2. first cycle: `poll --once --no-dispatch` of one pacer_rss source of the 200 courts into an
   empty database; then the unchanged cycle (same feeds again) on the same database, counting
   its write transactions and the rows it added; then the same two cycles against the `/v/`
   paths (the unchanged one is answered with 304s);
3. the same first cycle into copies of the 35k and the 1M databases (feeds already rendered);
4. a new entry (`Store.apply` of one entry) on the case of 5,000 entries and on one of 10;
5. `events --since 24h --json` and `cases --json --limit 100` (and the full `cases --json`, and
   `events --kind 'agreement.*' --json`: a kind of few events, found through the kind index) at
   35k and at 1M;
6. the daemon (`court-monitor run`) with 200 sources of one court each at a 1-minute interval
   over `--daemon-seconds` (10 feeds gain an item every minute): runs due, done, missed, peak
   memory;
7. the parse figures (`bench_pacer_rss.py --json`) and the CourtListener day
   (`sim_courtlistener_day.py`), each in a subprocess.

Prints one table, then (with `--json`) the same figures as JSON. `--toy` runs every part at a
tiny size in well under a minute (the smoke test runs that).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from lxml import etree  # noqa: E402
from national_data import (  # noqa: E402
    DatabaseSpec,
    Feed,
    ServerProcess,
    bulk_docket,
    cached_database,
    derive_feeds,
    now_utc,
)
from sqlalchemy import Engine, event  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    feeds: int = 200
    cases: int = 20000
    small_cases: int = 700
    per_case: int = 50
    big_case: int = 5000
    small_case: int = 10
    daemon_sources: int = 200
    new_entry_reps: int = 40


TOY = Sizes(feeds=6, cases=60, small_cases=20, per_case=5, big_case=50, small_case=10,
            daemon_sources=6, new_entry_reps=6)

FEDERAL_DEFENDANTS = {
    "name": "federal-defendants",
    "tags": ["federal"],
    "case_name": ["(?i)\\bv\\.?\\s+(USA|United States)\\b",
                  "(?i)\\b(Garland|Bondi|Mayorkas|Noem|Jaddou|Blinken|Rubio)\\b"],
}


# ---------------------------------------------------------------------------- config files


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(value)


def _table(name: str, values: dict[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items())


def write_config(path: Path, *, db: Path, feeds_dir: Path, sources: list[dict[str, Any]],
                 log_level: str = "WARNING") -> Path:
    """A config with the default watch plus one on federal defendants, no subscription."""
    defaults = tomllib.loads((ROOT / "monitor" / "defaults.toml").read_text())
    text = _table("database", {"url": f"sqlite:///{db}"})
    text += _table("feeds", {"dir": str(feeds_dir)})
    # Every feed has its own host in production; here all share 127.0.0.1.
    text += _table("http", {"per_host_connections": 4})
    text += _table("logging", {"level": log_level})
    for source in sources:
        text += "[" + _table("source", source)[:-1].replace("\n", "]\n", 1) + "\n"
    for watch in [*defaults["watch"], FEDERAL_DEFENDANTS]:
        text += "[" + _table("watch", watch).replace("\n", "]\n", 1) + "\n"
    path.write_text(text)
    return path


def one_source(feeds: Sequence[Feed], server: ServerProcess, *,
               validators: bool = False) -> list[dict[str, Any]]:
    """One pacer_rss source of every feed (`validators`: from the paths with ETags)."""
    return [{"id": "pacer-rss", "kind": "pacer_rss", "courts": [f.court for f in feeds],
             "feed_urls": {f.court: server.url(f.court, validators=validators) for f in feeds},
             "interval": "15m"}]


def many_sources(feeds: Sequence[Feed], server: ServerProcess) -> list[dict[str, Any]]:
    return [{"id": f"s{i:03d}", "kind": "pacer_rss", "courts": [f.court],
             "feed_urls": {f.court: server.url(f.court)}, "interval": "1m", "jitter": "0s"}
            for i, f in enumerate(feeds)]


# ---------------------------------------------------------------------------- measuring


class Commits:
    """Counts committed write transactions (`BEGIN IMMEDIATE`, `monitor.db.write_session`) of
    every engine in this process."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "commit", self._commit)

    def _commit(self, conn: Any) -> None:
        if conn.info.get("begin_mode") == "IMMEDIATE":
            self.count += 1


def cli(*argv: str) -> str:
    """Run the court-monitor CLI in this process; its stdout."""
    from monitor.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    if code != 0:
        raise SystemExit(f"court-monitor {' '.join(argv)} exited {code}")
    return out.getvalue()


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()  # the garbage of earlier parts is collected outside the timed call
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def floor_cycle(client: httpx.Client, urls: Sequence[str]) -> int:
    """Fetch every feed and read each item's fields with lxml; the number of items."""
    items = 0
    for url in urls:
        root = etree.fromstring(client.get(url).content)
        for item in root.iter("item"):
            for tag in ("title", "link", "description", "pubDate"):
                item.findtext(tag)
            items += 1
    return items


def fetch_only(client: httpx.Client, urls: Sequence[str]) -> int:
    """Fetch every feed, one after the other, reading nothing; the bytes fetched."""
    return sum(len(client.get(url).content) for url in urls)


def etags_of(client: httpx.Client, urls: Sequence[str]) -> dict[str, str]:
    """Each URL's ETag (of the server's `/v/` paths)."""
    return {url: client.get(url).headers["ETag"] for url in urls}


def not_modified_only(client: httpx.Client, etags: dict[str, str]) -> int:
    """Ask for every feed again with its ETag, one after the other; the 304s answered."""
    return sum(client.get(url, headers={"If-None-Match": etag}).status_code == 304
               for url, etag in etags.items())


def row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                for t in ("case", "entry", "event", "delivery", "sourcestate")}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


class Workspace:
    """Scratch folders of one run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def fresh(self, name: str) -> Path:
        self.n += 1
        path = self.root / f"{self.n:03d}-{name}"
        path.mkdir(parents=True)
        return path


def copy_db(src: Path, dest: Path) -> Path:
    """A copy of `src`, flushed to disk: the first checkpoint of the poll measured next must
    not wait for the kernel to write back the copy (1.1 GB at 1M)."""
    shutil.copyfile(src, dest)
    with dest.open("rb+") as copied:
        os.fsync(copied.fileno())
    return dest


def prepared(ws: Workspace, name: str, template: Path, feeds: Sequence[Feed],
             server: ServerProcess, *, validators: bool = False) -> Path:
    """A config on a copy of `template` whose feeds folder is current (nothing to re-render);
    `validators`: the feeds from the server's paths with ETags."""
    from monitor.app import App
    from monitor.config import load_config
    from monitor.feeds.incremental import mark_current

    folder = ws.fresh(name)
    db = copy_db(template, folder / "monitor.db")
    config_path = write_config(folder / "config.toml", db=db, feeds_dir=folder / "feeds",
                               sources=one_source(feeds, server, validators=validators))
    app = App(config=load_config(str(config_path)), clock=now_utc)
    try:
        mark_current(app.engine, app.config.feeds, app.config.feeds_dir)
    finally:
        app.close()
    return config_path


# ---------------------------------------------------------------------------- parts


def warm_up(ws: Workspace, empty: Path, feeds: Sequence[Feed], server: ServerProcess) -> None:
    """One small poll first, so imports and first-use caches count on no side."""
    config = prepared(ws, "warm-up", empty, feeds[:3], server)
    cli("--config", str(config), "poll", "--once", "--no-dispatch")


def part_cycles(ws: Workspace, feeds: Sequence[Feed], server: ServerProcess, empty: Path,
                small: Path, large: Path, reps: int, commits: Commits) -> dict[str, Any]:
    urls = [server.url(f.court) for f in feeds]
    floor, fetched, first, unchanged, at_small, at_large = [], [], [], [], [], []
    asked_304, unchanged_304, first_304 = [], [], []
    not_modified = 0
    writes: list[int] = []
    added: list[dict[str, int]] = []
    tracked = 0
    with httpx.Client() as client:
        floor_cycle(client, urls[:3])  # warm the connection and lxml
        etags = etags_of(client, [server.url(f.court, validators=True) for f in feeds])
        for rep in range(reps):
            floor.append(timed(lambda: floor_cycle(client, urls)))
            fetched.append(timed(lambda: fetch_only(client, urls)))
            asked_304.append(timed(lambda: not_modified_only(client, etags)))
            config = prepared(ws, "first", empty, feeds, server)
            first.append(timed(lambda config=config: cli(
                "--config", str(config), "poll", "--once", "--no-dispatch")))
            db = config.parent / "monitor.db"
            before, commits_before = row_counts(db), commits.count
            unchanged.append(timed(lambda config=config: cli(
                "--config", str(config), "poll", "--once", "--no-dispatch")))
            writes.append(commits.count - commits_before)
            after = row_counts(db)
            added.append({t: after[t] - before[t] for t in after})
            tracked = after["case"]
            # The same two cycles against a server with validators: the unchanged one is 304s.
            config = prepared(ws, "etags", empty, feeds, server, validators=True)
            first_304.append(timed(lambda config=config: cli(
                "--config", str(config), "poll", "--once", "--no-dispatch")))
            said: list[str] = []
            unchanged_304.append(timed(lambda config=config, said=said: said.append(cli(
                "--config", str(config), "poll", "--once", "--no-dispatch"))))
            found = re.search(r"(\d+) not modified", said[0])
            not_modified = int(found[1]) if found else 0
            order = [("small", small, at_small), ("large", large, at_large)]
            for _, template, out in (order if rep % 2 == 0 else order[::-1]):
                config = prepared(ws, "scaled", template, feeds, server)
                out.append(timed(lambda config=config: cli(
                    "--config", str(config), "poll", "--once", "--no-dispatch")))
            floor.append(timed(lambda: floor_cycle(client, urls)))
    return {
        "feeds": len(feeds), "items": sum(f.items for f in feeds), "cases_tracked": tracked,
        "floor_s": median(floor), "first_s": median(first), "unchanged_s": median(unchanged),
        "first_over_floor": ratio(median(first), median(floor)),
        "unchanged_over_first": ratio(median(unchanged), median(first)),
        "fetch_only_s": median(fetched),
        "unchanged_over_fetch_only": ratio(median(unchanged), median(fetched)),
        "unchanged_write_transactions": max(writes),
        "unchanged_rows_added": {t: max(a[t] for a in added) for t in added[0]},
        "not_modified_only_s": median(asked_304),
        "first_etags_s": median(first_304), "unchanged_etags_s": median(unchanged_304),
        "unchanged_etags_over_first": ratio(median(unchanged_304), median(first_304)),
        "unchanged_etags_not_modified": not_modified,
        "poll_35k_s": median(at_small), "poll_1m_s": median(at_large),
        "poll_1m_over_35k": ratio(median(at_large), median(at_small)),
        "first_s_all": first, "floor_s_all": floor,
    }


def part_new_entry(ws: Workspace, large: Path, feeds: Sequence[Feed], server: ServerProcess,
                   reps: int, sizes: Sizes) -> dict[str, Any]:
    from monitor.app import App
    from monitor.config import load_config
    from sources.base import CaseObservation, EntryObservation

    config = prepared(ws, "new-entry", large, feeds, server)
    app = App(config=load_config(str(config)), clock=now_utc)
    times: dict[str, list[float]] = {"big": [], "small": []}
    try:
        cases = {"big": (bulk_docket(0), sizes.big_case), "small": (bulk_docket(1),
                                                                    sizes.small_case)}
        for rep in range(reps):
            for name in (("big", "small") if rep % 2 == 0 else ("small", "big")):
                (court, number), count = cases[name]
                obs = CaseObservation(
                    court=court, docket_number=number, docket_number_raw=number,
                    case_name="Doe v. Department of Homeland Security",
                    entries=(EntryObservation(
                        entry_number=count + rep + 1, date_filed=date(2026, 11, 1),
                        short_description="Order",
                        description=f"ORDER setting a status conference {rep}"),))
                elapsed = timed(lambda obs=obs: app.store.apply([obs], source_id="pacer-rss",
                                                                now=now_utc()))
                if rep:  # the first of each warms caches
                    times[name].append(elapsed)
    finally:
        app.close()
    return {"new_entry_big_ms": median(times["big"]) * 1000,
            "new_entry_small_ms": median(times["small"]) * 1000,
            "big_case_entries": sizes.big_case, "small_case_entries": sizes.small_case,
            "new_entry_big_over_small": ratio(median(times["big"]), median(times["small"]))}


def part_queries(ws: Workspace, small: Path, large: Path, feeds: Sequence[Feed],
                 server: ServerProcess, reps: int) -> dict[str, Any]:
    configs = {"small": prepared(ws, "q-small", small, feeds, server),
               "large": prepared(ws, "q-large", large, feeds, server)}
    queries = {"events": ("events", "--since", "24h", "--json"),
               "cases_page": ("cases", "--json", "--limit", "100"),
               "cases_all": ("cases", "--json"),
               "events_kind": ("events", "--kind", "agreement.*", "--json")}
    times: dict[tuple[str, str], list[float]] = {}
    rows: dict[tuple[str, str], int] = {}
    for rep in range(max(reps, 7) + 1):  # cheap: more repetitions, steadier medians
        for size in (("small", "large") if rep % 2 == 0 else ("large", "small")):
            for query, argv in queries.items():
                out: list[str] = []
                elapsed = timed(lambda argv=argv, size=size, out=out:
                                out.append(cli("--config", str(configs[size]), *argv)))
                rows[(query, size)] = len(json.loads(out[0]))
                if rep:
                    times.setdefault((query, size), []).append(elapsed)
    result: dict[str, Any] = {}
    for query in queries:
        small_s, large_s = median(times[(query, "small")]), median(times[(query, "large")])
        result[f"{query}_35k_s"] = small_s
        result[f"{query}_1m_s"] = large_s
        result[f"{query}_rows_35k"] = rows[(query, "small")]
        result[f"{query}_rows_1m"] = rows[(query, "large")]
        result[f"{query}_1m_over_35k"] = ratio(large_s, small_s)
    result["cases_all_per_row_1m_over_35k"] = ratio(
        result["cases_all_1m_s"] / max(1, result["cases_all_rows_1m"]),
        result["cases_all_35k_s"] / max(1, result["cases_all_rows_35k"]))
    return result


def _rss_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def part_daemon(ws: Workspace, large: Path, feeds: Sequence[Feed], seconds: float,
                corpus: Path) -> dict[str, Any]:
    """`court-monitor run` with one source per feed at 1 minute, for `seconds`."""
    from monitor.app import App
    from monitor.config import load_config
    from monitor.feeds.incremental import mark_current

    folder = ws.fresh("daemon")
    db = copy_db(large, folder / "monitor.db")
    log_path = folder / "daemon.log"
    with ServerProcess(corpus, len(feeds), churn_every=20) as server:
        config = write_config(folder / "config.toml", db=db, feeds_dir=folder / "feeds",
                              sources=many_sources(feeds, server), log_level="INFO")
        app = App(config=load_config(str(config)), clock=now_utc)
        try:
            mark_current(app.engine, app.config.feeds, app.config.feeds_dir)
        finally:
            app.close()
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config),
                                     "run"], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        # Stop half a minute before the last full minute ends: no run is caught mid-way, and
        # every source was due once per minute begun (600 s: 570 s, 10 runs each).
        stop_after = seconds - 30 if seconds >= 60 else seconds
        ready = None
        peak_rss = 0
        started = time.monotonic()
        try:
            while time.monotonic() - started < seconds + 120:
                if proc.poll() is not None:
                    raise SystemExit(f"the daemon exited {proc.returncode}: see {log_path}")
                if ready is None and "court-monitor running" in log_path.read_text():
                    ready = time.monotonic()
                peak_rss = max(peak_rss, _rss_kb(proc.pid, "VmRSS"))
                if ready is not None and time.monotonic() - ready >= stop_after:
                    break
                time.sleep(1.0)
            stopped = time.monotonic()
            hwm = _rss_kb(proc.pid, "VmHWM")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = log_path.read_text()
    ran = (stopped - (ready or stopped))
    polls = re.findall(r"poll (s\d{3}): ", text)
    missed = len(re.findall(r"Run time of job \"poll s\d{3}.*was missed", text))
    skipped = len(re.findall(r"Execution of job \"poll s\d{3}.*skipped: maximum number", text))
    per_source = {s: polls.count(s) for s in set(polls)}
    due = len(feeds) * (int(ran // 60) + 1)  # runs at 0, 60, ... up to `ran`
    return {"daemon_sources": len(feeds), "daemon_seconds": round(ran, 1),
            "daemon_runs_due": due, "daemon_runs_done": len(polls),
            "daemon_runs_missed": missed, "daemon_runs_skipped_max_instances": skipped,
            "daemon_fewest_runs_of_a_source": min(per_source.values(), default=0),
            "daemon_peak_rss_mb": round(max(peak_rss, hwm) / 1024, 1),
            "daemon_exit_code": proc.returncode,
            "daemon_log_errors": len(re.findall(r"^(ERROR|CRITICAL)", text, re.M))}


def part_parse() -> dict[str, Any]:
    argv = [sys.executable, str(HERE / "bench_pacer_rss.py"), "--json", "--reps", "5"]
    if not (HERE / ".venv-juriscraper").exists():
        argv.append("--no-juriscraper")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=ROOT)
    if done.returncode != 0:
        return {"parse_error": done.stderr[-500:]}
    data: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{"):])
    return {"parse": data}


def part_courtlistener() -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(HERE / "sim_courtlistener_day.py")],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {"courtlistener_day": lines, "courtlistener_exit": done.returncode}


# ---------------------------------------------------------------------------- report


def rows_of(r: dict[str, Any]) -> Iterator[tuple[str, str, str, bool | None]]:
    def f(x: Any, spec: str = ".2f") -> str:
        return format(x, spec) if isinstance(x, float) else str(x)

    if "first_s" in r:
        yield ("feeds / items / cases tracked",
               f"{r['feeds']} / {r['items']} / {r['cases_tracked']}", "", None)
        yield ("floor: fetch + lxml (s)", f(r["floor_s"]), "", None)
        yield ("first cycle (s)", f(r["first_s"]), "", None)
        yield ("first cycle / floor", f(r["first_over_floor"]), "<= 1.5",
               r["first_over_floor"] <= 1.5)
        yield ("unchanged cycle / first", f(r["unchanged_over_first"]), "<= 0.10",
               r["unchanged_over_first"] <= 0.10)
        yield ("fetch only: the feeds' bytes, one after the other (s)",
               f(r["fetch_only_s"]), "", None)
        yield ("unchanged cycle / fetch only", f(r["unchanged_over_fetch_only"]), "", None)
        yield ("304s only: each feed asked with its ETag (s)",
               f(r["not_modified_only_s"]), "", None)
        yield (f"with ETags: unchanged / first ({r['unchanged_etags_not_modified']} 304s)",
               f(r["unchanged_etags_over_first"]), "", None)
        rows_added = sum(v for k, v in r["unchanged_rows_added"].items() if k != "sourcestate")
        yield ("unchanged cycle: write transactions / rows added",
               f"{r['unchanged_write_transactions']} / {rows_added}", "1 / 0",
               r["unchanged_write_transactions"] <= 1 and rows_added == 0)
        yield ("poll at 35k entries / at 1M (s)", f"{f(r['poll_35k_s'])} / {f(r['poll_1m_s'])}",
               "", None)
        yield ("poll at 1M / at 35k", f(r["poll_1m_over_35k"]), "<= 1.3",
               r["poll_1m_over_35k"] <= 1.3)
    if "new_entry_big_ms" in r:
        yield (f"new entry: case of {r['big_case_entries']} / of {r['small_case_entries']} (ms)",
               f"{f(r['new_entry_big_ms'])} / {f(r['new_entry_small_ms'])}", "", None)
        yield ("new entry: big case / small case", f(r["new_entry_big_over_small"]), "<= 1.3",
               r["new_entry_big_over_small"] <= 1.3)
    if "events_1m_s" in r:
        for q, label in (("events", "events --since 24h"), ("cases_page", "cases --limit 100"),
                         ("cases_all", "cases (all)"),
                         ("events_kind", "events --kind agreement.*")):
            yield (f"{label}: 35k / 1M (s; rows)",
                   f"{r[q + '_35k_s']:.3f} / {r[q + '_1m_s']:.3f}; "
                   f"{r[q + '_rows_35k']} / {r[q + '_rows_1m']}", "", None)
            target = q in ("events", "cases_page")
            yield (f"{label}: 1M / 35k", f(r[q + "_1m_over_35k"]), "<= 2" if target else "",
                   r[q + "_1m_over_35k"] <= 2 if target else None)
        yield ("cases (all): per row, 1M / 35k", f(r["cases_all_per_row_1m_over_35k"]),
               "", None)
    if "daemon_runs_due" in r:
        yield (f"daemon: {r['daemon_sources']} sources x 1m for {r['daemon_seconds']} s: "
               "runs due / done", f"{r['daemon_runs_due']} / {r['daemon_runs_done']}", "", None)
        yield ("daemon: missed + skipped runs",
               f"{r['daemon_runs_missed']} + {r['daemon_runs_skipped_max_instances']}", "0",
               r["daemon_runs_missed"] + r["daemon_runs_skipped_max_instances"] == 0)
        yield ("daemon: fewest runs of one source", str(r["daemon_fewest_runs_of_a_source"]),
               "", None)
        yield ("daemon: peak memory (MB)", f(r["daemon_peak_rss_mb"], ".1f"), "<= 150",
               r["daemon_peak_rss_mb"] <= 150)
    if "parse" in r:
        p = r["parse"]
        sides = [(name, p[name]["items_per_sec"]) for name in
                 ("ours", "ours_warm", "floor", "juriscraper")
                 if isinstance(p.get(name), dict) and "items_per_sec" in p[name]]
        yield ("parse: items/s (CPU) " + " / ".join(n for n, _ in sides),
               " / ".join(f"{v:,.0f}" for _, v in sides), "", None)
        if "floor_over_ours" in p:
            yield ("parse: floor / ours", f(float(p["floor_over_ours"])), "<= 2.5",
                   float(p["floor_over_ours"]) <= 2.5)
        for key, value in p.items():
            if "juriscraper" in key and isinstance(value, (int, float)):
                yield (f"parse: {key}", f(float(value)), "", None)
    if "courtlistener_day" in r:
        for line in r["courtlistener_day"]:
            if line.startswith(("requests made", "429s", "busiest")):
                good = None if not line.startswith("429s") else line.strip().endswith(": 0")
                yield ("CourtListener day", line.strip()[:70], "0" if good is not None else "",
                       good)


def print_table(results: dict[str, Any]) -> bool:
    rows = list(rows_of(results))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'figure':{width}}  {'value':{value_width}}  target  ok")
    ok = True
    for name, value, target, good in rows:
        mark = "" if good is None else ("yes" if good else "NO")
        ok = ok and good is not False
        print(f"{name:{width}}  {value:{value_width}}  {target:6}  {mark}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--toy", action="store_true", help="tiny sizes (a smoke run)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--daemon-seconds", type=float, default=None,
                    help="how long the daemon runs (600 s; 20 s with --toy; 0: not at all)")
    ap.add_argument("--no-parse", action="store_true")
    ap.add_argument("--no-courtlistener", action="store_true")
    ap.add_argument("--corpus", type=Path,
                    default=Path(os.environ.get("COURT_MONITOR_CORPUS",
                                                ROOT.parent / "shared" / "corpus")))
    ap.add_argument("--cache", type=Path, default=HERE / ".work")
    args = ap.parse_args()
    sizes = TOY if args.toy else Sizes()
    daemon_seconds = args.daemon_seconds if args.daemon_seconds is not None \
        else 20.0 if args.toy else 600.0
    if not (args.corpus / "pacer_rss").is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    import logging

    logging.disable(logging.INFO)  # the in-process CLI's poll lines
    now = now_utc()
    cache = args.cache / "toy" if args.toy else args.cache
    results: dict[str, Any] = {"sizes": sizes.__dict__, "reps": args.reps}
    started = time.perf_counter()
    small, built_small = cached_database(cache, DatabaseSpec(
        cases=sizes.small_cases, per_case=sizes.per_case, big_case=sizes.per_case,
        small_case=sizes.per_case), now=now)
    large, built_large = cached_database(cache, DatabaseSpec(
        cases=sizes.cases, per_case=sizes.per_case, big_case=sizes.big_case,
        small_case=sizes.small_case), now=now)
    empty, _ = cached_database(cache, DatabaseSpec(cases=0, per_case=0, big_case=0,
                                                   small_case=0, recent_events=0), now=now)
    results["build_s"] = round(built_small + built_large, 1)
    for db, key in ((small, "db_35k"), (large, "db_1m")):
        counts = row_counts(db)
        results[key] = {"cases": counts["case"], "entries": counts["entry"],
                        "events": counts["event"]}
    feeds = derive_feeds(args.corpus, sizes.feeds)
    commits = Commits()
    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
        ws = Workspace(Path(tmp))
        with ServerProcess(args.corpus, len(feeds)) as server:
            warm_up(ws, empty, feeds, server)
            results.update(part_cycles(ws, feeds, server, empty, small, large, args.reps,
                                       commits))
            results.update(part_new_entry(ws, large, feeds, server, sizes.new_entry_reps,
                                          sizes))
            results.update(part_queries(ws, small, large, feeds, server, args.reps))
        if daemon_seconds > 0:
            daemon_feeds = derive_feeds(args.corpus, sizes.daemon_sources)
            results.update(part_daemon(ws, large, daemon_feeds, daemon_seconds,
                                       args.corpus))
    if not args.no_parse:
        results.update(part_parse())
    if not args.no_courtlistener:
        results.update(part_courtlistener())
    results["total_s"] = round(time.perf_counter() - started, 1)
    ok = print_table(results)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
