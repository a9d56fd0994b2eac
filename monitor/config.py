"""Configuration: TOML -> validated, typed models.

Resolution (contracts.md): `--config FILE`, else `$COURT_MONITOR_CONFIG`, else
`$CONFIGURATION_DIRECTORY/config.toml` (systemd), else `$XDG_CONFIG_HOME/court-monitor/config.toml`;
none found: the embedded defaults (`monitor/defaults.toml`). A file that lists any `[[source]]`,
`[[watch]]` or `[[subscription]]` replaces the defaults of that kind.

Every error is a `ConfigError` naming the file, the key path (`source[1].courts`) and what was
expected. Unknown keys are errors. An empty string means unset. Secrets (Apprise URLs, tokens)
come from environment variables or files; an absent key means "not used", a key naming an unset
variable or a missing file is an error, and no message ever echoes a secret value.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.config_checks import (
    check_apprise_urls,
    check_database_url,
    check_http_urls,
    check_timezone,
    parse_quiet_hours,
)
from monitor.deadlines.rules import load_rules
from monitor.errors import ConfigError
from sources import REGISTRY, source_class
from sources.durations import parse_duration
from sources.identity import parse_tracked_docket

__all__ = [
    "Config",
    "DatabaseConfig",
    "DeadlinesConfig",
    "FeedsConfig",
    "HttpConfig",
    "PollConfig",
    "MatterConfig",
    "ServerConfig",
    "SourceConfig",
    "SubscriptionConfig",
    "WatchConfig",
    "default_data_dir",
    "find_config_file",
    "load_config",
    "parse_duration",
]

log = logging.getLogger(__name__)

COMMON_SOURCE_KEYS = frozenset({"id", "kind", "interval", "jitter", "fail_after", "enabled"})


def default_data_dir() -> Path:
    """`$STATE_DIRECTORY` under systemd, else `$XDG_DATA_HOME/court-monitor`."""
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "court-monitor"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
    return patterns


class DatabaseConfig(_Model):
    """`[database]`."""

    url: str = ""


class FeedsConfig(_Model):
    """`[feeds]`: where Atom and ICS files are written, and how many entries a feed keeps."""

    dir: str = ""
    max_entries: int = Field(default=200, ge=1)
    base_url: str = ""
    title: str = "court-monitor"

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        bad = check_http_urls({"base_url": value})
        if bad is not None:
            raise ValueError(bad[1])
        return value


class HttpConfig(_Model):
    """`[http]`: the shared client."""

    user_agent: str = "court-monitor/0.1 (+https://github.com/court-monitor/court-monitor)"
    contact: str = ""
    timeout: str = "30s"
    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    per_host_connections: int = Field(default=1, ge=1)
    retries: int = Field(default=2, ge=0)

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError(f"must be more than 0s, got {value!r}")
        return value

    @property
    def timeout_s(self) -> float:
        return parse_duration(self.timeout).total_seconds()


class PollConfig(_Model):
    """`[poll]`: how rounds run. `parse_processes`: worker processes that parse a round's
    responses when it has many (`monitor.parse_pool`); 0 parses in the daemon's own process;
    unset: 2 on a machine of two cores or more, else 0."""

    parse_processes: int | None = Field(default=None, ge=0, le=64)


class DeadlinesConfig(_Model):
    """`[deadlines]`: reminders and clerk's-office closures."""

    timezone: str = "America/New_York"
    remind_at: time = time(8, 0)
    reminder_days: list[int] = Field(default_factory=lambda: [7, 3, 1, 0])
    closures: dict[str, list[date]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)


class EscalationConfig(_Model):
    """`[escalation]`: days overdue at which a matter climbs a step."""

    ladder: list[int] = Field(default_factory=lambda: [30, 90, 180])
    complaint_response_days: int = 90


