"""The rendered feed files over HTTP, as a good static server serves them: `ETag` and
`Last-Modified` from the file, `304 Not Modified` on a matching `If-None-Match` (or, without
one, `If-Modified-Since`), and gzip when the client accepts it (the site's middleware).

Files are written atomically and only when their bytes change (`monitor.feeds.files`), so the
size and modification time make a sound validator without reading the file.
"""

from __future__ import annotations

import os
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

__all__ = ["feed_file_response", "not_modified"]

MEDIA_TYPES = {".atom": "application/atom+xml", ".ics": "text/calendar"}


def _etag(stat: os.stat_result) -> str:
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def not_modified(request: Request, etag: str, mtime: float) -> bool:
    """Whether the client's copy is current (RFC 9110: If-None-Match wins over
    If-Modified-Since; a weak `W/` tag compares equal for GET)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if not since:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return int(mtime) <= int(when.timestamp())


def feed_file_response(request: Request, feeds_dir: Path, name: str) -> Response:
    """The feed file `name` of `feeds_dir` (404 for anything else: other folders, hidden
    temporary files, unknown kinds)."""
    root = feeds_dir.resolve()
    target = (feeds_dir / name).resolve()
    kind = MEDIA_TYPES.get(target.suffix)
    if "/" in name or name.startswith(".") or kind is None or target.parent != root \
            or not target.is_file():
        return PlainTextResponse("not found", status_code=404)
    stat = target.stat()
    headers = {"ETag": _etag(stat), "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
               "Cache-Control": "public, max-age=60"}
    if not_modified(request, headers["ETag"], stat.st_mtime):
        return Response(status_code=304, headers=headers)
    return Response(target.read_bytes(), media_type=kind, headers=headers)
