"""Configs and arguments that used to pass `check-config` and crash later, or print a traceback.

Each bad config is refused by `check-config` and at start (`poll --once`) with one line naming
the file and the key, exit 2; no secret is echoed; an unexpected exception in any command is
one line, with the traceback only under `-v`.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.cli import main, run_command
from tests.cli_helpers import run, write_config
from tests.conftest import FixedClock

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port
SECRET = "hunter2secretpw"


def _sub(extra: str) -> str:
    return f'[[subscription]]\nname = "s"\nurls = ["console://"]\n{extra}\n'


BAD_CONFIGS = {
    "cases-garbage": (_sub('cases = ["garbage"]'), "subscription[0].cases"),
    "case-not-a-docket": (_sub('cases = ["dcd:not a docket"]'), "subscription[0].cases"),
    "bad-zone-digest": ('[deadlines]\ntimezone = "Mars/Olympus_Mons"\n'
                        + _sub('mode = "digest"'), "deadlines.timezone"),
    "database-nope": ('[database]\nurl = "nope://x"\n', "database.url"),
    "database-driver": ('[database]\nurl = "postgresql+nodriver://u@h/db"\n', "database.url"),
    "timeout-zero": ('[http]\ntimeout = "0s"\n', "http.timeout"),
    "ftp-template": ('[[source]]\nid = "x"\nkind = "pacer_rss"\ncourts = ["dcd"]\n'
                     'url_template = "ftp://example.org/{court}"\n', "source[1].url_template"),
    "javascript-feed-url": ('[[source]]\nid = "x"\nkind = "pacer_rss"\ncourts = ["dcd"]\n'
                            'feed_urls = { dcd = "javascript:alert(1)" }\n',
                            "source[1].feed_urls.dcd"),
    "web-page-file-url": ('[[source]]\nid = "x"\nkind = "web_page"\nurl = "file:///etc/passwd"\n'
                          'selector = "p"\n', "source[1].url"),
    "feeds-base-url": ('[feeds]\nbase_url = "javascript:alert(1)//"\n', "feeds.base_url"),
    "apprise-unknown-scheme": (
        f'[[subscription]]\nname = "s"\nurls = ["xyzzy://user:{SECRET}@host"]\n',
        "subscription[0].urls"),
    "apprise-unparseable-mail": (
        f'[[subscription]]\nname = "s"\nurls = ["mailto://user:{SECRET}@"]\n',
        "subscription[0].urls"),
}


def _config(tmp_path: Path, extra: str) -> str:
    """A valid config (one RSS source, a console subscription) plus `extra`."""
    database = "" if "[database]" in extra else f'[database]\nurl = "sqlite:///{tmp_path}/m.db"\n'
    if "[[subscription]]" not in extra:
        extra += '\n[[subscription]]\nname = "console"\nurls = ["console://"]\n'
    path = tmp_path / "config.toml"
    feeds = "" if "[feeds]" in extra else f'[feeds]\ndir = "{tmp_path / "feeds"}"\n'
    path.write_text(f"""{database}
{feeds}
[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "{DEAD}/{{court}}/rss"

{extra}
""")
    return str(path)


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("command", [["check-config"], ["poll", "--once", "--no-dispatch"]])
def test_bad_config_is_one_line_naming_file_and_key_exit_2(
    name: str, command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, key = BAD_CONFIGS[name]
    cfg = _config(tmp_path, extra)
    code = main(["--config", cfg, *command])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("court-monitor: configuration error: ")
    assert f"{cfg}: {key}: " in err
    assert SECRET not in err and "Traceback" not in err


def test_config_not_utf8_names_file_and_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = Path(write_config(tmp_path, DEAD))
    cfg.write_bytes(cfg.read_bytes() + b'\n[[watch]]\nname = "caf\xe9"\ncase_name = ["x"]\n')
    for command in (["check-config"], ["poll", "--once"]):
        assert main(["--config", str(cfg), *command]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not UTF-8" in err and str(cfg) in err, err


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 26, 15, 0, tzinfo=UTC))


def test_events_since_absurd_duration_is_a_clear_error(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, DEAD)
    for since in ("99999999999d", "999999999d"):
        assert run(["--config", cfg, "events", "--since", since], clock) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--since" in err, err


def test_backup_to_a_missing_folder_is_a_clear_error(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, DEAD)
    dest = tmp_path / "no" / "such" / "dir" / "x.db"
    assert run(["--config", cfg, "backup", str(dest)], clock) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err, err
    assert not dest.parent.exists()


def test_track_refuses_what_is_not_a_docket(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, DEAD)
    assert run(["--config", cfg, "track", "dcd", "not a docket"], clock) == 2
    assert "not a docket number" in capsys.readouterr().err
    assert run(["--config", cfg, "track", "dcd", "1:25-cv-1234"], clock) == 0
    assert run(["--config", cfg, "cases"], clock) == 0
    out = capsys.readouterr().out
    assert "25-cv-01234" in out and "not a docket" not in out


def test_case_with_an_unknown_court_says_so(
        tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, DEAD)
    assert run(["--config", cfg, "case", "zzz", "1:25-cv-1"], clock) == 1
    assert "unknown court 'zzz'" in capsys.readouterr().err
    assert run(["--config", cfg, "case", "dcd", "1:25-cv-1"], clock) == 1
    assert "unknown court" not in capsys.readouterr().err


def test_unexpected_exception_is_one_line_and_traceback_only_with_v(
        monkeypatch: pytest.MonkeyPatch, clock: FixedClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    def boom(args: argparse.Namespace, clock: object) -> int:
        raise RuntimeError(f"unexpected\nat postgresql://monitor:{SECRET}@db/x")

    for verbose in (False, True):
        args = argparse.Namespace(command="status", verbose=verbose, handler=boom)
        assert run_command(args, clock=clock) == 1
        err = capsys.readouterr().err
        first = err.splitlines()[0]
        assert first.startswith("court-monitor: error: RuntimeError: unexpected")
        assert SECRET not in first
        assert ("Traceback" in err) is verbose
        if not verbose:
            assert len(err.strip().splitlines()) == 1
