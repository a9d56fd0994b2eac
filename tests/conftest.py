"""Shared test fixtures: the real corpus (skips cleanly when absent), a fixed clock."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def find_corpus() -> Path | None:
    """The real corpus: $COURT_MONITOR_CORPUS, else ../shared/corpus beside the checkout."""
    env = os.environ.get("COURT_MONITOR_CORPUS", "")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "corpus")
    for path in candidates:
        if path.is_dir():
            return path
    return None


CORPUS = find_corpus()


@pytest.fixture
def corpus() -> Path:
    """The corpus folder, or a clean skip when it is absent."""
    if CORPUS is None:
        pytest.skip("real corpus absent (set COURT_MONITOR_CORPUS or put shared/ beside the repo)")
    return CORPUS


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


class FixedClock:
    """An injectable clock that tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**kwargs)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


ClockFactory = Callable[[datetime], FixedClock]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or writes into their data directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for name in ("COURT_MONITOR_CONFIG", "CONFIGURATION_DIRECTORY", "STATE_DIRECTORY",
                 "NOTIFY_SOCKET", "WATCHDOG_USEC"):
        monkeypatch.delenv(name, raising=False)


_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    """Resolve loopback names and addresses only: no test may reach the internet (the embedded
    defaults name real hosts: PACER courts, ICE's 287(g) page)."""
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = name in ("localhost", "")
    if not loopback:
        raise socket.gaierror(socket.EAI_NONAME, f"tests do not reach the internet ({name})")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)
