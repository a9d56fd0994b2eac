"""Writing feed files: atomically (temp file + os.replace), and only when the bytes changed.

`write_all_if_changed` writes many at once: every changed file to its temporary file, then their
fsyncs in parallel (the disk commits them together instead of one flush after another: a first
render of hundreds of feeds waited on hundreds of flushes in a row), then each renamed into place.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from monitor.errors import MonitorError

__all__ = ["FeedWriter", "safe_name", "write_all_if_changed", "write_if_changed"]

#: fsyncs in flight at once when many feed files are written together
_SYNC_WORKERS = 16
#: files written (and their descriptors open) at once
_BATCH = 64

_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def safe_name(*parts: str) -> str:
    """A file-name-safe slug of the parts joined by '-'.

    `safe_name("dcd", "1:26-cv-00412")` is `dcd-1-26-cv-00412`.
    """
    slug = "-".join(_UNSAFE.sub("-", part.strip().lower()).strip("-.") for part in parts)
    return slug or "unnamed"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically unless it already holds exactly those bytes.

    Returns True when the file was (re)written. Readers never see a half-written file: the bytes
    go to a temporary file in the same folder, which then replaces the old one.
    """
    return bool(write_all_if_changed([(path, data)]))


def _unchanged(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise MonitorError(f"cannot read feed file {path}: {exc.strerror}") from exc


def _sync(fd: int) -> None:
    os.fsync(fd)


def write_all_if_changed(files: Iterable[tuple[Path, bytes]]) -> list[Path]:
    """Write each (path, data) as `write_if_changed` does; return the paths (re)written.

    The files go in batches of `_BATCH`: each file of a batch complete and on disk (fsyncs in
    parallel) before any is renamed into place, so readers see the old bytes or the new, never
    part of them; when writing fails nothing of the batch is renamed, and its temporary files
    are removed.
    """
    written: list[Path] = []
    batch: list[tuple[Path, bytes]] = []
    for path, data in files:
        if _unchanged(path, data):
            continue
        batch.append((path, data))
        if len(batch) >= _BATCH:
            written += _write_batch(batch)
            batch = []
    if batch:
        written += _write_batch(batch)
    return written


def _write_batch(batch: list[tuple[Path, bytes]]) -> list[Path]:
    temps: list[tuple[Path, str]] = []
    fds: list[int] = []
    path = batch[0][0]
    try:
        try:
            for path, data in batch:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                           suffix=".tmp")
                fds.append(fd)
                temps.append((path, tmp))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, 0o644)  # served by any static server
            if len(fds) > 1:
                with ThreadPoolExecutor(max_workers=min(_SYNC_WORKERS, len(fds)),
                                        thread_name_prefix="fsync") as pool:
                    list(pool.map(_sync, fds))
            elif fds:
                _sync(fds[0])
        finally:
            for fd in fds:
                os.close(fd)
        for path, tmp in temps:
            os.replace(tmp, path)
        return [path for path, _ in temps]
    except BaseException as exc:
        for _, tmp in temps:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise MonitorError(f"cannot write feed file {path}: {exc.strerror}") from exc
        raise


class FeedWriter:
    """Collects rendered files and writes them with `write_all_if_changed`, a batch at a time
    (so a full rebuild never holds every feed in memory); `written` lists the files replaced.
    Use as a context manager: what is left is written on a clean exit."""

    def __init__(self) -> None:
        self.written: list[Path] = []
        self._batch: list[tuple[Path, bytes]] = []

    def add(self, path: Path, data: bytes) -> None:
        """Queue one file; the batch is written when full."""
        self._batch.append((path, data))
        if len(self._batch) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Write what is queued."""
        batch, self._batch = self._batch, []
        self.written += write_all_if_changed(batch)

    def __enter__(self) -> FeedWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.flush()
