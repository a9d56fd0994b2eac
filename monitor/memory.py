"""Keeping the daemon's resident memory down on glibc (a no-op elsewhere).

glibc gives every thread that contends for malloc an arena of its own (up to 8 per core) and
keeps freed memory in them; a long-running process with a pool of job threads so holds tens of
megabytes it no longer uses. The daemon caps the arenas before its threads start
(`fewer_malloc_arenas`, what `MALLOC_ARENA_MAX` does) and hands freed memory back to the system
after every job (`release_free_memory`, glibc's `malloc_trim`).

`collect_only_new_objects` keeps the collector's full passes off what existed before a short
job (a feed render after a poll round: a full pass over the round's hundreds of thousands of
live objects cost 0.2 s of a 0.5 s render, and found none of the render's garbage).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

__all__ = ["MALLOC_ARENAS", "collect_only_new_objects", "fewer_malloc_arenas",
           "release_free_memory"]

_frozen = threading.Lock()

#: glibc's mallopt parameter for the number of malloc arenas
_M_ARENA_MAX = -8
#: arenas the daemon's threads share
MALLOC_ARENAS = 2


@cache
def _glibc() -> Any:
    """The C library when it is glibc (it has `malloc_trim`), else None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def fewer_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before the threads start); False when not glibc."""
    libc = _glibc()
    return bool(libc.mallopt(_M_ARENA_MAX, arenas)) if libc is not None else False


def release_free_memory(*_event: Any) -> None:
    """Return freed heap memory to the system (usable as a scheduler event listener)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextmanager
def collect_only_new_objects() -> Iterator[None]:
    """Within the block the garbage collector looks only at objects made inside it (`gc.freeze`):
    what was alive before is not the block's garbage. Returned to the collector afterwards
    (`gc.unfreeze`); a block entered while another one runs (another thread) changes nothing."""
    if not _frozen.acquire(blocking=False):
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        _frozen.release()
