"""Configuration: resolution, defaults, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import find_config_file, load_config, parse_duration
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_embedded_defaults_serve_the_mission(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none")}
    config = load_config(None, env)
    assert config.path == "<embedded defaults>"
    assert [s.kind for s in config.sources] == ["pacer_rss", "ice_287g"]
    courts = config.sources[0].options.courts
    assert "dcd" in courts and {"flmd", "txsd", "gand", "scd", "vaed", "nced"} <= set(courts)
    assert config.watches[0].name == "287g-mandamus"
    assert "28:1361" in config.watches[0].cause
    ice = config.sources[1].options  # 287(g) lists found from ICE's page, endings on evidence
    assert ice.page_url == "https://www.ice.gov/identify-and-arrest/287g"
    assert not ice.participating_url and not ice.pending_url
    assert (ice.confirm_absences, ice.confirm_after, ice.max_loss) == (3, "2d", 0.2)
    assert config.subscriptions[0].channels == ("console://",)
    assert config.database_url.startswith("sqlite:///")


def test_example_config_is_valid_and_documents_every_top_level_key(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.setenv("COURT_MONITOR_ALERT_URLS", "json://127.0.0.1:9/")
    monkeypatch.setenv("COURTLISTENER_TOKEN", "secret-token-value")
    example = ROOT / "config.example.toml"
    config = load_config(str(example))
    assert config.sources and config.watches and config.subscriptions
    text = example.read_text()
    for key in ("[database]", "[feeds]", "[http]", "[deadlines]", "[escalation]", "[server]",
                "[logging]", "[[source]]", "[[watch]]", "[[subscription]]", "[[matter]]",
                "[[deadline_rule]]"):
        assert key in text


def test_resolution_order(tmp_path: Path) -> None:
    explicit = write(tmp_path, "")
    xdg = tmp_path / "xdg" / "court-monitor"
    xdg.mkdir(parents=True)
    (xdg / "config.toml").write_text("")
    systemd = tmp_path / "etc"
    systemd.mkdir()
    (systemd / "config.toml").write_text("")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "CONFIGURATION_DIRECTORY": str(systemd)}
    assert find_config_file(str(explicit), env) == explicit
    assert find_config_file(None, {**env, "COURT_MONITOR_CONFIG": "/x.toml"}) == Path("/x.toml")
    assert find_config_file(None, env) == systemd / "config.toml"
    assert find_config_file(None, {"XDG_CONFIG_HOME": env["XDG_CONFIG_HOME"]}) == \
        xdg / "config.toml"


def test_a_file_with_sources_replaces_default_sources_but_keeps_default_watches(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, """
[[source]]
id = "mine"
kind = "pacer_rss"
courts = ["dcd"]
""")
    config = load_config(str(path), {})
    assert [s.id for s in config.sources] == ["mine"]
    assert [w.name for w in config.watches] == ["287g-mandamus"]
    empty = load_config(str(write(tmp_path, "[database]\nurl = ''\n")), {})
    assert empty.database_url.startswith("sqlite:///")  # empty string means unset


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[database]\nurlx = 'x'\n", "database.urlx", "unknown key"),
        ("[[watch]]\nname = 'w'\ncolour = 'red'\n", "watch[0].colour", "unknown key"),
        ("[[source]]\nid='a'\nkind='pacer_rss'\ncourtz=['dcd']\n", "source[0].courtz",
         "unknown key"),
        ("[[source]]\nid='a'\nkind='pacer_rss'\ncourts='dcd'\n", "source[0].courts",
         "valid list"),
        ("[[source]]\nid='a'\nkind='pacer_rss'\ninterval=15\n", "source[0].interval",
         "valid string"),
        ("[[source]]\nid='a'\nkind='pacer_rss'\ninterval='15 minutes'\n",
         "source[0].interval", "duration"),
        ("[[source]]\nid='a'\nkind='nope'\n", "source[0].kind", "unknown kind"),
        ("[http]\nmax_bytes = 'big'\n", "http.max_bytes", "integer"),
        ("[[watch]]\nname='w'\nentry_text=['(unclosed']\n", "watch[0].entry_text",
         "regular expression"),
        ("[[subscription]]\nname='s'\nurls_env='COURT_MONITOR_UNSET_VAR'\n",
         "subscription[0].urls_env", "COURT_MONITOR_UNSET_VAR is not set"),
        ("[[subscription]]\nname='s'\nurls_file='/nonexistent/urls'\n",
         "subscription[0].urls_file", "does not exist"),
        ("[[subscription]]\nname='s'\n", "subscription[0].urls", "no channel"),
        ("[[watch]]\nname='w'\n[[watch]]\nname='w'\n", "watch[1].name", "duplicate"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str,
                                          expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path), {})
    message = str(info.value)
    assert str(path) in message
    assert f"{key}:" in message
    assert expected in message


def test_missing_secret_never_echoes_a_secret_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "urls"
    secret_file.write_text("mailtos://user:hunter2@smtp.example.org")
    path = write(tmp_path, f"""
[[subscription]]
name = "ok"
urls_file = "{secret_file}"

[[source]]
id = "cl"
kind = "courtlistener"
token_env = "COURT_MONITOR_NO_SUCH_TOKEN"
""")
    assert main(["--config", str(path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "source[0].token_env" in err and str(path) in err
    assert "hunter2" not in err
    monkeypatch.setenv("COURT_MONITOR_NO_SUCH_TOKEN", "tok-123456")
    assert main(["--config", str(path), "check-config"]) == 0
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err and "tok-123456" not in out.out + out.err


def test_bad_toml_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[database\nurl=")
    assert main(["--config", str(path), "check-config"]) == 2
    assert str(path) in capsys.readouterr().err


def test_durations() -> None:
    assert parse_duration("15m").total_seconds() == 900
    assert parse_duration("2d").days == 2
    with pytest.raises(ValueError):
        parse_duration("15")


def test_short_interval_on_a_public_host_warns(tmp_path: Path) -> None:
    path = write(tmp_path, """
[[source]]
id = "a"
kind = "pacer_rss"
courts = ["dcd"]
interval = "1m"

[[source]]
id = "b"
kind = "pacer_rss"
courts = ["dcd"]
url_template = "http://127.0.0.1:8080/{court}"
interval = "1m"
""")
    warnings = load_config(str(path), {}).warnings
    assert len(warnings) == 1 and warnings[0].startswith("source[0].interval")
