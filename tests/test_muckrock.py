"""The `muckrock` source on its own (against the local stand-in of MuckRock's API), its pure
readers, and the agency-name matching that links a request to an agreement and a lawsuit."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from monitor.config import load_config
from monitor.db import make_engine, read_session
from monitor.errors import ConfigError
from monitor.matching import Matcher
from monitor.matter_links import agency_match, case_parties
from monitor.matters import clock_key
from monitor.migrate import upgrade
from monitor.models import Deadline
from monitor.store import Store
from sources.base import Plan, RequestCommunication, RequestObservation, Runtime, TargetState
from sources.muckrock import MuckRock
from sources.muckrock._json import STATUS_WORDS
from sources.muckrock._options import MuckRockOptions
from sources.request_budget import QuotaDeferred
from tests.conftest import FixedClock
from tests.fakes.muckrock_server import FakeMuckRock, FakeRequest

NOW = datetime(2026, 5, 26, 12, tzinfo=UTC)
US_STATES = {"IL": "Illinois", "TX": "Texas", "NC": "North Carolina", "FL": "Florida"}


def source(fake: FakeMuckRock, clock: FixedClock, token: str | None = None,
           **options: Any) -> MuckRock:
    opts = MuckRockOptions.model_validate({"base_url": fake.base_url, **options})
    return MuckRock("mr", opts, httpx.Client(timeout=5), clock,
                    runtime=Runtime(secrets={"token": token} if token else {}))


def observe(src: MuckRock, now: datetime) -> list[RequestObservation]:
    out: list[RequestObservation] = []
    for target in src.targets(Plan(now=now)):
        for obs in src.parse(src.fetch(target, TargetState())):
            assert isinstance(obs, RequestObservation)
            out.append(obs)
    return out


def snapshot_fake(fake: FakeMuckRock, snapshot: dict[str, Any]) -> list[int]:
    """The corpus snapshot's requests served by the stand-in, as the API shapes them."""
    ids = []
    for n, (code, name) in enumerate(US_STATES.items(), start=1):
        fake.add_jurisdiction(n, name, level="s", abbrev=code)
    states = {code: n for n, code in enumerate(US_STATES, start=1)}
    for i, row in enumerate(snapshot["requests"]):
        county, _, code = row["jurisdiction"].rpartition(", ")
        local = fake.add_jurisdiction(100 + i, county, level="l", parent=states[code])
        agency = fake.add_agency(500 + i, row["agency_label"], local)
        done = row["datetime_done"]
        fake.add_request(FakeRequest(
            id=row["foia_id"], title=row["title"], agency=agency, user="jlewin",
            status=row["status"],
            submitted=datetime.fromisoformat(row["datetime_submitted"]).replace(tzinfo=UTC),
            done=datetime.fromisoformat(done).replace(tzinfo=UTC) if done else None,
            updated=datetime.fromisoformat(row["datetime_updated"]).replace(tzinfo=UTC)))
        ids.append(row["foia_id"])
    return ids


def test_the_corpus_multirequest_read_back_through_the_api_shapes(corpus: Path) -> None:
    snapshot = json.loads(
        (corpus / "agency/foia/muckrock_287g_requests_snapshot.json").read_text())
    clock = FixedClock(NOW)
    with FakeMuckRock(clock=clock, max_page_size=3) as fake:
        ids = snapshot_fake(fake, snapshot)
        src = source(fake, clock, multirequest=[{
            "name": "ice", "user": "jlewin", "title": snapshot["multirequest"]["title"]}],
            requests=ids[:2], quota={"per_minute": 100, "per_day": 100000})
        seen = {o.matter: o for o in observe(src, NOW)}
        assert fake.count("foia/") >= 3  # 8 requests, 3 a page, followed by `next`
    assert set(seen) == {f"muckrock-{i}" for i in ids}
    for row in snapshot["requests"]:
        obs = seen[f"muckrock-{row['foia_id']}"]
        assert obs.agency == row["agency_label"]
        assert obs.jurisdiction == row["jurisdiction"]
        assert obs.state == row["jurisdiction"].rsplit(", ", 1)[1]
        assert obs.status == STATUS_WORDS[row["status"]] and obs.status_code == row["status"]
        assert obs.submitted == date.fromisoformat(row["datetime_submitted"][:10])
        assert obs.done == (date.fromisoformat(row["datetime_done"][:10])
                            if row["datetime_done"] else None)
        assert obs.closed == (row["status"] in ("done", "rejected", "no_docs", "abandoned"))
        assert obs.baseline is True
        assert obs.url.startswith(fake.base_url.split("/api_v1/")[0])


