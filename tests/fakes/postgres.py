"""A throwaway PostgreSQL server on 127.0.0.1 for tests (skips when PostgreSQL is absent).

`initdb` refuses to run as root (CI runs as root): the cluster then belongs to the `postgres`
user and is started through `runuser`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fakes.smtp import free_port


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster; yield its SQLAlchemy URL; stop and remove it."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="cm-pg-"))
    data, port = base / "data", free_port()
    if as_root:
        shutil.chown(base, "postgres")
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "monitor",
                    "-E", "UTF8"], **run)  # type: ignore[call-overload]
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l",
                    str(base / "log"), "-w", "start"], **run)  # type: ignore[call-overload]
    try:
        yield f"postgresql+psycopg://monitor@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)
