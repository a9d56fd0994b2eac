"""Keeping the daemon's resident memory down on glibc (a no-op elsewhere).

glibc gives every thread that contends for malloc an arena of its own (up to 8 per core) and
keeps freed memory in them; a long-running process with a pool of job threads so holds tens of
megabytes it no longer uses. The daemon caps the arenas before its threads start
(`fewer_malloc_arenas`, what `MALLOC_ARENA_MAX` does) and hands freed memory back to the system
after every job (`release_free_memory`, glibc's `malloc_trim`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any

__all__ = ["MALLOC_ARENAS", "fewer_malloc_arenas", "release_free_memory"]

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
