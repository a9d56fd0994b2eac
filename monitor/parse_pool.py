"""A big round's responses parsed on the machine's other cores, and screened there.

Parsing is most of a round's work, and Python runs it on one core at a time. For a source whose
`parse` is pure (`Source.parse_in_fetch`), a round with many responses to parse
(`POOL_MIN_RESPONSES`) hands them to a few worker processes (`[poll] parse_processes`): they
parse while the daemon stores what was parsed before, so the round approaches its fetch time.

A worker hands back only what the store could keep of a response (`screen`), with how many
observations the whole parse gives; it asks the same question before a case is built
(`ScreenGate`, through `Source.parse_gated`), so a case no watch can match and nobody stored
costs only its title, link and a look at its texts. What it keeps: every observation that is
not a case's, a case without a docket number, a case already stored for the target's court (the
docket keys stored for that court go with the response, `Screen`), a case some watch has a
reason to track (the same `Matcher` as the store's), and every case of a court whose keys were
not sent. What it drops the store would have dropped: an untracked case no watch matches. A
case another process stores while the round runs is not in the keys the round sent: the caller
forgets the content hash of such a court's target (`courts_gained`), so its next fetch is
parsed and stored in full.

The processes start with a big round and stop when no round uses them (`lease`): a daemon
between rounds holds none. A process with no other thread running forks them (`poll --once`:
they start at once, sharing what is loaded); one with threads (the daemon) has them forked by a
`forkserver`, so no lock another thread holds is copied into them. When they cannot start or
a worker dies, the pool says so once in the log and parses in the calling process from then on:
a round is never lost to the pool. A program that runs court-monitor from its own script guards
its entry point (`if __name__ == "__main__":`), as multiprocessing asks (the workers import the
main module).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import col

from monitor.config import WatchConfig
from monitor.db import read_session
from monitor.errors import MonitorError, ParseError, SourceError
from monitor.matching import Matcher
from monitor.models import Case
from sources import source_class
from sources.base import (
    CaseObservation,
    Fetched,
    Observation,
    Source,
    SourceOptions,
    Target,
)
from sources.identity import docket_key

__all__ = ["POOL_MIN_RESPONSES", "ParsePool", "Parsed", "PooledRound", "Screen", "ScreenGate",
           "court_of", "courts_gained", "default_processes", "screen", "stored_keys"]

log = logging.getLogger(__name__)

#: a round with fewer responses to parse than this parses them in the daemon's own process
POOL_MIN_RESPONSES = 8


def default_processes() -> int:
    """Parse processes when the config says nothing: 2 on a machine with 2 cores or more
    (the daemon stores on one while they parse), none on a single core."""
    return 2 if (os.cpu_count() or 1) >= 2 else 0


@dataclass(frozen=True)
class Screen:
    """What a worker needs to screen one response: the docket keys stored for `courts`
    (complete for those courts, as (court, docket key))."""

    courts: frozenset[str]
    keys: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Parsed:
    """A response's observations the store could keep, and how many were parsed in all; or
    why the parse refused the response (`refused`, a `SourceError`'s detail)."""

    observations: list[Observation]
    parsed: int
    refused: str | None = None


def screen(observations: Sequence[Observation], known: Screen,
           matcher: Matcher) -> list[Observation]:
    """The observations the store could keep (see the module's docstring); in order. A list
    with anything but case observations in it is kept whole."""
    if any(not isinstance(o, CaseObservation) for o in observations):
        return list(observations)
    kept: list[Observation] = []
    for obs in observations:
        assert isinstance(obs, CaseObservation)
        if (not obs.docket_number or obs.court not in known.courts
                or (obs.court, docket_key(obs.docket_number)) in known.keys
                or matcher.match(obs)):
            kept.append(obs)
    return kept


class ScreenGate:
    """`screen` asked before a case is built (`sources.base.CaseGate`): a case `screen` would
    keep is never ruled out; one it would drop may be, so its parse is spared."""

    def __init__(self, known: Screen, matcher: Matcher) -> None:
        self.known = known
        self.matcher = matcher
        self.text_words = matcher.entry_text_words()

    def keeps(self, court: str, docket_number: str) -> bool:
        """Kept by `screen` whatever the texts say: no docket number, a court whose keys were
        not sent, a docket stored or listed by a watch."""
        if not docket_number or court not in self.known.courts:
            return True
        return (court, docket_key(docket_number)) in self.known.keys \
            or self.matcher.lists(court, docket_number)

    def name_may_match(self, case_name: str) -> bool:
        """Some watch may match the case name."""
        return self.matcher.name_may_match(case_name)


def stored_keys(engine: Engine, courts: Sequence[str]) -> tuple[Screen, int]:
    """The docket keys stored for `courts` (tracked or not), and the highest case id now (the
    mark `courts_gained` compares with after the round). Plain columns, one statement."""
    wanted = frozenset(courts)
    with read_session(engine) as session:
        connection = session.connection()
        high = connection.execute(sa_select(func.max(col(Case.id)))).scalar() or 0
        rows = connection.execute(
            sa_select(col(Case.court), col(Case.docket_key))
            .where(col(Case.court).in_(sorted(wanted)))).all() if wanted else []
    return Screen(courts=wanted, keys=frozenset((c, k) for c, k in rows)), int(high)


def courts_gained(engine: Engine, since_id: int, courts: Sequence[str],
                  own: set[int]) -> set[str]:
    """The courts among `courts` that gained a case after `since_id` other than the round's
    own discoveries (`own`: their ids): stored meanwhile by another process."""
    if not courts:
        return set()
    with read_session(engine) as session:
        rows = session.connection().execute(
            sa_select(col(Case.id), col(Case.court))
            .where(col(Case.id) > since_id, col(Case.court).in_(sorted(set(courts))))).all()
    return {court for case_id, court in rows if case_id not in own}


def court_of(target: Target) -> str:
    """The court a target's feed is of (`Target.context["court"]`), "" when it names none."""
    court = target.context.get("court")
    return court if isinstance(court, str) else ""


class PooledRound:
    """One round parsed by the pool: the keys it screens with (each target's court's own),
    and the highest case id when it began."""

    def __init__(self, pool: ParsePool, screen: Screen, high: int) -> None:
        self.pool = pool
        self.screen = screen
        self.high = high
        by_court: dict[str, set[tuple[str, str]]] = {c: set() for c in screen.courts}
        for key in screen.keys:
            by_court[key[0]].add(key)
        self._by_court = {court: Screen(courts=frozenset({court}), keys=frozenset(keys))
                          for court, keys in by_court.items()}

    @classmethod
    def begin(cls, pool: ParsePool, engine: Engine, targets: Sequence[Target]) -> PooledRound:
        """A round of `targets`, with the docket keys stored now for their courts."""
        screen, high = stored_keys(engine, sorted({c for t in targets if (c := court_of(t))}))
        return cls(pool, screen, high)

    def parser(self, source: Source, target: Target) -> Callable[[Fetched], Parsed]:
        """Parse one of the round's responses in a process, screened with its court's keys
        (a target of no court: nothing screened by key)."""
        known = self._by_court.get(court_of(target), Screen(frozenset(), frozenset()))
        return lambda fetched: self.pool.parse(source, fetched, known)

    def stored_of(self, target: Target) -> Screen | None:
        """The docket keys stored for the target's court when the round began (what the
        store need not read again, `Store.apply`); None for a target of no court."""
        return self._by_court.get(court_of(target))

    def gained_elsewhere(self, engine: Engine, own: set[int]) -> set[str]:
        """The round's courts that gained a case during it other than its own discoveries
        (`own`: their ids): what the screen dropped of such a case must be parsed again."""
        return courts_gained(engine, self.high, sorted(self.screen.courts), own)


# ---------------------------------------------------------------------------- the pool


class ParsePool:
    """Worker processes parsing and screening responses of pure-parsing sources. Thread-safe:
    the round's fetch threads call `parse` at once. Processes start on first use."""

    def __init__(self, processes: int, watches: Sequence[WatchConfig]) -> None:
        self.processes = processes
        self._watches = tuple(watches)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._failed = False
        self._leases = 0

    @property
    def enabled(self) -> bool:
        """Parse processes are configured and have not failed in this process."""
        return self.processes > 0 and not self._failed

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = _context()
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=context,
                    initializer=_start_worker, initargs=(self._watches,))
                log.info("parsing in %d processes (%s)", self.processes,
                         context.get_start_method())
            return self._executor

    @contextmanager
    def lease(self) -> Iterator[ParsePool]:
        """Use the pool for one round; the processes stop when the last round using them
        ends."""
        with self._lock:
            self._leases += 1
        try:
            yield self
        finally:
            with self._lock:
                self._leases -= 1
                idle = self._leases == 0
            if idle:
                self.close()

    @property
    def started(self) -> bool:
        """The worker processes are running."""
        return self._executor is not None

    def warm(self) -> None:
        """Fork the workers now when this process runs no other thread (a fork is cheap and
        safe only then: call it before starting threads); else they start with the first
        parse (a round that parses nothing starts none)."""
        if self.enabled and self._executor is None and _can_fork():
            self.start(wait=False)

    def start(self, *, wait: bool = True) -> list[int]:
        """Start the worker processes now (else they start with the first parse), from the
        calling thread: call it before starting threads of your own. With `wait`, until each
        answers; their process ids."""
        try:
            executor = self._pool()
            futures = [executor.submit(os.getpid) for _ in range(self.processes)]
            if wait:
                for future in futures:
                    future.result()
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._give_up(exc)
            return []
        return sorted(executor._processes or {})

    def parse(self, source: Source, fetched: Fetched, known: Screen) -> Parsed:
        """`source.parse(fetched)`, screened, in a worker process (in this one, unscreened,
        once the processes failed). Raises what the parse raised (a `MonitorError`)."""
        if self._failed:
            return _parse_here(source, fetched)
        portable = replace(fetched, headers=dict(fetched.headers))
        try:
            future = self._pool().submit(_parse_screened, source.kind, source.source_id,
                                         source.options, portable, known)
            parsed = future.result()
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._give_up(exc)
            return _parse_here(source, fetched)
        if parsed.refused is not None:
            raise ParseError(parsed.refused, source=source.source_id, url=fetched.target.url)
        return parsed

    def _give_up(self, exc: BaseException) -> None:
        """The processes failed: parse in this process from now on (said once)."""
        with self._lock:
            executor, self._executor = self._executor, None
            first, self._failed = not self._failed, True
        if first:
            log.warning("parse processes failed (%s: %s); parsing in the daemon's process",
                        type(exc).__name__, exc)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker processes (waits for the parses in flight) unless a round still
        holds a lease; the next parse starts them again."""
        with self._lock:
            if self._leases:
                return
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _can_fork() -> bool:
    """No other thread runs (a fork copies nothing half-locked) and the platform forks."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def _context() -> multiprocessing.context.BaseContext:
    """`fork` when no other thread runs (`_can_fork`), else `forkserver`."""
    if _can_fork():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["monitor.parse_pool"])
    return context


