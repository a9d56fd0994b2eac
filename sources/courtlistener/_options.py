"""The config keys of a `courtlistener` source, validated (pydantic): the API root, the token's
name, the request quota, the first lookback and the discovery queries (`[[source.query]]`).

`CourtListenerOptions.limits()` gives the quota in force as `QuotaLimits`: as configured, else a
free token's (5/min, 50/h, 125/day), else anonymous (100/day).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sources.base import QuotaLimits, SourceOptions
from sources.durations import parse_duration

__all__ = [
    "DEFAULT_BASE_URL",
    "CourtListenerOptions",
    "Query",
    "QuotaOptions",
    "parse_duration",
]

DEFAULT_BASE_URL = "https://www.courtlistener.com/api/rest/v4/"




class QuotaOptions(BaseModel):
    """`quota = {per_minute = 5, per_hour = 50, per_day = 125}` (a free token's limits)."""

    model_config = ConfigDict(extra="forbid")

    per_minute: int = Field(default=5, ge=1)
    per_hour: int = Field(default=50, ge=1)
    per_day: int = Field(default=125, ge=1)


class Query(BaseModel):
    """One `[[source.query]]`: a CourtListener search that discovers cases."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    #: "d": dockets; "r": RECAP documents (results carry matching entries)
    type: Literal["d", "r"] = "d"
    q: str = ""
    cause: str = ""
    nature_of_suit: list[str] = Field(default_factory=list)
    court: list[str] = Field(default_factory=list)

    @field_validator("court")
    @classmethod
    def _court_ids(cls, courts: list[str]) -> list[str]:
        ids = [c.strip().lower() for c in courts if c.strip()]
        bad = [c for c in ids if not re.fullmatch(r"[a-z0-9]+", c)]
        if bad:
            raise ValueError(f"not court ids (CourtListener style, e.g. dcd): {bad}")
        return ids


def _default_queries() -> list[Query]:
    return [Query(name="mandamus", type="d", cause="28:1361")]


class CourtListenerOptions(SourceOptions):
    """Config keys of a `courtlistener` source (the core handles id, interval, ... itself).

    `token_env` / `token_file` name the secret; the core resolves it and passes the value as the
    constructor's `token`. Absent both: anonymous, with a lower default daily quota.
    """

    base_url: str = DEFAULT_BASE_URL
    token_env: str = ""
    token_file: str = ""
    quota: QuotaOptions | None = None
    initial_lookback: str = "30d"
    query: list[Query] = Field(default_factory=_default_queries)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return url if url.endswith("/") else url + "/"

    @field_validator("initial_lookback")
    @classmethod
    def _lookback(cls, text: str) -> str:
        parse_duration(text)
        return text

    @field_validator("query")
    @classmethod
    def _unique_names(cls, queries: list[Query]) -> list[Query]:
        names = [q.name for q in queries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate query names: {dupes}")
        return queries

    @property
    def anonymous(self) -> bool:
        """No token configured."""
        return not (self.token_env or self.token_file)

    def limits(self) -> QuotaLimits:
        """The quota in force: as configured, else a free token's, else anonymous (100/day)."""
        if self.quota is not None:
            q = self.quota
        else:
            q = QuotaOptions(per_day=100) if self.anonymous else QuotaOptions()
        return QuotaLimits(q.per_minute, q.per_hour, q.per_day)


