"""`--help`, `calc`, `init` and `check-config` never open the database and import nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlmodel", "sqlalchemy", "apprise", "feedgen", "icalendar", "openpyxl", "alembic")


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_help_and_calc_import_nothing_heavy() -> None:
    modules = imported_after(
        "import contextlib, io\n"
        "from monitor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['calc', '--from', '2026-03-26', '--days', '60', '--json'])\n"
    )
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_init_and_check_config_open_no_database(tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    path = tmp_path / "config.toml"
    code = (
        "import os, contextlib, io\n"
        f"os.environ['XDG_DATA_HOME'] = {str(env_home)!r}\n"
        "from monitor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['init', {str(path)!r}]) == 0\n"
        f"    assert main(['--config', {str(path)!r}, 'check-config']) == 0\n"
    )
    modules = imported_after(code)
    assert "sqlalchemy" not in modules and "apprise" not in modules
    assert not env_home.exists()  # no database file was created
    assert path.read_text().startswith("# court-monitor")
