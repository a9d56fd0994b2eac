"""Routing filters and message rendering (no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.alerts import (
    RenderContext,
    backoff_delay,
    channel_id,
    digest_cutoff,
    docket_url,
    make_router,
    render_digest,
    render_message,
)
from monitor.config import SubscriptionConfig
from monitor.db import make_engine, read_session, write_session
from monitor.events import emit
from monitor.models import Case, Deadline, Delivery, Event, Matter
from sources.sanitize import clean_text

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
WATCH_TAGS = {"mandamus": ["287g", "mandamus"], "foia": ["foia"]}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    SQLModel.metadata.create_all(eng)
    with write_session(eng) as session:
        session.add(Case(court="dcd", docket_number="1:26-cv-00412", docket_key="26-cv-00412",
                         case_name="Doe v. USCIS", tags=["287g", "mandamus"], first_seen=NOW,
                         matched_by=[{"watch": "mandamus", "field": "entry_text",
                                      "pattern": "mandamus"}]))
        session.add(Case(court="txsd", docket_number="4:26-cv-00077", docket_key="26-cv-00077",
                         case_name="Roe v. Sheriff", tags=["287g"], first_seen=NOW,
                         matched_by=[{"watch": "sheriffs", "field": "case_name",
                                      "pattern": "sheriff"}]))
        session.add(Matter(id="foia-ice-1", kind="foia", tags=["foia"], created_at=NOW))
    return eng


def _sub(**kwargs: Any) -> SubscriptionConfig:
    return SubscriptionConfig.model_validate({"name": "s", "urls": ["console://"], **kwargs})


def _event(kind: str, *, case_id: int | None = None, data: dict[str, Any] | None = None,
           private: bool = False, matter_id: str | None = None, n: int = 0) -> dict[str, Any]:
    return {"kind": kind, "at": NOW, "subject": "x", "summary": f"{kind} summary",
            "dedupe_key": f"{kind}:{case_id}:{n}:{matter_id}", "data": data or {},
            "case_id": case_id, "private": private, "matter_id": matter_id}


DCD_ENTRY = _event("entry.added", case_id=1, data={
    "court": "dcd", "docket_number": "1:26-cv-00412", "tags": ["287g", "mandamus"],
    "description": "PETITION for Writ of Mandamus", "entry_number": 1}, n=1)
TXSD_ENTRY = _event("entry.added", case_id=2, data={
    "court": "txsd", "docket_number": "4:26-cv-00077", "tags": ["287g"],
    "description": "NOTICE of Appearance by counsel", "entry_number": 4}, n=2)
BACKFILL = _event("entry.added", case_id=1, data={
    "court": "dcd", "docket_number": "1:26-cv-00412", "description": "old COMPLAINT",
    "backfill": True}, n=3)
AGREEMENT_FL = _event("agreement.added", data={"state": "FL", "agency": "Lee County SO"}, n=4)
AGREEMENT_BASE = _event("agreement.added", data={"state": "TX", "baseline": True}, n=5)
DEADLINE = _event("deadline.set", case_id=1, data={"court": "dcd",
                                                   "docket_number": "1:26-cv-00412"}, n=6)
PRIVATE = _event("deadline.set", matter_id="foia-ice-1", private=True, n=7)
MATTER = _event("matter.status_changed", matter_id="foia-ice-1", n=8)
FAILING = _event("source.failing", data={"error": "HTTP 503"}, n=9)
ALL = [DCD_ENTRY, TXSD_ENTRY, BACKFILL, AGREEMENT_FL, AGREEMENT_BASE, DEADLINE, PRIVATE, MATTER,
       FAILING]


def _routed(engine: Engine, sub: SubscriptionConfig) -> list[str]:
    """The dedupe keys of the events the subscription got a delivery for."""
    router = make_router([sub], watch_tags=WATCH_TAGS)
    with write_session(engine) as session:
        for spec in ALL:
            emit(session, [router], **spec)
    with read_session(engine) as session:
        rows = session.exec(select(Event.dedupe_key).join(
            Delivery, Delivery.event_id == Event.id).order_by(Event.id)).all()  # type: ignore[arg-type]
    return list(rows)


def _keys(*specs: dict[str, Any]) -> list[str]:
    return [s["dedupe_key"] for s in specs]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, _keys(DCD_ENTRY, TXSD_ENTRY, AGREEMENT_FL, DEADLINE, MATTER, FAILING)),
    ({"events": ["deadline.*"]}, _keys(DEADLINE)),
    ({"events": ["entry.added", "source.*"]}, _keys(DCD_ENTRY, TXSD_ENTRY, FAILING)),
    ({"courts": ["TXSD"]}, _keys(TXSD_ENTRY)),
    ({"cases": ["dcd:1:26-cv-412"]}, _keys(DCD_ENTRY, DEADLINE)),
    ({"tags": ["mandamus"]}, _keys(DCD_ENTRY, DEADLINE)),  # the case row carries the tags
    ({"tags": ["foia"]}, _keys(MATTER)),
    ({"watches": ["mandamus"]}, _keys(DCD_ENTRY, DEADLINE)),
    ({"watches": ["sheriffs"]}, _keys(TXSD_ENTRY)),
    ({"watches": ["foia"]}, _keys(MATTER)),
    ({"states": ["fl"]}, _keys(AGREEMENT_FL)),
    ({"mute": ["(?i)notice of appearance"], "events": ["entry.*"]}, _keys(DCD_ENTRY)),
    ({"include_backfill": True, "events": ["entry.*"]}, _keys(DCD_ENTRY, TXSD_ENTRY, BACKFILL)),
    ({"include_baseline": True, "events": ["agreement.*"]}, _keys(AGREEMENT_FL, AGREEMENT_BASE)),
    ({"include_private": True, "events": ["deadline.*"]}, _keys(DEADLINE, PRIVATE)),
    ({"courts": ["dcd"], "events": ["deadline.*"]}, _keys(DEADLINE)),
])
def test_filters(engine: Engine, filters: dict[str, Any], expected: list[str]) -> None:
    assert _routed(engine, _sub(**filters)) == expected


def test_one_delivery_per_channel_hash_not_url(engine: Engine) -> None:
    urls = ["console://", "json://user:topsecret@127.0.0.1:9/", "console://"]
    sub = SubscriptionConfig(name="s", urls=urls, events=["entry.added"], mode="digest")
    router = make_router([sub], watch_tags={})
    with write_session(engine) as session:
        emit(session, [router], **DCD_ENTRY)
    with read_session(engine) as session:
        rows = session.exec(select(Delivery)).all()
    assert sorted(r.channel for r in rows) == sorted({channel_id(u) for u in urls})
    assert all("topsecret" not in r.channel and r.mode == "digest" for r in rows)
    assert channel_id(urls[1]) == channel_id("json://user:topsecret@127.0.0.1:9/")


def test_router_writes_nothing_when_the_store_rolls_back(engine: Engine) -> None:
    router = make_router([_sub()], watch_tags={})
    with pytest.raises(RuntimeError), write_session(engine) as session:
        emit(session, [router], **DCD_ENTRY)
        raise RuntimeError("crash before commit")
    with read_session(engine) as session:
        assert session.exec(select(Delivery)).all() == []
        assert session.exec(select(Event)).all() == []


def _deadline_event() -> tuple[Event, RenderContext]:
    deadline = Deadline(
        key="dcd-26-cv-00412-answer", subject="dcd:1:26-cv-00412", case_id=1,
        label="Answer", rule_id="FRCP 12(a)(2)", citation="Fed. R. Civ. P. 12(a)(2)",
        due_date=date(2026, 5, 4), timezone="America/New_York",
        steps=["Served on the U.S. attorney 2026-03-03", "+60 days = 2026-05-02 (Saturday)",
               "rolls to Monday 2026-05-04"],
        created_at=NOW, updated_at=NOW)
    event = Event(id=12, kind="deadline.set", at=NOW, subject="dcd:1:26-cv-00412",
                  summary="Answer due 2026-05-04", dedupe_key="k",
                  data={"court": "dcd", "docket_number": "1:26-cv-00412",
                        "case_name": "Doe v. USCIS", "deadline_key": deadline.key})
    case = Case(court="dcd", docket_number="1:26-cv-00412", docket_key="26-cv-00412",
                case_name="Doe v. USCIS", cl_docket_id=6012345, first_seen=NOW)
    return event, RenderContext(case=case, deadline=deadline)


def test_deadline_message_says_due_rule_and_steps() -> None:
    event, context = _deadline_event()
    message = render_message(event, context)
    assert message.title == "[court-monitor] Deadline set 2026-05-04: Answer (dcd 1:26-cv-00412)"
    for needle in ("2026-05-04", "FRCP 12(a)(2)", "rolls to Monday", "Doe v. USCIS",
                   "https://www.courtlistener.com/docket/6012345/"):
        assert needle in message.text
        assert needle in message.html
    assert "deadline.set #12" in message.text


def test_entry_text_is_escaped_and_cleaned() -> None:
    event = Event(id=3, kind="entry.added", at=NOW, subject="s", summary="", dedupe_key="k",
                  data={"court": "dcd", "docket_number": "1:26-cv-00412",
                        "description": "MOTION <b>& Order</b>\x0c\x01 to compel",
                        "document_url": "https://ecf.dcd.uscourts.gov/doc1/1?a=1&b=2"})
    message = render_message(event)
    assert "MOTION <b>& Order</b> to compel" in message.text
    assert "&lt;b&gt;&amp; Order&lt;/b&gt;" in message.html
    assert 'href="https://ecf.dcd.uscourts.gov/doc1/1?a=1&amp;b=2"' in message.html
    assert "\x0c" not in message.text + message.html + message.title
    digest = render_digest([(event, RenderContext()), _deadline_event()], subscription="daily")
    assert digest.title == "[court-monitor] daily: 2 updates"
    assert "to compel" in digest.text and "FRCP 12(a)(2)" in digest.text


def test_docket_links() -> None:
    assert docket_url("dcd", "1:26-cv-00412", pacer_case_id="281234") == (
        "https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?281234")
    search = docket_url("ca2", "23-1104", pacer_case_id="99")
    assert search.startswith("https://www.courtlistener.com/?") and "court=ca2" in search
    assert "23-1104" in search
    assert clean_text("a\x00b\tc\n") == "ab\tc\n"


def test_backoff_doubles_and_caps() -> None:
    import random

    rng = random.Random(0)
    waits = [backoff_delay(n, rng).total_seconds() for n in range(1, 10)]
    for n, wait in enumerate(waits, start=1):
        nominal = min(3600, 60 * 2 ** (n - 1))
        assert nominal * 0.9 <= wait <= nominal * 1.1


def test_digest_cutoff_is_local_time() -> None:
    sub = _sub(mode="digest", digest_at="07:00:00")
    # 2026-03-09 11:30 UTC is 07:30 EDT (DST began 2026-03-08): today's digest has passed.
    at = digest_cutoff(sub, datetime(2026, 3, 9, 11, 30, tzinfo=UTC), "America/New_York")
    assert at == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    before = digest_cutoff(sub, datetime(2026, 3, 9, 10, 59, tzinfo=UTC), "America/New_York")
    assert before == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
