"""Sources: one module and one class per kind of data source.

`REGISTRY` maps a config `kind` to the module that defines it; classes load lazily so that
`check-config` and `--help` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sources.base import Source

#: kind -> "module:Class"; a new source adds one line here.
REGISTRY: dict[str, str] = {
    "pacer_rss": "sources.pacer_rss:PacerRss",
    "courtlistener": "sources.courtlistener:CourtListener",
    "web_page": "sources.web_page:WebPage",
    "ice_287g": "sources.ice_287g:Ice287g",
    "list_page": "sources.list_page:ListPage",
    "imap": "sources.imap:Imap",
    "muckrock": "sources.muckrock:MuckRock",
}


def source_class(kind: str) -> type[Source]:
    """Return the Source class registered for `kind` (KeyError when unknown)."""
    module_name, class_name = REGISTRY[kind].split(":")
    cls: type[Source] = getattr(importlib.import_module(module_name), class_name)
    return cls
