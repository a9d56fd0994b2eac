"""The shipped court table: CourtListener court id -> PACER host, time zone, state, RSS shape.

`rss` says what is known of the court's CM/ECF RSS feed: "full" (all entry types), "partial"
(only some types, e.g. orders and opinions), "none" (the court publishes no feed). Operators
override or extend a court's feed URL with a source's `url_template` / `feed_urls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["COURTS", "DEFAULT_RSS_COURTS", "Court", "court_for_host", "court_timezone"]

DISTRICT_RSS = "https://ecf.{court}.uscourts.gov/cgi-bin/rss_outside.pl"
APPELLATE_RSS = (
    "https://ecf.{court}.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator"
)


@dataclass(frozen=True)
class Court:
    """One court of the table."""

    id: str
    name: str
    level: Literal["district", "bankruptcy", "appellate"]
    timezone: str
    #: two-letter state (or "DC") whose holidays count for forward periods; "" for circuits
    state: str
    rss: Literal["full", "partial", "none"] = "full"
    rss_url: str = DISTRICT_RSS

    def feed_url(self) -> str:
        return self.rss_url.format(court=self.id)


_ET, _CT = "America/New_York", "America/Chicago"

COURTS: dict[str, Court] = {
    c.id: c
    for c in [
        Court("dcd", "District of Columbia", "district", _ET, "DC"),
        Court("flmd", "Middle District of Florida", "district", _ET, "FL"),
        Court("flsd", "Southern District of Florida", "district", _ET, "FL"),
        Court("flnd", "Northern District of Florida", "district", _ET, "FL"),
        Court("txsd", "Southern District of Texas", "district", _CT, "TX"),
        Court("txnd", "Northern District of Texas", "district", _CT, "TX"),
        Court("txwd", "Western District of Texas", "district", _CT, "TX"),
        Court("txed", "Eastern District of Texas", "district", _CT, "TX"),
        Court("gand", "Northern District of Georgia", "district", _ET, "GA"),
        Court("gamd", "Middle District of Georgia", "district", _ET, "GA"),
        Court("gasd", "Southern District of Georgia", "district", _ET, "GA"),
        Court("scd", "District of South Carolina", "district", _ET, "SC"),
        Court("vaed", "Eastern District of Virginia", "district", _ET, "VA"),
        Court("vawd", "Western District of Virginia", "district", _ET, "VA"),
        Court("nced", "Eastern District of North Carolina", "district", _ET, "NC"),
        Court("ncmd", "Middle District of North Carolina", "district", _ET, "NC"),
        Court("ncwd", "Western District of North Carolina", "district", _ET, "NC"),
        Court("nysd", "Southern District of New York", "district", _ET, "NY"),
        Court("nyed", "Eastern District of New York", "district", _ET, "NY", "partial"),
        Court("mdd", "District of Maryland", "district", _ET, "MD"),
        Court("nysb", "Bankruptcy, S.D. New York", "bankruptcy", _ET, "NY"),
        Court("mdb", "Bankruptcy, D. Maryland", "bankruptcy", _ET, "MD"),
        Court("cadc", "D.C. Circuit", "appellate", _ET, "", "partial", APPELLATE_RSS),
        Court("ca2", "Second Circuit", "appellate", _ET, "", "partial", APPELLATE_RSS),
        Court("ca4", "Fourth Circuit", "appellate", _ET, "", "partial", APPELLATE_RSS),
        Court("ca5", "Fifth Circuit", "appellate", _CT, "", "none", APPELLATE_RSS),
        Court("ca10", "Tenth Circuit", "appellate", "America/Denver", "", "partial",
              APPELLATE_RSS),
        Court("ca11", "Eleventh Circuit", "appellate", _ET, "", "partial", APPELLATE_RSS),
    ]
}

#: D.D.C. plus districts of the states with the most 287(g) agreements (domain.md).
DEFAULT_RSS_COURTS: tuple[str, ...] = (
    "dcd", "flmd", "flsd", "flnd", "txsd", "txnd", "txwd", "gand", "gamd", "scd",
    "vaed", "nced", "ncmd", "ncwd",
)


def court_for_host(url: str) -> str | None:
    """The court id of a PACER URL (`https://ecf.nyed.uscourts.gov/...` -> `nyed`)."""
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 4 and parts[-2:] == ["uscourts", "gov"] and parts[0] in ("ecf", "www"):
        return parts[1]
    return None


def court_timezone(court_id: str, default: str = "America/New_York") -> str:
    """The court's IANA time zone (deadlines end at midnight there)."""
    court = COURTS.get(court_id)
    return court.timezone if court else default
