"""Every request has one total deadline (connect + all reads), the size cap holds while the body
streams, and the stop event (SIGTERM) abandons a fetch in flight within a moment.

The bounds asserted are correctness bounds with a wide margin (the failure they guard against
is a fetch that runs for the server's whole 30 s), not performance figures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import HttpConfig
from monitor.errors import DeferredError, FetchError
from monitor.http_client import make_client
from sources.base import Target, TargetState
from sources.fetching import conditional_get
from tests.fakes.hostile_server import HostileServer

ROOT = Path(__file__).resolve().parent.parent


def _now() -> datetime:
    return datetime(2026, 3, 26, 15, 0, tzinfo=UTC)


def _fetch(url: str, *, timeout: str = "1s", stop: threading.Event | None = None,
           max_bytes: int = 20 * 1024 * 1024) -> float:
    """Fetch `url`; returns the seconds it took to fail (it must fail)."""
    client = make_client(HttpConfig(timeout=timeout, retries=0), stop=stop)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as caught:
            conditional_get(client, Target(key="x", url=url), TargetState(), source_id="s",
                            clock=_now, max_bytes=max_bytes)
    finally:
        client.close()
    _fetch.last_error = caught.value  # type: ignore[attr-defined]
    return time.monotonic() - started


def test_a_slow_drip_ends_at_the_total_deadline() -> None:
    with HostileServer(drip_every=0.2) as server:
        took = _fetch(server.url("/drip"), timeout="1s")
        assert "total deadline of 1s" in str(_fetch.last_error)  # type: ignore[attr-defined]
    assert took < 1 + 2.0  # deadline 1 s; the drip alone would run for 30 s


def test_a_hanging_server_ends_at_the_total_deadline() -> None:
    with HostileServer() as server:
        took = _fetch(server.url("/hang"), timeout="1s")
    assert took < 1 + 2.0


def test_a_hanging_server_ends_even_when_the_process_clock_is_frozen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # libfaketime can freeze the process clock; the kernel's socket timeouts still pass.
    from types import SimpleNamespace

    from sources import deadline_transport

    monkeypatch.setattr(deadline_transport, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    with HostileServer() as server:
        started = time.monotonic()
        _fetch(server.url("/hang"), timeout="1s")
    assert time.monotonic() - started < 1 + 2.0


def test_stop_event_abandons_a_fetch_in_flight_as_deferred_not_failed() -> None:
    stop = threading.Event()
    result: dict[str, object] = {}
    with HostileServer() as server:
        client = make_client(HttpConfig(timeout="60s", retries=0), stop=stop)

        def fetch() -> None:
            try:
                conditional_get(client, Target(key="x", url=server.url("/hang")), TargetState(),
                                source_id="s", clock=_now)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                result["error"] = exc
            result["done"] = time.monotonic()

        worker = threading.Thread(target=fetch)
        worker.start()
        while server.hit("/hang") == 0:
            time.sleep(0.02)
        stopped_at = time.monotonic()
        stop.set()
        worker.join(10)
        client.close()
    assert not worker.is_alive()
    assert isinstance(result["error"], DeferredError)
    assert float(result["done"]) - stopped_at < 2.0  # type: ignore[arg-type]


def test_stop_event_abandons_a_connect_that_hangs() -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, as a firewall that
    # blackholes a court's host does, so the connect hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            stop = threading.Event()
            threading.Timer(0.3, stop.set).start()
            client = make_client(HttpConfig(timeout="60s", retries=0), stop=stop)
            started = time.monotonic()
            try:
                with pytest.raises(DeferredError):
                    conditional_get(client, Target(key="x", url=f"http://127.0.0.1:{port}/"),
                                    TargetState(), source_id="s", clock=_now)
            finally:
                client.close()
            took = time.monotonic() - started
    assert took < 0.3 + 2.0  # the connect timeout alone would be 10 s


def test_size_cap_holds_while_streaming_a_body_without_length() -> None:
    cap = 256 * 1024
    with HostileServer() as server:
        tracemalloc.start()
        try:
            _fetch(server.url("/huge"), timeout="10s", max_bytes=cap)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "exceeds the cap" in str(_fetch.last_error)  # type: ignore[attr-defined]
    assert peak < 8 * cap  # the server would send 64 MB


def test_http_max_bytes_binds_every_source_even_when_the_source_allows_more() -> None:
    client = make_client(HttpConfig(timeout="10s", retries=0, max_bytes=64 * 1024))
    with HostileServer() as server:
        try:
            with pytest.raises(FetchError, match=r"\[http\] max_bytes"):
                conditional_get(client, Target(key="x", url=server.url("/huge")), TargetState(),
                                source_id="s", clock=_now, max_bytes=20 * 1024 * 1024)
        finally:
            client.close()


def _daemon_config(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[http]
timeout = "60s"

[[source]]
id = "rss"
kind = "pacer_rss"
courts = ["hang", "drip"]
feed_urls = {{ hang = "{base}/hang", drip = "{base}/drip" }}
interval = "1h"

[[subscription]]
name = "console"
urls = ["console://"]
""")
    return path


@pytest.mark.e2e
def test_run_stops_within_seconds_of_sigterm_mid_fetch(tmp_path: Path) -> None:
    with HostileServer() as server:
        cfg = _daemon_config(tmp_path, server.base)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(cfg), "run"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while server.hit("/hang") == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.hit("/hang") == 1, "the daemon never fetched"
            time.sleep(0.3)  # well inside the 60 s fetch
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            finally:
                took = time.monotonic() - signalled
        finally:
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate()
    assert proc.returncode == 0, err
    print(f"run stopped {took:.2f}s after SIGTERM")
    assert took < 5.0, f"run took {took:.1f}s to stop"
    assert server.hit("/drip") == 0  # the round ended; no further target was fetched
    assert "Traceback" not in err
    status = subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "status",
                             "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert '"consecutive_failures": 0' in status.stdout  # a stop is not a failure
