"""Writing feed files: atomically (temp file + os.replace), and only when the bytes changed."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from monitor.errors import MonitorError

__all__ = ["safe_name", "write_if_changed"]

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
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise MonitorError(f"cannot read feed file {path}: {exc.strerror}") from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)  # served by any static server
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise MonitorError(f"cannot write feed file {path}: {exc.strerror}") from exc
    return True
