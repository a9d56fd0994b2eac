"""The data of `bench_national.py`: feeds derived from the corpus, a feed server, big databases.

- `derive_feeds`: N feeds made from `corpus/pacer_rss/**/*.xml`, each under a real court id of
  the same level (district, bankruptcy, appellate), its links moved to that court's host and its
  district docket numbers shifted, so no two feeds carry the same cases.
- `FeedServer`: a threaded HTTP server on 127.0.0.1 serving them at `/<court>/rss` (no ETag:
  an unchanged feed is downloaded in full and recognised by its hash, the costlier case); with
  `churn`, some feeds gain one new item a minute (for the daemon run). `ServerProcess` runs it
  in a process of its own.
- `build_database`: a SQLite database of N tracked cases with their entries and the events they
  raised, written in bulk from the store's own row builders (`monitor.store.entry_values`,
  the store's event data), with explicit ids so the rows are what `Store.apply` would have written.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from monitor.db import make_engine  # noqa: E402
from monitor.migrate import upgrade  # noqa: E402
from monitor.models import Case, Entry, Event  # noqa: E402
from monitor.store import _case_data, _entry_data, case_subject, entry_values  # noqa: E402
from sources.base import EntryObservation  # noqa: E402
from sources.identity import docket_key, normalize_docket_number  # noqa: E402

#: bump when `build_database` writes different rows (cached databases are rebuilt)
BUILD_VERSION = "1"
#: a cached database is reused this long (its newest events must stay within `--since 24h`)
CACHE_HOURS = 3

# Real CourtListener ids of the district courts, and the circuits.
_DISTRICT_IDS = (
    "almd alnd alsd akd azd ared arwd cacd caed cand casd cod ctd ded dcd flmd flnd flsd gamd "
    "gand gasd hid idd ilcd ilnd ilsd innd insd iand iasd ksd kyed kywd laed lamd lawd med mdd "
    "mad mied miwd mnd msnd mssd moed mowd mtd ned nvd nhd njd nmd nyed nynd nysd nywd nced ncmd "
    "ncwd ndd ohnd ohsd oked oknd okwd ord paed pamd pawd prd rid scd sdd tned tnmd tnwd txed "
    "txnd txsd txwd utd vtd vaed vawd waed wawd wvnd wvsd wied wiwd wyd gud nmid vid"
)
DISTRICTS = tuple(_DISTRICT_IDS.split(" "))
CIRCUITS = ("ca1", "ca2", "ca3", "ca4", "ca6", "ca7", "ca8", "ca9", "ca10", "ca11", "cadc", "cafc")
BANKRUPTCY = [d[:-1] + "b" for d in DISTRICTS if d.endswith("d")]

_DOCKET = re.compile(rb"(\d{2}-[a-z]{1,4}-)(\d{5})")
_HOST = re.compile(rb"ecf\.[a-z0-9]+\.uscourts\.gov")
_ITEM = re.compile(rb"<item>.*?</item>", re.S)
#: what `/v/` paths send as every feed's Last-Modified
LAST_MODIFIED = "Mon, 07 Dec 2026 00:00:00 GMT"


@dataclass(frozen=True)
class Feed:
    """One derived feed: the court it is served as, and its bytes."""

    court: str
    body: bytes
    items: int


def corpus_feeds(corpus: Path) -> dict[str, list[bytes]]:
    """The corpus RSS files by court level."""
    levels: dict[str, list[bytes]] = {"district": [], "bankruptcy": [], "appellate": []}
    for path in sorted((corpus / "pacer_rss").rglob("*.xml")):
        name = path.stem
        level = ("appellate" if name.startswith("ca") else
                 "bankruptcy" if name.split("_")[0].endswith("b") else "district")
        levels[level].append(path.read_bytes())
    return levels


def derive_feeds(corpus: Path, count: int) -> list[Feed]:
    """`count` feeds under distinct real court ids, derived from the corpus feeds of their
    level, with links on the court's host and district docket numbers shifted per feed."""
    levels = corpus_feeds(corpus)
    courts = ([(c, "district") for c in DISTRICTS] + [(c, "bankruptcy") for c in BANKRUPTCY]
              + [(c, "appellate") for c in CIRCUITS])
    if count > len(courts):
        raise SystemExit(f"at most {len(courts)} feeds (one per court id)")
    feeds = []
    for index, (court, level) in enumerate(courts[:count]):
        bases = levels[level] or levels["district"]
        body = bases[index % len(bases)]
        shift = 137 * (index + 1)

        def shifted(m: re.Match[bytes], shift: int = shift) -> bytes:
            return m[1] + b"%05d" % ((int(m[2]) + shift) % 100000)

        body = _DOCKET.sub(shifted, body)
        body = _HOST.sub(b"ecf.%s.uscourts.gov" % court.encode(), body)
        feeds.append(Feed(court, body, body.count(b"<item>")))
    return feeds