class ServerConfig(_Model):
    """`[server]`: the daemon's small HTTP endpoint (feeds, health, webhooks); off by default."""

    enabled: bool = False
    bind: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    webhook_path_env: str = ""
    webhook_path_file: str = ""
    serve_feeds: bool = True
    #: the daemon's public base URL (as CourtListener reaches it, e.g. behind a proxy); with a
    #: webhook path it lets a source subscribe to pushes ("": not reachable, poll only)
    public_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("public_url must be an http(s) URL (how CourtListener reaches us)")
        return url


class LoggingConfig(_Model):
    """`[logging]`."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class WatchConfig(_Model):
    """`[[watch]]`: what makes a case ours. See matching.py for the semantics."""

    name: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    entry_text: list[str] = Field(default_factory=list)
    case_name: list[str] = Field(default_factory=list)
    cause: list[str] = Field(default_factory=list)
    nature_of_suit: list[str] = Field(default_factory=list)
    courts: list[str] = Field(default_factory=list)
    dockets: list[str] = Field(default_factory=list)
    match: Literal["any", "all"] = "any"

    @field_validator("entry_text", "case_name")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        return _check_regexes(patterns)

    @field_validator("dockets")
    @classmethod
    def _dockets(cls, specs: list[str]) -> list[str]:
        for spec in specs:
            parse_tracked_docket(spec)
        return specs


class SubscriptionConfig(_Model):
    """`[[subscription]]`: who hears about which events, and how.

    `urls` may be given inline, from `urls_env` (a variable holding URLs separated by spaces,
    commas or newlines) or from `urls_file`; the resolved list is `channels` (never logged).
    The special URL `console://` prints to the daemon's standard output.
    """

    name: str = Field(min_length=1)
    urls: list[str] = Field(default_factory=list)
    urls_env: str = ""
    urls_file: str = ""
    events: list[str] = Field(default_factory=lambda: ["*"])
    watches: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    courts: list[str] = Field(default_factory=list)
    cases: list[str] = Field(default_factory=list)
    states: list[str] = Field(default_factory=list)
    #: agreement and matter events: counties (exact, case-insensitive, "County" optional) and
    #: agencies (case-insensitive substrings, e.g. "Harris County Sheriff")
    counties: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    mute: list[str] = Field(default_factory=list)
    mode: Literal["immediate", "digest"] = "immediate"
    digest_at: time = time(7, 0)
    include_backfill: bool = False
    include_baseline: bool = False
    include_private: bool = False
    give_up_after: int | None = Field(default=None, ge=1)
    channels: tuple[str, ...] = Field(default=(), exclude=True, repr=False)

    # -- when messages go (monitor.alerts.schedule): digest rhythm, own zone, quiet hours,
    # urgent kinds that go at once whatever the mode and quiet hours
    digest: Literal["daily", "weekly"] = "daily"
    digest_day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                        "sunday"] = "monday"
    #: IANA zone of `digest_at` and `quiet_hours`; unset: `[deadlines] timezone`
    timezone: str = ""
    #: "22:00-07:00": non-urgent immediate messages wait until the period ends
    quiet_hours: tuple[time, time] | None = None
    urgent: list[str] = Field(default_factory=lambda: [
        "deadline.overdue", "deadline.unverified", "deadline.due_soon"])
    #: a `deadline.due_soon` is urgent when due within this many days (0: due today)
    urgent_due_within: int = Field(default=0, ge=0)

    @field_validator("digest_day", mode="before")
    @classmethod
    def _digest_day(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value) if value else value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: object) -> object:
        return parse_quiet_hours(value) if isinstance(value, str) else value

    @field_validator("mute")
    @classmethod
    def _mute(cls, patterns: list[str]) -> list[str]:
        return _check_regexes(patterns)

    @field_validator("cases")
    @classmethod
    def _cases(cls, specs: list[str]) -> list[str]:
        for spec in specs:
            parse_tracked_docket(spec)
        return specs

    #: the site (issue 14): a secret token (from `token_env` or `token_file`, never logged)
    #: that shows its holder what this subscription may see (private matters with
    #: `include_private`); resolved into `token`
    token_env: str = ""
    token_file: str = ""
    token: str = Field(default="", exclude=True, repr=False)


class MatterConfig(_Model):
    """`[[matter]]`: an agency matter on a statutory clock."""

    id: str = Field(min_length=1)
    kind: Literal["foia", "foia-appeal", "complaint", "application"]
    agency: str = ""
    reference: str = ""
    filed: date | None = None
    received: date | None = None
    expect_response_days: int | None = Field(default=None, ge=1)
    unusual_circumstances: bool = False
    tags: list[str] = Field(default_factory=list)
    private: bool = False
    case: str = ""


class SourceConfig(_Model):
    """`[[source]]`: the keys every source has; its own keys are validated by `Source.Options`."""

    id: str = Field(min_length=1)
    kind: str
    interval: str = "15m"
    jitter: str = "30s"
    fail_after: int = Field(default=3, ge=1)
    enabled: bool = True
    options: Any = Field(default=None, exclude=True)
    #: secrets resolved at load (e.g. a CourtListener token); never logged
    secrets: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    @property
    def interval_td(self) -> timedelta:
        return parse_duration(self.interval)

    @property
    def jitter_td(self) -> timedelta:
        return parse_duration(self.jitter)


class _FileModel(_Model):
    """The top level of a config file (as written)."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    poll: PollConfig = Field(default_factory=PollConfig)
    deadlines: DeadlinesConfig = Field(default_factory=DeadlinesConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    source: list[dict[str, Any]] | None = None
    watch: list[WatchConfig] | None = None
    subscription: list[SubscriptionConfig] | None = None
    matter: list[MatterConfig] = Field(default_factory=list)
    deadline_rule: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True)
