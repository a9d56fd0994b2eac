"""287(g) events by state, county and agency: subscription filters and per-state feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
from sqlmodel import select

from monitor.alerts.routing import make_router
from monitor.config import FeedsConfig, SubscriptionConfig
from monitor.db import make_engine, read_session
from monitor.feeds import render_feeds
from monitor.matching import Matcher
from monitor.migrate import upgrade
from monitor.models import Delivery
from monitor.store import Store
from sources.base import AgreementRow, AgreementSnapshot

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def sub(name: str, **filters: list[str]) -> SubscriptionConfig:
    return SubscriptionConfig(name=name, urls=["console://"], events=["agreement.*"],
                              include_baseline=True, channels=("console://",), **filters)


def row(state: str, county: str, agency: str) -> AgreementRow:
    return AgreementRow(state=state, agency=agency, support_type="Task Force Model",
                        status="participating", county=county)


def test_subscriptions_filter_by_state_county_and_agency_and_feeds_split_by_state(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    subs = [sub("tx", states=["tx"]), sub("harris", counties=["Harris County"]),
            sub("sheriffs", agencies=["sheriff"]), sub("nobody", counties=["Nowhere"])]
    store = Store(engine, Matcher([]), [make_router(subs, watch_tags={})])
    rows = (row("TX", "Harris", "Harris County Sheriff's Office"),
            row("TEXAS", "Galveston", "Galveston County Constable"),  # as ICE writes states
            row("FL", "Lee", "Lee County Sheriff's Office"))
    result = store.apply([AgreementSnapshot("participating", "http://127.0.0.1/p.xlsx", rows)],
                         source_id="ice", now=NOW)
    assert result.count("agreement.added") == 3
    with read_session(engine) as session:
        routed: dict[str, int] = {}
        for d in session.exec(select(Delivery)).all():
            routed[d.subscription] = routed.get(d.subscription, 0) + 1
    assert routed == {"tx": 2, "harris": 1, "sheriffs": 2}

    render_feeds(engine, FeedsConfig(), tmp_path / "feeds")
    texas = feedparser.parse((tmp_path / "feeds" / "agreements-tx.atom").read_bytes())
    assert texas.bozo == 0 and len(texas.entries) == 2
    assert {"Galveston County Constable" in e.title or "Harris County" in e.title
            for e in texas.entries} == {True}
    every = feedparser.parse((tmp_path / "feeds" / "agreements.atom").read_bytes())
    assert len(every.entries) == 3