def churned(body: bytes, court: str, minute: int) -> bytes:
    """The feed with one more item (a new entry of a new case) for this minute."""
    first = _ITEM.search(body)
    if first is None or minute <= 0:
        return body
    item = (b"<item><title><![CDATA[1:26-cv-%05d Doe %d v. Noem]]></title>"
            b"<pubDate>Tue, 22 May 2018 22:10:04 GMT</pubDate>"
            b"<description><![CDATA[[Petition for Writ of Mandamus] ]]></description>"
            b"<link>https://ecf.%s.uscourts.gov/cgi-bin/DktRpt.pl?%d</link></item>"
            % (minute, minute, court.encode(), 900000 + minute))
    return body[:first.start()] + item + body[first.start():]


class FeedServer:
    """The derived feeds on 127.0.0.1, one path per court: `/<court>/rss` as PACER's CGI
    serves them (no validators: every fetch downloads the feed), `/v/<court>/rss` the same
    feed with an ETag and a Last-Modified, answering a conditional GET for the same bytes with
    304 (what a server with validators allows an unchanged cycle)."""

    def __init__(self, feeds: Sequence[Feed], *, churn_every: int = 0) -> None:
        self.bodies = {f"/{f.court}/rss": (f.court, f.body) for f in feeds}
        self.churn = {f"/{f.court}/rss" for i, f in enumerate(feeds)
                      if churn_every and i % churn_every == 0}
        self.started = time.monotonic()
        self.requests = 0
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go in two writes: without this, Nagle's algorithm and delayed
            # ACKs add 40 ms to every response on loopback
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                with lock:
                    server.requests += 1
                validators = path.startswith("/v/")
                if validators:
                    path = path[len("/v"):]
                found = server.bodies.get(path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                court, body = found
                if path in server.churn:
                    body = churned(body, court, int((time.monotonic() - server.started) // 60))
                if validators:
                    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
                    if self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                        return
                self.send_response(200)
                if validators:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", LAST_MODIFIED)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, court: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{court}/rss"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class DatabaseSpec:
    """A database to build: `cases` tracked cases of `per_case` entries each, the first one
    with `big_case` entries and the second with `small_case` (for the new-entry figure)."""

    cases: int
    per_case: int
    big_case: int = 5000
    small_case: int = 10
    #: the newest events fall in the last 24 hours, the rest over the year before
    recent_events: int = 1000

    def entry_counts(self) -> Iterator[int]:
        for i in range(self.cases):
            yield self.big_case if i == 0 else self.small_case if i == 1 else self.per_case

    @property
    def entries(self) -> int:
        return sum(self.entry_counts())

    @property
    def name(self) -> str:
        return f"db-v{BUILD_VERSION}-{self.cases}c-{self.per_case}e-{self.big_case}b.sqlite"


def bulk_docket(index: int) -> tuple[str, str]:
    """The (court, docket number) of the index-th bulk case (`mc` type: never in the feeds)."""
    court = DISTRICTS[index % len(DISTRICTS)]
    return court, normalize_docket_number(f"1:19-mc-{index // len(DISTRICTS) + 1:05d}")


def build_database(path: Path, spec: DatabaseSpec, *, now: datetime,
                   chunk: int = 20000) -> None:
    """Write `spec`'s cases, entries and events (case.discovered, entry.added) to a new SQLite
    database at `path`, migrated to head, in bulk."""
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    total_events = spec.cases + spec.entries
    year = timedelta(days=365)
    older = max(1, total_events - spec.recent_events)

    def at(event_id: int) -> datetime:
        # ids grow with time: the last `recent_events` within the last 20 hours
        if event_id > older:
            return now - timedelta(hours=20) * (1 - (event_id - older) / spec.recent_events)
        return now - year + (year - timedelta(days=1)) * (event_id / older)

    entry_id = event_id = 0
    cases: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    with engine.begin() as conn:

        def flush(force: bool = False) -> None:
            if not force and max(len(cases), len(entries), len(events)) < chunk:
                return
            for table, rows in ((Case, cases), (Entry, entries), (Event, events)):
                if rows:  # cases first: entries and events refer to them
                    conn.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
                    rows.clear()

        for index, count in enumerate(spec.entry_counts()):
            court, number = bulk_docket(index)
            case_id = index + 1
            event_id += 1
            first_seen = at(event_id)
            case = Case(id=case_id, court=court, docket_number=number,
                        docket_key=docket_key(number), docket_number_raw=number,
                        case_name=f"Doe {index} v. Department of Homeland Security",
                        tags=["287g", "mandamus"], tracked=True, first_seen=first_seen,
                        matched_by=[{"watch": "287g-mandamus", "field": "entry_text",
                                     "pattern": "(?i)writ of mandamus"}],
                        last_activity=first_seen, entry_count=count)
            cases.append(case.model_dump())
            subject = case_subject(court, number)
            events.append(dict(
                id=event_id, kind="case.discovered", at=first_seen, subject=subject,
                summary=f"New case {number} {case.case_name}",
                data={**_case_data(case), "matched_by": case.matched_by,
                      "watches": ["287g-mandamus"]},
                dedupe_key=f"case.discovered:{court}:{case.docket_key}", case_id=case_id,
                matter_id=None, source_id="pacer-rss", private=False))
            for n in range(1, count + 1):
                entry_id += 1
                event_id += 1
                when = at(event_id)
                obs = EntryObservation(
                    entry_number=n, date_filed=date(2025, 1, 1) + timedelta(days=n % 400),
                    short_description="Order" if n % 3 else "Motion",
                    description=f"ORDER granting motion {n} to extend time",
                    document_url=f"https://ecf.{court}.uscourts.gov/doc1/{10000000 + n}",
                    pacer_doc_id=f"{10000000 + entry_id}")
                values = {"id": entry_id, **entry_values(case_id, obs, "pacer-rss", when)}
                entries.append(values)
                row = SimpleNamespace(**values)
                events.append(dict(
                    id=event_id, kind="entry.added", at=when, subject=subject,
                    summary=f"{number} #{n} {obs.description}"[:300],
                    data={**_case_data(case), **_entry_data(row), "backfill": False},
                    dedupe_key=f"entry.added:{case_id}:{entry_id}", case_id=case_id,
                    matter_id=None, source_id="pacer-rss", private=False))
            flush()
        flush(force=True)
    engine.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def cached_database(folder: Path, spec: DatabaseSpec, *, now: datetime) -> tuple[Path, float]:
    """The database of `spec` in `folder`, built when missing; (path, seconds spent building)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / spec.name
    if path.exists() and time.time() - path.stat().st_mtime < CACHE_HOURS * 3600:
        return path, 0.0  # its "last 24 hours" of events are still recent enough
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    build_database(partial, spec, now=now)
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    return path, time.perf_counter() - started


def now_utc() -> datetime:
    """The wall clock (a benchmark, not the monitor: it may read it)."""
    return datetime.now(UTC)


class ServerProcess:
    """`FeedServer` in a process of its own (as a real server is: it must not share this
    process's interpreter lock with the poller being measured)."""

    def __init__(self, corpus: Path, count: int, *, churn_every: int = 0) -> None:
        self.argv = [sys.executable, str(Path(__file__).resolve()), "serve", str(corpus),
                     str(count), str(churn_every)]
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def url(self, court: str, *, validators: bool = False) -> str:
        return f"http://127.0.0.1:{self.port}{'/v' if validators else ''}/{court}/rss"

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the server stops when its stdin closes
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _serve(corpus: str, count: str, churn_every: str) -> None:
    feeds = derive_feeds(Path(corpus), int(count))
    with FeedServer(feeds, churn_every=int(churn_every)) as server:
        print(server.httpd.server_address[1], flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        _serve(*sys.argv[2:])