class Config:
    """The validated configuration the daemon runs on."""

    path: str
    database_url: str
    feeds_dir: Path
    feeds: FeedsConfig
    http: HttpConfig
    deadlines: DeadlinesConfig
    escalation: EscalationConfig
    server: ServerConfig
    logging: LoggingConfig
    sources: tuple[SourceConfig, ...]
    watches: tuple[WatchConfig, ...]
    subscriptions: tuple[SubscriptionConfig, ...]
    matters: tuple[MatterConfig, ...]
    deadline_rules: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)
    poll: PollConfig = field(default_factory=PollConfig)

    def source(self, source_id: str) -> SourceConfig:
        for src in self.sources:
            if src.id == source_id:
                return src
        raise KeyError(source_id)


# ---------------------------------------------------------------------------- resolution


def find_config_file(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the config comes from (None: the embedded defaults)."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("COURT_MONITOR_CONFIG"):
        return Path(env["COURT_MONITOR_CONFIG"])
    candidates = []
    if env.get("CONFIGURATION_DIRECTORY"):
        candidates.append(Path(env["CONFIGURATION_DIRECTORY"].split(":")[0]) / "config.toml")
    xdg = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidates.append(Path(xdg) / "court-monitor" / "config.toml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def defaults_text() -> str:
    """The embedded default configuration (TOML text)."""
    return resources.files("monitor").joinpath("defaults.toml").read_text(encoding="utf-8")


def load_config(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Resolve, read and validate the configuration. Raises ConfigError."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit, env)
    defaults = _parse_toml(defaults_text(), "<embedded defaults>")
    if path is None:
        return _build(defaults, defaults, "<embedded defaults>", env)
    if not path.is_file():
        raise ConfigError("no such file (from --config or COURT_MONITOR_CONFIG)", path=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line})",
                          path=str(path)) from None
    return _build(_parse_toml(text, str(path)), defaults, str(path), env)


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=where) from exc


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _raise_validation(exc: ValidationError, where: str, prefix: str = "") -> None:
    first = exc.errors()[0]
    key = _key_path(tuple(first["loc"]))
    if prefix:
        key = f"{prefix}.{key}" if key else prefix
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif first["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    elif "input" in first and not isinstance(first["input"], dict | list):
        message = f"{message} (got {type(first['input']).__name__})"
    raise ConfigError(message, path=where, key=key) from None


def _build(
    raw: dict[str, Any], defaults: dict[str, Any], where: str, env: Mapping[str, str]
) -> Config:
    raw = _strip_empty(raw)
    try:
        model = _FileModel.model_validate(raw)
        base = _FileModel.model_validate(_strip_empty(defaults))
    except ValidationError as exc:
        _raise_validation(exc, where)
        raise  # unreachable
    source_rows = model.source if model.source is not None else (base.source or [])
    watches = model.watch if model.watch is not None else (base.watch or [])
    subs = model.subscription if model.subscription is not None else (base.subscription or [])
    warnings: list[str] = []
    sources = tuple(
        _build_source(i, row, where, env, warnings) for i, row in enumerate(source_rows)
    )
    _unique([s.id for s in sources], "source", "id", where)
    _unique([w.name for w in watches], "watch", "name", where)
    _unique([s.name for s in subs], "subscription", "name", where)
    _check_bound_watches(sources, watches, where)
    _unique([m.id for m in model.matter], "matter", "id", where)
    subscriptions = tuple(
        _resolve_token(i, _resolve_channels(i, sub, where, env), where, env)
        for i, sub in enumerate(subs)
    )
    _check_deadline_rules(model.deadline_rule, where)
    data_dir = default_data_dir()
    db_url = model.database.url or f"sqlite:///{data_dir / 'monitor.db'}"
    try:
        check_database_url(db_url)
    except ValueError as exc:
        raise ConfigError(str(exc), path=where, key="database.url") from None
    feeds_dir = Path(model.feeds.dir) if model.feeds.dir else data_dir / "feeds"
    return Config(
        path=where,
        database_url=db_url,
        feeds_dir=feeds_dir,
        feeds=model.feeds,
        http=model.http,
        deadlines=model.deadlines,
        escalation=model.escalation,
        server=model.server,
        logging=model.logging,
        sources=sources,
        watches=tuple(watches),
        subscriptions=subscriptions,
        matters=tuple(model.matter),
        deadline_rules=tuple(model.deadline_rule),
        warnings=tuple(warnings),
        poll=model.poll,
    )


def _check_deadline_rules(rows: list[dict[str, Any]], where: str) -> None:
    """Operator rule rows are validated at load, like every other key."""
    if not rows:
        return
    try:
        load_rules(rows)
    except ConfigError as exc:
        raise ConfigError(str(exc), path=where) from None


def _strip_empty(value: Any) -> Any:
    """Empty string means unset: drop such keys so defaults apply."""
    if isinstance(value, dict):
        return {k: _strip_empty(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_strip_empty(v) for v in value]
    return value


def _unique(values: list[str], table: str, key: str, where: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ConfigError(f"duplicate {key} {value!r}", path=where, key=f"{table}[{i}].{key}")
        seen.add(value)


def _build_source(
    index: int, row: dict[str, Any], where: str, env: Mapping[str, str], warnings: list[str]
) -> SourceConfig:
    prefix = f"source[{index}]"
    common = {k: v for k, v in row.items() if k in COMMON_SOURCE_KEYS}
    own = {k: v for k, v in row.items() if k not in COMMON_SOURCE_KEYS}
    try:
        base = SourceConfig.model_validate(common)
    except ValidationError as exc:
        _raise_validation(exc, where, prefix)
        raise
    if base.kind not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"unknown kind {base.kind!r} (known: {known})", path=where,
                          key=f"{prefix}.kind")
    for key in ("interval", "jitter"):
        try:
            parse_duration(getattr(base, key))
        except ValueError as exc:
            raise ConfigError(str(exc), path=where, key=f"{prefix}.{key}") from None
    secrets: dict[str, str] = {}
    for name in [k[: -len("_env")] for k in own if k.endswith("_env")] + [
        k[: -len("_file")] for k in own if k.endswith("_file")
    ]:
        value = resolve_secret(own.get(f"{name}_env", ""), own.get(f"{name}_file", ""),
                               where=where, key=f"{prefix}.{name}", environ=env)
        if value is not None:
            secrets[name] = value
    cls = source_class(base.kind)
    try:
        options = cls.Options.model_validate(own)
    except ValidationError as exc:
        _raise_validation(exc, where, prefix)
        raise
    bad_url = check_http_urls(own)
    if bad_url is not None:
        raise ConfigError(bad_url[1], path=where, key=f"{prefix}.{bad_url[0]}")
    if base.interval_td < timedelta(minutes=5) and _has_remote_url(own):
        warnings.append(
            f"{prefix}.interval: {base.interval} is under 5m for a host that is not loopback; "
            "be kind to public servers"
        )
    return base.model_copy(update={"options": options, "secrets": secrets})


def _has_remote_url(options: Mapping[str, Any]) -> bool:
    for value in options.values():
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            host = urlsplit(value.replace("{court}", "x")).hostname or ""
            if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
                return True
    return not any(isinstance(v, str) and v.startswith("http") for v in options.values())


def resolve_secret(
    env_name: str,
    file_path: str,
    *,
    where: str,
    key: str,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """A secret from an environment variable or a file; None when neither key is given."""
    env = os.environ if environ is None else environ
    if env_name:
        value = env.get(env_name)
        if value is None or value == "":
            raise ConfigError(f"environment variable {env_name} is not set", path=where,
                              key=f"{key}_env")
        return value.strip()
    if file_path:
        path = Path(os.path.expandvars(file_path))
        if not path.is_file():
            raise ConfigError(f"secret file {path} does not exist", path=where, key=f"{key}_file")
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {path}: {exc.strerror}", path=where,
                              key=f"{key}_file") from None
    return None


def _check_bound_watches(sources: Sequence[SourceConfig], watches: Sequence[WatchConfig],
                         where: str | None) -> None:
    """A source that binds its events to a watch (its `watch` key) names a configured one."""
    names = {w.name for w in watches}
    for i, src in enumerate(sources):
        bound = getattr(src.options, "watch", "")
        if isinstance(bound, str) and bound and bound not in names:
            raise ConfigError(f"no [[watch]] named {bound!r} (watches: {sorted(names)})",
                              path=where, key=f"source[{i}].watch")


def _resolve_channels(
    index: int, sub: SubscriptionConfig, where: str, env: Mapping[str, str]
) -> SubscriptionConfig:
    prefix = f"subscription[{index}]"
    channels = list(sub.urls)
    extra = resolve_secret(sub.urls_env, sub.urls_file, where=where, key=f"{prefix}.urls",
                           environ=env)
    if extra:
        channels += [u for u in re.split(r"[\s,]+", extra) if u]
    if not channels:
        raise ConfigError("no channel: give urls, urls_env or urls_file", path=where,
                          key=f"{prefix}.urls")
    try:
        check_apprise_urls(channels, console_url="console://")
    except ValueError as exc:
        raise ConfigError(str(exc), path=where, key=f"{prefix}.urls") from None
    return sub.model_copy(update={"channels": tuple(channels)})


def _resolve_token(
    index: int, sub: SubscriptionConfig, where: str, env: Mapping[str, str]
) -> SubscriptionConfig:
    """The subscription's site token (`token_env` / `token_file`), resolved like its URLs."""
    token = resolve_secret(sub.token_env, sub.token_file, where=where,
                           key=f"subscription[{index}].token", environ=env)
    if token is None:
        return sub
    if len(token) < 16:
        raise ConfigError("a site token needs at least 16 characters", path=where,
                          key=f"subscription[{index}].token")
    return sub.model_copy(update={"token": token})
