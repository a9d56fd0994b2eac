"""CourtListener v4: parsing (corpus webhooks and API examples, own fixtures), the source against
the fake server (discovery, sync, lookup, 429), priorities and the in-memory gate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from monitor.errors import FetchError, ParseError
from sources.base import (
    CaseObservation,
    Fetched,
    Plan,
    QuotaLimits,
    Runtime,
    Target,
    TargetState,
    TrackedCase,
)
from sources.courtlistener import CourtListener
from sources.courtlistener._json import (
    parse_docket,
    parse_docket_entries,
    parse_listing,
    parse_webhook,
)
from sources.courtlistener._schedule import deadline_weight, sync_interval
from sources.courtlistener._sync import docket_sync
from sources.request_budget import MemoryGate, QuotaDeferred, admit_request
from tests.conftest import FixedClock
from tests.fakes.courtlistener_server import FakeCourtListener

TOKEN = "s3cret-t0ken-value"
MANDAMUS = "28:1361 Petition for Writ of Mandamus"


# ---------------------------------------------------------------------------- helpers


def cases(observations: list[Any]) -> list[CaseObservation]:
    assert all(isinstance(o, CaseObservation) for o in observations)
    return list(observations)


def make_source(
    fake: FakeCourtListener,
    clock: FixedClock,
    *,
    gate: Any = None,
    token: str | None = TOKEN,
    **options: Any,
) -> CourtListener:
    opts = CourtListener.Options.model_validate(
        {"base_url": fake.base_url, "token_env": "CL_TOKEN", **options}
    )
    runtime = Runtime(secrets={"token": token} if token else {}, gate=gate)
    return CourtListener("cl", opts, httpx.Client(timeout=5), clock, runtime=runtime)


class OpenGate:
    """A gate that admits everything and counts (isolates the source's own logic)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.deferred: datetime | None = None

    def acquire(self, path: str) -> bool:
        self.paths.append(path)
        return True

    def defer(self, until: datetime) -> None:
        self.deferred = until


class CountingGate(OpenGate):
    """Admits `allowed` requests, then refuses."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed

    def acquire(self, path: str) -> bool:
        if len(self.paths) >= self.allowed:
            return False
        return super().acquire(path)


def run_round(source: CourtListener, plan: Plan) -> tuple[list[Any], list[Fetched]]:
    """What the core does: every target in order, stopping at the first deferral."""
    observations: list[Any] = []
    fetched_all: list[Fetched] = []
    for target in source.targets(plan):
        try:
            fetched = source.fetch(target, TargetState())
        except QuotaDeferred:
            break
        fetched_all.append(fetched)
        observations.extend(source.parse(fetched))
    return observations, fetched_all


@pytest.fixture
def fake(clock: FixedClock) -> Iterator[FakeCourtListener]:
    with FakeCourtListener(token=TOKEN, clock=clock, page_size=2) as server:
        yield server


def add_case(fake: FakeCourtListener, n: int, *, filed: date, cause: str = MANDAMUS,
             court: str = "dcd", entries: int = 1) -> int:
    docket_id = fake.add_docket(court, f"1:26-cv-{n:05d}", f"Petitioner {n} v. Noem",
                                cause=cause, nature_of_suit="Other Immigration Actions",
                                date_filed=filed)
    for i in range(1, entries + 1):
        fake.add_entry(docket_id, i, filed, f"Entry {i} of case {n}",
                       short_description=f"Entry {i}", pacer_doc_id=f"0451{n:03d}{i:04d}")
    return docket_id


# ---------------------------------------------------------------------------- options


def test_options_defaults_and_quota_by_anonymity() -> None:
    anonymous = CourtListener.Options.model_validate({})
    assert anonymous.base_url.endswith("/api/rest/v4/")
    assert anonymous.limits() == QuotaLimits(5, 50, 100)
    assert [q.name for q in anonymous.query] == ["mandamus"]
    with_token = CourtListener.Options.model_validate({"token_file": "/run/secrets/cl"})
    assert with_token.limits() == QuotaLimits(5, 50, 125)
    explicit = CourtListener.Options.model_validate({"quota": {"per_day": 4000}})
    assert explicit.limits().per_day == 4000


@pytest.mark.parametrize(
    "bad",
    [
        {"token": "x"},
        {"query": [{"name": "a"}, {"name": "a"}]},
        {"query": [{"name": "a", "type": "o"}]},
        {"query": [{"name": "a", "court": ["D.D.C."]}]},
        {"quota": {"per_week": 3}},
        {"initial_lookback": "a month"},
        {"base_url": "ftp://x/"},
    ],
)
def test_options_refuse_bad_keys(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CourtListener.Options.model_validate(bad)


def test_base_url_gets_a_trailing_slash() -> None:
    opts = CourtListener.Options.model_validate({"base_url": "http://127.0.0.1:9/api/rest/v4"})
    assert opts.base_url == "http://127.0.0.1:9/api/rest/v4/"


# ---------------------------------------------------------------------------- parsing: corpus


@pytest.mark.parametrize("name", ["docket_alert_v1.json", "docket_alert_v2.json"])
def test_corpus_docket_alert_webhook(corpus: Path, name: str) -> None:
    body = (corpus / "courtlistener" / "webhooks" / name).read_bytes()
    (case,) = parse_webhook(body)
    assert case.cl_docket_id == 4214664
    assert (case.court, case.pacer_case_id) == ("dcd", "178502")
    assert case.docket_number == ""  # resolved by cl_docket_id
    (entry,) = case.entries
    assert entry.entry_number == 140
    assert entry.date_filed == date(2022, 10, 11)
    assert entry.short_description == "Motion for Settlement"
    assert entry.pacer_doc_id == "04509519006"  # the main document, not the attachment
    assert entry.pacer_seq_no == 584
    assert entry.description.startswith("MOTION for Settlement Preliminary Approval")
    assert entry.document_url == (
        "https://www.courtlistener.com/docket/4214664/140/"
        "national-veterans-legal-services-program-v-united-states/"
    )
    assert case.backfill is False


@pytest.mark.parametrize("name", ["search_alert_v1.json", "search_alert_v2.json"])
def test_corpus_search_alert_webhook(corpus: Path, name: str) -> None:
    body = (corpus / "courtlistener" / "webhooks" / name).read_bytes()
    (case,) = parse_webhook(body)
    assert (case.court, case.docket_number, case.docket_number_raw) == ("scotus", "14-556",
                                                                        "14-556")
    assert case.case_name == "Obergefell v. Hodges"
    assert case.cl_docket_id == 2668808
    assert case.date_filed == date(2015, 6, 26)  # v1 gives a datetime, v2 a date


@pytest.mark.parametrize(
    "name", ["old_docket_alerts_report_v2.json", "pray_and_pay_v2.json", "recap_fetch_v2.json"]
)
def test_corpus_other_webhooks_give_nothing(corpus: Path, name: str) -> None:
    assert parse_webhook((corpus / "courtlistener" / "webhooks" / name).read_bytes()) == []


def test_corpus_docket_object(corpus: Path) -> None:
    data = json.loads((corpus / "courtlistener/api_docs_examples/docket_v4.json").read_text())
    case = parse_docket(data)
    assert case is not None
    assert (case.court, case.docket_number, case.cl_docket_id) == ("dcd", "1:16-cv-00745",
                                                                   4214664)
    assert case.cause == "28:1346 Tort Claim"
    assert case.nature_of_suit == "Other Statutory Actions"
    assert case.date_filed == date(2016, 4, 21) and case.date_terminated is None
    assert case.pacer_case_id == "178502"


def test_corpus_opinion_search_result(corpus: Path) -> None:
    path = corpus / "courtlistener/api_docs_examples/search_v4_opinions_response_first_result.json"
    (case,) = parse_listing({"results": [json.loads(path.read_text())]})
    assert (case.court, case.docket_number, case.cl_docket_id) == ("hawapp", "24158", 63544014)


def test_webhook_through_source_parse(corpus: Path, clock: FixedClock) -> None:
    body = (corpus / "courtlistener" / "webhooks" / "docket_alert_v2.json").read_bytes()
    source = CourtListener("cl", CourtListener.Options(), httpx.Client(), clock)
    pushed = Fetched(target=Target(key="webhook", url=""), content=body,
                     headers={"Idempotency-Key": "abc"})
    (case,) = cases(source.parse(pushed))
    assert case.entries[0].entry_number == 140


# ---------------------------------------------------------------------------- parsing: fixtures


def test_recap_search_page(fixtures: Path) -> None:
    data = json.loads((fixtures / "courtlistener" / "search_recap_page.json").read_text())
    found = parse_listing(data)
    assert [c.docket_number for c in found] == ["1:26-cv-00456", "4:26-cv-00981"]
    alvarez, nguyen = found
    assert alvarez.docket_number_raw == "1:26-cv-0456"
    assert (alvarez.cause, alvarez.nature_of_suit) == (MANDAMUS, "Other Immigration Actions")
    assert alvarez.cl_docket_id == 70000001 and alvarez.date_filed == date(2026, 2, 17)
    assert [e.entry_number for e in alvarez.entries] == [1, 3]
    petition = alvarez.entries[0]
    assert petition.pacer_doc_id == "04511234567"  # the attachment did not win
    assert petition.short_description == "Petition for Writ of Mandamus"
    assert petition.document_url.endswith("/docket/70000001/1/alvarez-v-noem/")
    assert nguyen.date_terminated == date(2026, 2, 27) and nguyen.entries == ()


def test_docket_entries_page(fixtures: Path) -> None:
    data = json.loads((fixtures / "courtlistener" / "docket_entries_page.json").read_text())
    petition, minute = parse_docket_entries(data["results"])
    assert (petition.entry_number, petition.short_description) == (1, "Petition for Writ of "
                                                                      "Mandamus")
    assert minute.entry_number is None and minute.pacer_seq_no == 4
    assert "respond to the petition by 4/20/2026" in minute.description


@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html>Bad gateway</html>", b"[1, 2]", b'{"payload": {}}', b"{"],
)
def test_bad_webhook_bodies_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_webhook(body)


def test_listing_without_results_raises() -> None:
    with pytest.raises(ParseError):
        parse_listing({"detail": "Invalid page."})


# ---------------------------------------------------------------------------- discovery


def test_discovery_follows_pages_and_filters(fake: FakeCourtListener, clock: FixedClock) -> None:
    today = clock().date()
    ours = [add_case(fake, n, filed=today - timedelta(days=n)) for n in range(1, 6)]
    add_case(fake, 50, filed=today - timedelta(days=2), cause="28:1331 Federal Question")
    add_case(fake, 51, filed=today - timedelta(days=90))  # older than the lookback
    source = make_source(fake, clock, gate=OpenGate(),
                         query=[{"name": "m", "type": "r", "cause": "28:1361"}])
    found, _ = run_round(source, Plan(now=clock()))
    assert sorted(c.cl_docket_id or 0 for c in cases(found)) == sorted(ours)
    assert fake.count("search/") == 3  # 5 results, 2 per page
    first = next(r for r in fake.log if r.path == "search/")
    assert first.query["filed_after"] == (today - timedelta(days=30)).isoformat()
    assert first.query["order_by"] == "dateFiled desc" and first.authorization
    assert all(c.entries and not c.backfill for c in cases(found))


def test_discovery_runs_again_only_after_its_interval(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    add_case(fake, 1, filed=clock().date())
    source = make_source(fake, clock, gate=OpenGate())
    run_round(source, Plan(now=clock()))
    clock.advance(minutes=10)
    assert source.targets(Plan(now=clock(), last_run=clock() - timedelta(minutes=10))) == []
    clock.advance(hours=6)
    due = TrackedCase("dcd", "1:26-cv-00001", cl_docket_id=1)
    docket, again = source.targets(Plan(now=clock(), tracked=(due,)))
    assert docket.key == "docket:1"  # discovery on time waits behind due dockets
    # searched again from the last discovery, with an overlap for late indexing
    assert again.params["filed_after"] == (clock() - timedelta(hours=6, minutes=10)
                                           - timedelta(days=2)).date().isoformat()


def test_discovery_resumes_where_the_quota_cut_it(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    today = clock().date()
    ours = {add_case(fake, n, filed=today - timedelta(days=n)) for n in range(1, 6)}
    gate = CountingGate(allowed=2)
    source = make_source(fake, clock, gate=gate)
    first, _ = run_round(source, Plan(now=clock()))
    assert len(first) == 4 and fake.count("search/") == 2
    gate.allowed = 10
    clock.advance(minutes=10)
    targets = source.targets(Plan(now=clock()))
    assert "cursor=" in targets[0].url  # the continuation comes first
    second, _ = run_round(source, Plan(now=clock()))
    assert {c.cl_docket_id for c in cases(first + second)} == ours
    assert fake.count("search/") == 3


# ---------------------------------------------------------------------------- sync


def tracked(docket_id: int, n: int, **kw: Any) -> TrackedCase:
    return TrackedCase(court="dcd", docket_number=f"1:26-cv-{n:05d}", cl_docket_id=docket_id,
                       **kw)


def sync_plan(clock: FixedClock, *cases_: TrackedCase) -> Plan:
    return Plan(now=clock(), tracked=cases_, last_run=clock() - timedelta(minutes=10))


def test_first_sync_is_backfill_and_gives_the_stamp(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    docket_id = add_case(fake, 7, filed=date(2026, 1, 5), entries=3)
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    found, (fetched,) = run_round(source, sync_plan(clock, tracked(docket_id, 7)))
    (case,) = cases(found)
    assert case.backfill and [e.entry_number for e in case.entries] == [1, 2, 3]
    assert case.case_name == "Petitioner 7 v. Noem"
    sync = docket_sync(fetched)
    assert sync is not None and sync.complete and sync.entries_fetched
    assert sync.date_modified == fake._docket_json(fake.dockets[docket_id])["date_modified"]
    assert fake.count("docket-entries/") == 2  # 3 entries, 2 per page


def test_only_changed_dockets_fetch_entries(fake: FakeCourtListener, clock: FixedClock) -> None:
    quiet = add_case(fake, 1, filed=date(2026, 2, 1))
    busy = add_case(fake, 2, filed=date(2026, 2, 1))
    stamps = {i: fake._docket_json(fake.dockets[i])["date_modified"] for i in (quiet, busy)}
    synced = clock() - timedelta(days=3)
    clock.advance(minutes=1)
    new_entry = fake.add_entry(busy, 2, clock().date(), "ORDER to show cause",
                               short_description="Order to Show Cause")
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    plan = sync_plan(clock, *(tracked(i, n, last_synced=synced, last_modified_seen=stamps[i])
                              for n, i in ((1, quiet), (2, busy))))
    found, fetched = run_round(source, plan)
    assert fake.count("dockets/") == 2 and fake.count("docket-entries/") == 1
    entries_request = next(r for r in fake.log if r.path == "docket-entries/")
    assert entries_request.query["docket"] == str(busy)
    assert entries_request.query["order_by"] == "date_modified"
    assert entries_request.query["date_modified__gte"] < stamps[busy]
    by_id = {c.cl_docket_id: c for c in cases(found)}
    assert by_id[quiet].entries == ()
    fresh = by_id[busy]
    assert [e.entry_number for e in fresh.entries] == [2] and not fresh.backfill
    assert fake.entries[new_entry].description == fresh.entries[0].description
    syncs = {s.cl_docket_id: s for s in map(docket_sync, fetched) if s}
    assert not syncs[quiet].entries_fetched and syncs[quiet].date_modified == stamps[quiet]
    assert syncs[busy].date_modified > stamps[busy]


def test_change_without_a_new_filing_skips_entries(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    docket_id = add_case(fake, 3, filed=date(2025, 6, 1))
    seen = fake._docket_json(fake.dockets[docket_id])["date_modified"]
    clock.advance(hours=1)
    fake.touch_docket(docket_id)  # re-indexed, nothing filed
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    case = tracked(docket_id, 3, last_synced=clock() - timedelta(days=2), last_modified_seen=seen)
    _, (fetched,) = run_round(source, sync_plan(clock, case))
    assert fake.count("docket-entries/") == 0
    sync = docket_sync(fetched)
    assert sync is not None and sync.date_modified > seen  # the new stamp is still learned


def test_entries_cut_by_quota_resume_and_hold_the_stamp(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    docket_id = add_case(fake, 4, filed=date(2026, 1, 5), entries=5)
    gate = CountingGate(allowed=2)  # the check and one page of entries
    source = make_source(fake, clock, gate=gate, query=[])
    case = tracked(docket_id, 4)
    first, (fetched,) = run_round(source, sync_plan(clock, case))
    sync = docket_sync(fetched)
    assert sync is not None and not sync.complete and sync.date_modified == ""
    assert len(cases(first)[0].entries) == 2
    gate.allowed = 10
    clock.advance(minutes=10)
    (resumed,) = source.targets(sync_plan(clock, case))
    assert resumed.key == f"docket:{docket_id}" and "cursor=" in resumed.url
    second, (fetched2,) = run_round(source, sync_plan(clock, case))
    numbers = [e.entry_number or 0 for c in cases(first + second) for e in c.entries]
    assert sorted(numbers) == [1, 2, 3, 4, 5]
    assert cases(second)[0].docket_number == "1:26-cv-00004"  # from the plan's context
    sync2 = docket_sync(fetched2)
    assert sync2 is not None and sync2.complete and sync2.date_modified
    assert fake.count("dockets/") == 1  # the check was not repeated


def test_unfinished_entries_of_an_untracked_docket_are_dropped(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    docket_id = add_case(fake, 4, filed=date(2026, 1, 5), entries=5)
    source = make_source(fake, clock, gate=CountingGate(allowed=2), query=[])
    run_round(source, sync_plan(clock, tracked(docket_id, 4)))
    assert source.targets(sync_plan(clock)) == []


class Core:
    """What the runner keeps for a source between processes: `Fetched.keep` in, `Plan.cursors`
    out (only for fetches whose observations were stored)."""

    def __init__(self) -> None:
        self.cursors: dict[str, str] = {}

    def store(self, fetched: Fetched) -> None:
        for key, text in fetched.keep.items():
            if text:
                self.cursors[key] = text
            else:
                self.cursors.pop(key, None)

    def plan(self, plan: Plan) -> Plan:
        return replace(plan, cursors=dict(self.cursors))


def kept_round(source: CourtListener, core: Core, plan: Plan) -> list[Any]:
    """One round as the runner does it, the core keeping what each fetch asks."""
    found, fetched = run_round(source, core.plan(plan))
    for one in fetched:
        core.store(one)
    return found


def test_entries_cut_by_quota_resume_in_a_new_process(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    docket_id = add_case(fake, 4, filed=date(2026, 1, 5), entries=5)
    core, case = Core(), tracked(docket_id, 4)
    gate = CountingGate(allowed=1)  # the check only: its entries wait for the next round
    first = kept_round(make_source(fake, clock, gate=gate, query=[]), core,
                       sync_plan(clock, case))
    assert cases(first)[0].entries == ()
    assert list(core.cursors) == [f"docket:{docket_id}"]
    assert "docket-entries/" in core.cursors[f"docket:{docket_id}"]
    assert TOKEN not in core.cursors[f"docket:{docket_id}"]

    gate.allowed = 20
    clock.advance(minutes=15)
    again = make_source(fake, clock, gate=gate, query=[])  # `poll --once`: a new process
    (resumed,) = again.targets(core.plan(sync_plan(clock, case)))
    assert resumed.key == f"docket:{docket_id}" and "docket-entries/" in resumed.url
    second = kept_round(again, core, sync_plan(clock, case))
    assert sorted(e.entry_number or 0 for c in cases(second) for e in c.entries) == [
        1, 2, 3, 4, 5]
    assert cases(second)[0].docket_number == "1:26-cv-00004"  # from the kept context
    assert fake.count("dockets/") == 1  # the check was not spent twice
    assert core.cursors == {}  # done: nothing left to keep


def test_a_fetch_the_core_did_not_store_is_resumed_again(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    docket_id = add_case(fake, 4, filed=date(2026, 1, 5), entries=5)
    core, case = Core(), tracked(docket_id, 4)
    gate = CountingGate(allowed=2)  # the check and the first page of entries
    source = make_source(fake, clock, gate=gate, query=[])
    kept_round(source, core, sync_plan(clock, case))
    kept = dict(core.cursors)
    assert "cursor=" in kept[f"docket:{docket_id}"]
    gate.allowed = 20
    _, (fetched,) = run_round(source, core.plan(sync_plan(clock, case)))
    assert fetched.keep == {f"docket:{docket_id}": ""}  # finished, asks to forget
    # ... but its observations were never stored (say the store failed): not done.
    (resumed,) = source.targets(core.plan(sync_plan(clock, case)))
    assert "cursor=" in resumed.url and resumed.key == f"docket:{docket_id}"


def test_lookup_miss_is_kept_across_processes(fake: FakeCourtListener, clock: FixedClock) -> None:
    core = Core()
    missing = TrackedCase(court="txsd", docket_number="26-cv-00999")
    found = kept_round(make_source(fake, clock, gate=OpenGate(), query=[]), core,
                       sync_plan(clock, missing))
    assert found == [] and list(core.cursors) == ["lookup:txsd:26-cv-00999"]
    clock.advance(hours=1)
    again = make_source(fake, clock, gate=OpenGate(), query=[])
    assert again.targets(core.plan(sync_plan(clock, missing))) == []
    clock.advance(days=3)
    later = make_source(fake, clock, gate=OpenGate(), query=[])
    (retry,) = later.targets(core.plan(sync_plan(clock, missing)))
    assert retry.key == "lookup:txsd:26-cv-00999"
    fake.add_docket("txsd", "4:26-cv-00999", "Found at last", date_filed=date(2026, 2, 2))
    (case,) = cases(kept_round(later, core, sync_plan(clock, missing)))
    assert case.docket_number == "4:26-cv-00999" and core.cursors == {}


def test_kept_memory_elsewhere_unreadable_or_untracked_is_forgotten(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    one = add_case(fake, 1, filed=date(2026, 2, 1))
    two = add_case(fake, 2, filed=date(2026, 2, 1))
    core = Core()
    elsewhere = {"resume": {"url": "https://elsewhere.example/api/rest/v4/docket-entries/"
                            "?docket=1", "context": {"cl_docket_id": one}}}
    untracked = {"resume": {"url": fake.base_url + "docket-entries/?docket=77",
                            "context": {"cl_docket_id": 77}}}
    core.cursors = {f"docket:{one}": json.dumps(elsewhere), f"docket:{two}": "{not json",
                    "docket:77": json.dumps(untracked)}
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    plan = sync_plan(clock, tracked(one, 1), tracked(two, 2))
    targets = source.targets(core.plan(plan))
    # Plain checks: the token never follows a kept link to another host; nothing resumed.
    assert sorted(t.url for t in targets) == sorted(
        f"{fake.base_url}dockets/{i}/" for i in (one, two))
    kept_round(source, core, plan)
    assert core.cursors == {}
    assert all(r.path.startswith(("dockets/", "docket-entries/")) for r in fake.log)
    assert "docket=77" not in json.dumps([r.query for r in fake.log])


def test_lookup_learns_the_docket_id(fake: FakeCourtListener, clock: FixedClock) -> None:
    docket_id = add_case(fake, 9, filed=date(2026, 2, 2))
    add_case(fake, 10, filed=date(2026, 2, 2))
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    from_rss = TrackedCase(court="dcd", docket_number="1:26-cv-00009")
    found, _ = run_round(source, sync_plan(clock, from_rss))
    (case,) = cases(found)
    assert case.cl_docket_id == docket_id
    request = next(r for r in fake.log if r.path == "dockets/")
    assert request.query == {"court": "dcd", "docket_number": "1:26-cv-00009"}


def test_lookup_without_office_uses_search_and_misses_wait(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    add_case(fake, 123, filed=date(2026, 2, 2), court="txsd")  # 1:26-cv-00123: similar
    fake.add_docket("txsd", "4:26-cv-00456", "Someone else", date_filed=date(2026, 2, 2))
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    unknown = TrackedCase(court="txsd", docket_number="26-cv-00456")
    found, _ = run_round(source, sync_plan(clock, unknown))
    (case,) = cases(found)
    assert case.docket_number == "4:26-cv-00456" and fake.count("search/") == 1
    missing = TrackedCase(court="txsd", docket_number="26-cv-00999")
    found, _ = run_round(source, sync_plan(clock, missing))
    assert found == [] and fake.count("search/") == 2
    clock.advance(hours=1)
    assert source.targets(sync_plan(clock, missing)) == []  # a miss is not retried at once
    clock.advance(days=3)
    assert [t.key for t in source.targets(sync_plan(clock, missing))] == [
        "lookup:txsd:26-cv-00999"]


# ---------------------------------------------------------------------------- 429, token


def test_429_stops_the_round_and_is_remembered(clock: FixedClock) -> None:
    with FakeCourtListener(token=TOKEN, clock=clock, per_minute=2) as fake:
        ids = [add_case(fake, n, filed=date(2026, 2, n)) for n in range(1, 5)]
        gate = MemoryGate(QuotaLimits(50, 500, 5000), clock, pace=False)  # looser than server
        source = make_source(fake, clock, gate=gate, query=[])
        plan = sync_plan(clock, *(tracked(i, n, last_modified_seen="x",
                                          last_synced=clock() - timedelta(days=9))
                                  for n, i in enumerate(ids, 1)))
        targets = source.targets(plan)
        for target in targets[:2]:  # unchanged filings: one check each, the two allowed
            assert docket_sync(source.fetch(target, TargetState())) is not None
        with pytest.raises(QuotaDeferred) as info:
            source.fetch(targets[2], TargetState())
        assert info.value.status == 429 and info.value.retry_after == 60
        assert isinstance(info.value, FetchError)
        with pytest.raises(QuotaDeferred):
            source.fetch(targets[3], TargetState())
        assert fake.throttled == 1  # the rest of the round never reached the server
        clock.advance(seconds=30)
        source.targets(plan)  # a new round, but Retry-After has not passed
        with pytest.raises(QuotaDeferred):
            source.fetch(targets[2], TargetState())
        assert fake.throttled == 1
        clock.advance(seconds=31)
        source.targets(plan)
        assert source.fetch(targets[2], TargetState()).status == 200
        assert fake.count("docket-entries/") == 0


def test_wrong_token_is_an_error_that_does_not_echo_it(clock: FixedClock) -> None:
    with FakeCourtListener(token="other", clock=clock) as fake:
        source = make_source(fake, clock, gate=OpenGate())
        (target,) = source.targets(Plan(now=clock()))
        with pytest.raises(FetchError) as info:
            source.fetch(target, TargetState())
        assert info.value.status == 401
        assert TOKEN not in str(info.value) and TOKEN not in repr(source)
        assert fake.log[0].authorization


def test_anonymous_sends_no_authorization(fake: FakeCourtListener, clock: FixedClock) -> None:
    fake.token = None
    source = make_source(fake, clock, gate=OpenGate(), token=None)
    run_round(source, Plan(now=clock()))
    assert fake.log and not any(r.authorization for r in fake.log)


# ---------------------------------------------------------------------------- priorities


def test_targets_order_deadline_fresh_rest_then_discovery(clock: FixedClock) -> None:
    now = clock()
    source = CourtListener("cl", CourtListener.Options(), httpx.Client(), clock,
                           runtime=Runtime(gate=OpenGate()))
    never = TrackedCase("dcd", "1:26-cv-00001", cl_docket_id=1)
    old = TrackedCase("dcd", "1:26-cv-00002", cl_docket_id=2, last_synced=now - timedelta(days=9))
    fresh = TrackedCase("dcd", "1:26-cv-00003", cl_docket_id=3,
                        last_synced=now - timedelta(hours=2),
                        last_activity=now - timedelta(hours=1))
    fresher = replace(fresh, cl_docket_id=4, last_activity=now - timedelta(minutes=5))
    soon = TrackedCase("dcd", "1:26-cv-00005", cl_docket_id=5, next_due=now.date() + timedelta(2),
                       last_synced=now - timedelta(days=1))
    later = replace(soon, cl_docket_id=6, next_due=now.date() + timedelta(20))
    quiet = TrackedCase("dcd", "1:26-cv-00007", cl_docket_id=7, last_synced=now)
    plan = Plan(now=now, tracked=(never, old, fresh, fresher, soon, later, quiet))
    keys = [t.key for t in source.targets(plan)]
    # discovery that never ran goes first; the not-yet-due docket comes last, as spare
    assert keys == ["search:mandamus", "docket:5", "docket:6", "docket:4", "docket:3",
                    "docket:1", "docket:2", "docket:7"]


def test_weights_and_intervals_favour_near_deadlines() -> None:
    today = date(2026, 3, 2)
    weights = [deadline_weight(today + timedelta(d), today) for d in (1, 5, 10, 25, 60)]
    assert weights == sorted(weights, reverse=True) and weights[0] > weights[-1]
    assert deadline_weight(None, today) == weights[-1]
    total = sum(weights)
    intervals = [sync_interval(w, total, 100) for w in weights]
    assert intervals == sorted(intervals)
    # the shares add up to the planned checks per day
    per_day = sum(timedelta(days=1) / i for i in intervals)
    assert per_day == pytest.approx(100, rel=0.01)


# ---------------------------------------------------------------------------- the gate rules


def test_memory_gate_never_exceeds_and_paces(clock: FixedClock) -> None:
    limits = QuotaLimits(5, 50, 125)
    gate = MemoryGate(limits, clock)
    granted: list[datetime] = []
    for _ in range(24 * 60):  # try every minute of a day, 3 times
        granted += [clock() for _ in range(3) if gate.acquire("x")]
        clock.advance(minutes=1)
    assert len(granted) <= 125
    assert len(granted) >= 120  # the budget is used, not hoarded
    per_hour = [sum(1 for t in granted if h * 3600 <= (t - granted[0]).total_seconds()
                    < (h + 1) * 3600) for h in range(24)]
    # spread over the day (greedy would be 50, 50, 25, then nothing for 21 hours)
    assert max(per_hour) <= 10 and min(per_hour[:23]) >= 4


def test_admit_request_respects_not_before() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    limits = QuotaLimits(5, 50, 125)
    assert admit_request([], now, limits)
    assert not admit_request([], now, limits, not_before=now + timedelta(seconds=1))
    assert not admit_request([now] * 5, now, limits, pace=False)


def test_lookup_with_only_other_cases_counts_as_a_miss(
    fake: FakeCourtListener, clock: FixedClock
) -> None:
    other = {"court_id": "txsd", "docketNumber": "4:26-cv-00457", "docket_id": 5,
             "caseName": "Not this one"}
    fake.inject(200, body={"count": 1, "next": None, "results": [other]})
    source = make_source(fake, clock, gate=OpenGate(), query=[])
    wanted = TrackedCase(court="txsd", docket_number="26-cv-00456")
    found, _ = run_round(source, sync_plan(clock, wanted))
    assert found == [] and fake.count("search/") == 1
    assert source.targets(sync_plan(clock, wanted)) == []
