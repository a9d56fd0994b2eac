"""The shipped systemd unit: Type=notify with a watchdog, a dynamic user, hardening; it verifies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "court-monitor.service"


def directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        found.setdefault(key, []).append(value)
    return found


def test_unit_is_a_hardened_notify_service() -> None:
    d = directives()
    assert d["Type"] == ["notify"]
    assert d["WatchdogSec"] and d["DynamicUser"] == ["yes"]
    assert d["StateDirectory"] == ["court-monitor"]
    assert d["ConfigurationDirectory"] == ["court-monitor"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes"}.items():
        assert d[key] == [value], key
    assert "AF_INET" in d["RestrictAddressFamilies"][0]
    assert "@system-service" in d["SystemCallFilter"]
    assert d["ExecStart"][0].endswith("court-monitor run")
    assert "EnvironmentFile" in d  # secrets by file, never in the unit
    # A bad config exits 2 at start: restarting it every 30 s would only fill the journal.
    assert d["Restart"] == ["on-failure"] and d["RestartPreventExitStatus"] == ["2"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_verifies(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("court-monitor")
    if not script.exists():
        pytest.skip("console script not installed beside this interpreter")
    unit = tmp_path / "court-monitor.service"
    text = "\n".join(
        f"ExecStart={script} run" if line.startswith("ExecStart=") else line
        for line in UNIT.read_text().splitlines()
    )
    unit.write_text(text + "\n")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