def test_pages_a_foreign_next_link_no_token_anonymous_and_429_deferred() -> None:
    clock = FixedClock(NOW)
    with FakeMuckRock(clock=clock, per_minute=3, max_page_size=1) as fake:
        fake.add_jurisdiction(1, "United States of America", level="f")
        fake.add_agency(10, "U.S. Immigration and Customs Enforcement", 1)
        for i in (1, 2):
            fake.add_request(FakeRequest(id=i, title=f"r{i}", agency=10, user="u",
                                         date_due=date(2026, 6, 1)))
        src = source(fake, clock, users=["u"])
        target = src.targets(Plan(now=NOW))[0]
        fetched = src.fetch(target, TargetState())
        # 2 pages, 1 agency, 1 jurisdiction would be 4 requests: the third is refused (429)
        assert fake.throttled == 1 and json.loads(fetched.content)["complete"] is False
        assert src.parse(fetched) == []  # the agency is known, its jurisdiction is not yet
        assert all(entry[4] == "" for entry in fake.log)  # anonymous: no Authorization
        with pytest.raises(QuotaDeferred):
            src.fetch(target, TargetState())  # the gate holds until Retry-After passes
        clock.advance(minutes=1, seconds=1)
        target = src.targets(Plan(now=clock.now))[0]  # a new round
        obs = src.parse(src.fetch(target, TargetState()))
        assert [(o.matter, o.agency, o.jurisdiction, o.state, o.due) for o in obs] == [
            ("muckrock-2", "U.S. Immigration and Customs Enforcement",
             "United States of America", "", date(2026, 6, 1)),
            ("muckrock-1", "U.S. Immigration and Customs Enforcement",
             "United States of America", "", date(2026, 6, 1))]
        assert fake.count("agency/") == 1  # looked up once


def test_the_token_goes_in_the_header_only_and_never_in_repr() -> None:
    clock = FixedClock(NOW)
    with FakeMuckRock(token="abc123", clock=clock) as fake:
        src = source(fake, clock, token="abc123", requests=[7])
        assert "abc123" not in repr(src) and "abc123" not in repr(src.runtime)
        fake.add_jurisdiction(1, "Texas", level="s", abbrev="TX")
        fake.add_agency(3, "Texas Department of Public Safety", 1)
        fake.add_request(FakeRequest(id=7, title="DPS 287(g)", agency=3, user="u",
                                     status="payment"))
        [obs] = observe(src, NOW)
        assert obs.paused and obs.status == "payment required" and obs.state == "TX"
        assert {entry[4] for entry in fake.log} == {"Token abc123"}


