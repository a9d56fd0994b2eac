"""Writing feed files: atomically (temp file + os.replace), and only when the bytes changed.

`write_all_if_changed` writes many at once: every changed file to its temporary file, each
written and flushed to disk by a pool of threads (the disk commits them together instead of one
flush after another, and the file system's waits to create them overlap: a first render of
hundreds of feeds waited on hundreds of flushes and creations in a row), then each renamed into
place. `FeedWriter` collects the files of a render and writes them in as few such batches as its
memory bound allows (one for any render of an ordinary size).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from monitor.errors import MonitorError

__all__ = ["FeedWriter", "safe_name", "write_all_if_changed", "write_if_changed"]

#: files written and flushed at once when many feed files are written together
_SYNC_WORKERS = 8
#: bytes a `FeedWriter` holds before it writes them (a full rebuild of 20,000 case feeds is
#: written in batches of about this size, never held in memory at once)
_BATCH_BYTES = 8 << 20

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


def _write_temp(path: Path, data: bytes) -> str:
    """`data` in a new temporary file beside `path` (whose folder exists), on disk (fsync);
    its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, 0o644)  # served by any static server
        _sync(fd)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def write_all_if_changed(files: Iterable[tuple[Path, bytes]]) -> list[Path]:
    """Write each (path, data) as `write_if_changed` does; return the paths (re)written.

    Every changed file is complete and on disk (written and flushed in parallel) before any is
    renamed into place, so readers see the old bytes or the new, never part of them; when
    writing fails nothing is renamed, and the temporary files are removed.
    """
    batch = [(path, data) for path, data in files if not _unchanged(path, data)]
    if not batch:
        return []
    for folder in {path.parent for path, _ in batch}:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MonitorError(f"cannot write feed file {folder}: {exc.strerror}") from exc
    if len(batch) == 1:
        return _rename([(batch[0][0], _write_temp(*batch[0]))])
    with ThreadPoolExecutor(max_workers=min(_SYNC_WORKERS, len(batch)),
                            thread_name_prefix="feed-write") as pool:
        futures = [pool.submit(_write_temp, path, data) for path, data in batch]
    _raise_first_failure(futures, batch[0][0].parent)
    return _rename([(path, future.result())
                    for (path, _), future in zip(batch, futures, strict=True)])


def _raise_first_failure(futures: list[Future[str]], folder: Path) -> None:
    """When any write failed: remove every temporary file written and raise the first error
    (as a `MonitorError` for an OSError)."""
    errors = [f.exception() for f in futures]
    failed = next((e for e in errors if e is not None), None)
    if failed is None:
        return
    for future, error in zip(futures, errors, strict=True):
        if error is None:
            Path(future.result()).unlink(missing_ok=True)
    if isinstance(failed, OSError):
        raise MonitorError(f"cannot write feed file in {folder}: {failed.strerror}") from failed
    raise failed


def _rename(temps: list[tuple[Path, str]]) -> list[Path]:
    """Move each temporary file into place; the paths."""
    for path, tmp in temps:
        try:
            os.replace(tmp, path)
        except OSError as exc:
            for _, left in temps:
                Path(left).unlink(missing_ok=True)
            raise MonitorError(f"cannot write feed file {path}: {exc.strerror}") from exc
    return [path for path, _ in temps]


class FeedWriter:
    """Collects rendered files and writes them with `write_all_if_changed`, in one batch per
    `_BATCH_BYTES` (so a full rebuild never holds every feed in memory); `written` lists the
    files replaced. Use as a context manager: what is left is written on a clean exit."""

    def __init__(self) -> None:
        self.written: list[Path] = []
        self._batch: list[tuple[Path, bytes]] = []
        self._bytes = 0

    def add(self, path: Path, data: bytes) -> None:
        """Queue one file; the batch is written when full."""
        self._batch.append((path, data))
        self._bytes += len(data)
        if self._bytes >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write what is queued."""
        batch, self._batch, self._bytes = self._batch, [], 0
        self.written += write_all_if_changed(batch)

    def __enter__(self) -> FeedWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.flush()
