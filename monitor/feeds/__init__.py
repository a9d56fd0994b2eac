"""Feeds (design.md, step 7): Atom of events and iCalendar of deadlines, written atomically.

- `atom`: `render_feeds(engine, feeds_config, feeds_dir, now=...)` -> all, per tag, per case;
  each event's entry is built by feedgen and serialized once per render (`entry_xml`), then
  spliced into every feed it is in (the bytes feedgen writes for the whole feed).
- `tags`: which cases carry a tag, as a subquery of the tag feed's query; the digests of each
  tag's members (the render state's).
- `ics`: `render_ics(deadlines, calendar_name=..., now=...)`, `write_ics_feeds(engine, feeds_dir,
  now=...)`.
- `files`: `write_if_changed` (temp file + os.replace; untouched when the bytes are the same);
  `FeedWriter` / `write_all_if_changed` for many files at once (written and flushed in parallel,
  one batch per 8 MB).
"""

from __future__ import annotations

from monitor.feeds.atom import FeedSpec, entry_id, render_atom, render_feeds
from monitor.feeds.files import safe_name, write_if_changed
from monitor.feeds.ics import OPEN_STATES, deadline_uid, render_ics, write_ics_feeds

__all__ = [
    "OPEN_STATES",
    "FeedSpec",
    "deadline_uid",
    "entry_id",
    "render_atom",
    "render_feeds",
    "render_ics",
    "safe_name",
    "write_ics_feeds",
    "write_if_changed",
]
