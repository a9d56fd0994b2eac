"""`court-monitor serve`: the site alone, as a process; SIGTERM stops it with exit 0."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


@pytest.mark.e2e
def test_serve_runs_the_site_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[[subscription]]
name = "console"
urls = ["console://"]
""")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        found = None
        end = time.monotonic() + 60
        while found is None and time.monotonic() < end:
            line = proc.stderr.readline()
            if not line:
                break
            found = re.search(r"site on (http://127\.0\.0\.1:\d+)/", line)
        assert found is not None, "serve did not say where it listens"
        base = found.group(1)
        deadline = time.monotonic() + 20
        while True:
            try:
                home = httpx.get(f"{base}/", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert home.status_code == 200 and "What is watched" in home.text
        assert httpx.get(f"{base}/api/cases", timeout=5).json() == []
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
