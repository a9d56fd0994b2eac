"""`court-monitor run` as a real process: polls on schedule, notifies systemd, stops on SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes.feed_server import FeedServer, Item, rss
from tests.fakes.smtp import free_port

ITEM = Item("dcd", "1:26-cv-00412", "Doe v. U.S. Citizenship and Immigration Services",
            "PETITION for Writ of Mandamus", 1, case_id="290001")


def raw_get(port: int, path: str) -> int:
    """The status of a GET whose path is sent byte for byte (http.client does not normalize)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_run_polls_on_schedule_notifies_and_stops_cleanly(tmp_path: Path) -> None:
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    with FeedServer() as server:
        server.set("/dcd/rss", rss("dcd", [ITEM]))
        port = free_port()
        config = tmp_path / "config.toml"
        config.write_text(f"""
[server]
enabled = true
bind = "127.0.0.1"
port = {port}

[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "{server.base}/{{court}}/rss"
interval = "1s"
jitter = "0s"

[[subscription]]
name = "console"
urls = ["console://"]
""")
        env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "2000000"}
        env.pop("WATCHDOG_PID", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        try:
            assert wait_for(lambda: server.hits.get("/dcd/rss", 0) >= 3, 60), \
                "the daemon did not poll on schedule"
            messages: list[str] = []
            deadline = time.monotonic() + 10
            wanted = ("READY=1", "STATUS=polled pacer-rss", "WATCHDOG=1")
            while time.monotonic() < deadline and not all(
                    any(w in m for m in messages) for w in wanted):
                with contextlib.suppress(TimeoutError):
                    messages.append(notify.recv(4096).decode())
            assert any("READY=1" in m for m in messages)
            assert any(m.startswith("STATUS=polled pacer-rss") for m in messages)
            assert any("WATCHDOG=1" in m for m in messages)
            base = f"http://127.0.0.1:{port}"
            health = httpx.get(f"{base}/health", timeout=10)
            assert health.status_code == 200
            assert health.json()["sources"][0]["id"] == "pacer-rss"
            # The feeds job renders soon after a poll that brought events (it is woken).
            assert wait_for(lambda: b"PETITION for Writ of Mandamus" in httpx.get(
                f"{base}/feeds/all.atom", timeout=10).content, 30)
            atom = httpx.get(f"{base}/feeds/all.atom", timeout=10)
            assert atom.headers["content-type"] == "application/atom+xml"
            assert b"PETITION for Writ of Mandamus" in atom.content
            # The database sits at feeds/../monitor.db. httpx would normalize the path to
            # /monitor.db before sending it, so the request goes out raw, as an attacker sends it.
            for path in ("/feeds/../monitor.db", "/feeds/%2e%2e/monitor.db",
                         "/feeds/..%2fmonitor.db", "/feeds//../monitor.db"):
                assert raw_get(port, path) == 404, path
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            notify.close()
    assert proc.returncode == 0, err
    assert "court-monitor stopped" in err
    assert "Doe v. U.S. Citizenship" in out  # the console channel printed the alert
    assert out.count("PETITION for Writ of Mandamus") >= 1
    assert (tmp_path / "feeds" / "all.atom").is_file()