def _parse_here(source: Source, fetched: Fetched) -> Parsed:
    observations = source.parse(fetched)
    return Parsed(observations, len(observations))


# ---------------------------------------------------------------------------- in a worker


@dataclass
class _Worker:
    matcher: Matcher
    client: httpx.Client
    sources: dict[tuple[str, str], Source]


_worker: _Worker | None = None


class _Offline(httpx.BaseTransport):
    """The transport of a worker's client: a pure parse never sends a request (and a client
    with no network builds no TLS context, a worker's slowest start)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise MonitorError(f"a parse worker does not fetch ({request.url}): this source's "
                           "parse is not pure")


def _start_worker(watches: tuple[WatchConfig, ...]) -> None:
    global _worker
    offline = httpx.Client(transport=_Offline(), trust_env=False)
    _worker = _Worker(matcher=Matcher(watches), client=offline, sources={})


def _no_clock() -> datetime:
    raise MonitorError("a parse worker has no clock: this source's parse is not pure")


def _parse_screened(kind: str, source_id: str, options: SourceOptions, fetched: Fetched,
                    known: Screen) -> Parsed:
    worker = _worker
    if worker is None:  # pragma: no cover - the initializer always ran
        raise MonitorError("parse worker not started")
    source = worker.sources.get((kind, source_id))
    if source is None or source.options != options:
        make: Callable[..., Any] = source_class(kind)
        source = worker.sources[(kind, source_id)] = make(source_id, options, worker.client,
                                                          _no_clock)
    try:
        if worker.matcher.screens:
            observations, parsed = source.parse_gated(fetched, ScreenGate(known, worker.matcher))
        else:
            observations = source.parse(fetched)
            parsed = len(observations)
    except SourceError as exc:  # sent back as text: its fields do not survive pickling
        return Parsed([], 0, refused=exc.detail)
    return Parsed(screen(observations, known, worker.matcher), parsed)
