"""Fetches of one round in parallel, within a per-host limit, handed back in order.

httpx limits connections in total, not per host, so `HostLimiter` holds one semaphore per host
(`[http] per_host_connections`), shared by every source of the process: a court's server never
sees more requests at once than configured, whichever sources ask. `fetch_in_order` runs the
fetches of one round on a few threads and yields each outcome in the order of its target, so the
caller stores in order while later fetches are still on the wire (and, with `after`, already
parsed on the fetch threads, their host slots released).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

__all__ = ["FETCH_WORKERS", "HostLimiter", "Outcome", "fetch_in_order", "host_of", "useful_threads"]

#: threads fetching for one round at most (the shared client keeps 8 connections per host slot)
FETCH_WORKERS = 8

T = TypeVar("T")
R = TypeVar("R")


def host_of(url: str) -> str:
    """The host (with port) a URL's request goes to; the whole URL when it has none."""
    parts = urlsplit(url)
    return (parts.netloc or url).lower()


class HostLimiter:
    """At most `per_host` requests in flight to any one host, across threads."""

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def _semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = threading.BoundedSemaphore(self.per_host)
            return slot

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the host's slots for the duration of a request."""
        semaphore = self._semaphore(host_of(url))
        with semaphore:
            yield


def useful_threads(urls: Iterable[str], per_host: int, workers: int, *,
                   off_slot: int = 0) -> int:
    """How many fetch threads can be busy at once for these URLs: at most `workers`; as many
    as can hold a host slot at once (per host no more than `per_host` nor its number of URLs),
    plus `off_slot` threads busy with work that holds no slot (`after`). A thread more would
    only wait for a slot."""
    by_host = Counter(host_of(url) for url in urls)
    slots = sum(min(per_host, count) for count in by_host.values())
    return min(workers, slots + off_slot if slots else 0)


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """What fetching one item gave: its value, or the exception it raised."""

    item: T
    value: R | None = None
    error: BaseException | None = None


def fetch_in_order(items: Sequence[T], fetch: Callable[[T], R], *, url: Callable[[T], str],
                   limiter: HostLimiter, workers: int = FETCH_WORKERS,
                   after: Callable[[T, R], R] | None = None, after_busy: int = 0
                   ) -> Generator[Outcome[T, R], None, None]:
    """Run `fetch` on every item (at most `workers` at once, each holding its host's slot) and
    yield the outcomes in the items' order. `after(item, value)`, when given, runs on the same
    thread once the slot is released (work on the response that need not hold a connection);
    what it returns is the outcome's value, what it raises its error. No more threads start
    than can be busy at once (`useful_threads`): those that can hold a slot, plus `after_busy`
    for the threads `after` keeps busy at once (one waiting on each parse process, say). A
    round on one host with no `after_busy` runs on `per_host` threads at most, on the calling
    thread alone when that is one. Closing the iterator early cancels what has not started
    yet."""

    def one(item: T) -> R:
        with limiter.slot(url(item)):
            value = fetch(item)
        return value if after is None else after(item, value)

    threads = useful_threads(map(url, items), limiter.per_host, workers,
                             off_slot=after_busy) if workers > 1 else 1
    if threads <= 1:
        for item in items:
            yield _outcome(item, one)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch")
    try:
        futures: list[tuple[T, Future[R]]] = [(item, pool.submit(one, item)) for item in items]
        for item, future in futures:
            try:
                yield Outcome(item, value=future.result())
            except Exception as exc:  # handed to the caller as data, in order
                yield Outcome(item, error=exc)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(item: T, one: Callable[[T], R]) -> Outcome[T, R]:
    try:
        return Outcome(item, value=one(item))
    except Exception as exc:
        return Outcome(item, error=exc)
