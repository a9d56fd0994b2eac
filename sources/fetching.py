"""HTTP helpers shared by sources as functions (never by subclassing another source)."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import httpx

from monitor.errors import DeferredError, FetchError
from sources.base import Clock, Fetched, Source, Target, TargetState
from sources.deadline_transport import FetchStopped

__all__ = ["DEFAULT_MAX_BYTES", "conditional_get", "fetch_for", "parse_retry_after"]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def conditional_get(
    client: httpx.Client,
    target: Target,
    state: TargetState,
    *,
    source_id: str,
    clock: Clock,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET `target` with If-None-Match / If-Modified-Since, a size cap, and errors as FetchError.

    A 304 returns `Fetched(not_modified=True)`. 429 and 503 carry `retry_after` when the server
    says. The size cap is checked while the body streams (a lying or absent Content-Length
    cannot get past it); the client bounds the whole request in time. A request abandoned
    because the process is stopping raises `DeferredError` (not a failure of the source).
    Secrets in `headers` (tokens) never appear in the error text.
    """
    request_headers = dict(headers or {})
    if state.etag:
        request_headers["If-None-Match"] = state.etag
    if state.last_modified:
        request_headers["If-Modified-Since"] = state.last_modified
    url = target.url
    try:
        with client.stream(
            "GET", url, params=dict(target.params) or None, headers=request_headers
        ) as response:
            if response.status_code == 304:
                return Fetched(
                    target=target,
                    content=b"",
                    status=304,
                    headers=dict(response.headers),
                    fetched_at=clock(),
                    not_modified=True,
                )
            if response.status_code >= 400:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), clock())
                raise FetchError(
                    f"HTTP {response.status_code}",
                    source=source_id,
                    url=url,
                    status=response.status_code,
                    retry_after=retry_after,
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    f"response of {declared} bytes exceeds the cap of {max_bytes}",
                    source=source_id,
                    url=url,
                    status=response.status_code,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(
                        f"response exceeds the cap of {max_bytes} bytes",
                        source=source_id,
                        url=url,
                        status=response.status_code,
                    )
                chunks.append(chunk)
            return Fetched(
                target=target,
                content=b"".join(chunks),
                status=response.status_code,
                headers=dict(response.headers),
                fetched_at=clock(),
            )
    except FetchStopped as exc:
        raise DeferredError("stopping: the rest of the round waits for the next start",
                            source=source_id, url=url) from exc
    except httpx.HTTPError as exc:
        raise FetchError(
            f"{type(exc).__name__}: {exc}".rstrip(": "), source=source_id, url=url
        ) from exc


def fetch_for(
    source: Source,
    target: Target,
    state: TargetState,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """`conditional_get` with the source's own client, clock and id (what most `fetch`es are)."""
    return conditional_get(source.client, target, state, source_id=source.source_id,
                           clock=source.clock, max_bytes=max_bytes, headers=headers)