def test_config_keys_validated_and_a_missing_token_variable_is_an_error(
    tmp_path: Path
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[source]]\nid = "mr"\nkind = "muckrock"\ntoken_env = "NOPE_X"\n')
    with pytest.raises(ConfigError, match="NOPE_X"):
        load_config(str(path), environ={})
    path.write_text('[[source]]\nid = "mr"\nkind = "muckrock"\nrequest = [1]\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(str(path), environ={})
    path.write_text('[[source]]\nid = "mr"\nkind = "muckrock"\nagencies = [393]\n'
                    '[[source.link]]\nrequest = 208495\ncase = "txsd:4:26-cv-01234"\n')
    cfg = load_config(str(path), environ={})
    assert cfg.sources[0].options.link[0].case == "txsd:4:26-cv-01234"


@pytest.mark.parametrize(("name", "other", "state", "how"), [
    ("Harris County Sheriff", "Harris County Sheriff's Office", "TX", "exact"),
    ("Miami-dade Sheriff's Office", "Miami-Dade County Sheriff's Office", "FL", "alias"),
    ("Harris County Sheriff", "Sheriff of Harris County", "TX", "alias"),
    ("Mecklenburg County Sheriff's Office", "Meckelnburg County Sheriffs Office", "NC",
     "fuzzy"),
    ("Harris County Sheriff", "Harris County Constable Precinct 4", "TX", None),
    ("Polk County Sheriff", "Polk County Board of Commissioners", "FL", None),
    ("Cook County Sheriff", "DuPage County Sheriff", "IL", None),
])
def test_agency_names_match_and_say_how(name: str, other: str, state: str,
                                        how: str | None) -> None:
    found = agency_match(name, other, state)
    assert (found.how if found else None) == how
    if found is not None and how == "fuzzy":
        assert 88 <= found.score < 100


def test_case_parties() -> None:
    assert case_parties("Doe v. Harris County Sheriff's Office et al.") == [
        "Doe", "Harris County Sheriff's Office"]
    assert case_parties("Roe v. Gonzalez, Sheriff of Harris County") == [
        "Roe", "Gonzalez, Sheriff of Harris County", "Sheriff of Harris County"]


def test_fix_required_pauses_the_clock_and_the_answer_resumes_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine, Matcher([]), config=load_config(None, environ={
        "XDG_CONFIG_HOME": str(tmp_path)}))
    obs = RequestObservation(matter="muckrock-5", agency="Wake County Sheriff's Office",
                             status="acknowledged", status_code="ack", state="NC",
                             submitted=date(2026, 4, 8))

    def apply(o: RequestObservation, day: date) -> list[str]:
        result = store.apply([o], source_id="mr", now=datetime(day.year, day.month, day.day,
                                                                 13, tzinfo=UTC))
        return [e.kind for e in result.events]

    assert apply(obs, date(2026, 4, 10)) == ["matter.added", "deadline.set"]
    fix = replace(obs, status="fix required", status_code="fix", paused=True)
    assert apply(fix, date(2026, 4, 13)) == ["matter.status_changed"]
    assert apply(fix, date(2026, 4, 14)) == []  # still paused: the due date does not creep
    assert apply(fix, date(2026, 4, 17)) == []
    resumed = replace(obs, status="processing", status_code="processed")
    assert apply(resumed, date(2026, 4, 20)) == ["matter.status_changed", "deadline.changed"]
    with read_session(engine) as session:
        clock = session.exec(select(Deadline).where(
            Deadline.key == clock_key("muckrock-5"))).one()
    # 20 working days from Apr 8 is May 6; paused Apr 13..20: 5 working days more
    assert clock.due_date == date(2026, 5, 13)
    done = replace(obs, status="completed", status_code="done", closed=True)
    assert apply(done, date(2026, 4, 21)) == ["matter.status_changed", "deadline.met"]
    assert apply(done, date(2026, 4, 22)) == []


def test_a_rejected_request_appealed_runs_on_the_appeal_clock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine, Matcher([]), config=load_config(None, environ={
        "XDG_CONFIG_HOME": str(tmp_path)}))
    sent = RequestCommunication(id="1", at=datetime(2026, 4, 8, 16, tzinfo=UTC),
                                response=False, subject="Request")
    rejected = RequestObservation(
        matter="muckrock-6", agency="U.S. Immigration and Customs Enforcement",
        status="rejected", status_code="rejected", closed=True, submitted=date(2026, 4, 8),
        communications=(sent,))

    def apply(o: RequestObservation, day: date) -> list[Any]:
        return store.apply([o], source_id="mr", now=datetime(day.year, day.month, day.day, 13,
                                                             tzinfo=UTC)).events

    assert [e.kind for e in apply(rejected, date(2026, 4, 20))] == [
        "matter.added", "deadline.set", "deadline.met"]
    appeal = RequestCommunication(id="2", at=datetime(2026, 5, 1, 15, tzinfo=UTC),
                                  response=False, subject="Appeal")
    appealing = replace(rejected, status="appealing", status_code="appealing", closed=False,
                        appealing=True, communications=(sent, appeal))
    events = apply(appealing, date(2026, 5, 4))
    assert [e.kind for e in events] == ["matter.status_changed", "deadline.changed"]
    # 20 working days from Fri May 1: May 4-22 are 15, Memorial Day (May 25) does not count,
    # May 26-29 are 16-19, Mon Jun 1 the 20th
    assert events[1].data["due"] == "2026-06-01"
    assert events[1].data["citation"] == "5 U.S.C. 552(a)(6)(A)(ii)"
