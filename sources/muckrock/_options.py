"""The config keys of a `muckrock` source, validated (pydantic): the API root, the token's name,
the request quota and what to follow (request ids, users, agencies, multirequests, searches).

`MuckRockOptions.limits()` gives the quota in force as `QuotaLimits`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sources.base import QuotaLimits, SourceOptions

__all__ = ["DEFAULT_BASE_URL", "Link", "MultiRequest", "MuckRockOptions", "QuotaOptions",
           "Search"]

DEFAULT_BASE_URL = "https://www.muckrock.com/api_v1/"


class QuotaOptions(BaseModel):
    """`quota = {per_minute = 20, per_hour = 600, per_day = 5000}`: MuckRock publishes no fixed
    limit; these keep a follower polite and are what `status` shows as used and left."""

    model_config = ConfigDict(extra="forbid")

    per_minute: int = Field(default=20, ge=1)
    per_hour: int = Field(default=600, ge=1)
    per_day: int = Field(default=5000, ge=1)


class MultiRequest(BaseModel):
    """`[[source.multirequest]]`: the requests one user sent to many agencies at once. The API
    lists a user's requests; those whose title starts with `title` are the multirequest's."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    user: str = Field(min_length=1)
    title: str = Field(min_length=1)


class Search(BaseModel):
    """`[[source.search]]`: any listing of `foia/` by its filters (status, jurisdiction, tags,
    title, ...), e.g. `params = {tags = "287g"}`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    params: dict[str, str] = Field(default_factory=dict)


class Link(BaseModel):
    """`[[source.link]]`: a request linked by hand to the lawsuit about it."""

    model_config = ConfigDict(extra="forbid")

    request: int = Field(ge=1)
    case: str = Field(pattern=r"^[a-z0-9]+:.+$")


class MuckRockOptions(SourceOptions):
    """Config keys of a `muckrock` source (the core handles id, interval, ... itself).

    `token_env` / `token_file` name the secret (absent both: anonymous read of public requests).
    """

    base_url: str = DEFAULT_BASE_URL
    token_env: str = ""
    token_file: str = ""
    quota: QuotaOptions = Field(default_factory=QuotaOptions)
    requests: list[int] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    agencies: list[int] = Field(default_factory=list)
    multirequest: list[MultiRequest] = Field(default_factory=list)
    search: list[Search] = Field(default_factory=list)
    link: list[Link] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    page_size: int = Field(default=50, ge=1, le=100)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return url if url.endswith("/") else url + "/"

    @field_validator("multirequest", "search")
    @classmethod
    def _unique_names(cls, items: list[MultiRequest] | list[Search]
                      ) -> list[MultiRequest] | list[Search]:
        names = [i.name for i in items]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate names: {dupes}")
        bad = [n for n in names if not re.fullmatch(r"[\w.-]+", n)]
        if bad:
            raise ValueError(f"names may hold letters, digits, '.', '-', '_' only: {bad}")
        return items

    def limits(self) -> QuotaLimits:
        """The request budget in force."""
        q = self.quota
        return QuotaLimits(q.per_minute, q.per_hour, q.per_day)
