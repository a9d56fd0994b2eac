"""ICE 287(g) lists: the real May 2025 files, generated workbooks, and fetching over loopback."""

from __future__ import annotations

import csv
import functools
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from monitor.errors import ParseError
from sources.agreement_identity import agreement_key
from sources.base import AgreementSnapshot, Plan, TargetState
from sources.ice_287g import (
    UNPARSED_SIGNED,
    Cell,
    Ice287g,
    SheetParse,
    find_list_links,
    parse_sheet,
    parse_signed,
    parse_xlsx,
    unwrap_safelink,
)

ICE = Path("agency") / "ice_287g"
PARTICIPATING = "participatingAgencies05162025am"
PENDING = "pendingAgencies05152025am"
EXCEL_EPOCH = date(1899, 12, 30)


# ---------------------------------------------------------------------------- the real files


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _norm(text: str) -> str:
    return " ".join(text.split())


def _assert_accounted(sheet: SheetParse) -> None:
    assert sheet.header_ok
    assert len(sheet.rows) + len(sheet.rejected) == sheet.data_rows


@pytest.mark.corpus
def test_real_participating_list_every_row_accounted_for(corpus: Path) -> None:
    sheet = parse_xlsx((corpus / ICE / f"{PARTICIPATING}.xlsx").read_bytes(), "participating")
    oracle = _csv_rows(corpus / ICE / f"{PARTICIPATING}.csv")
    print(
        f"\nparticipating: {sheet.data_rows} data rows = {len(sheet.rows)} kept "
        f"+ {len(sheet.rejected)} rejected; {sheet.blank_rows} blank; csv {len(oracle)} rows; "
        f"notes {[(n.row_number, n.message) for n in sheet.notes]}"
    )
    _assert_accounted(sheet)
    assert sheet.data_rows == len(oracle)
    kept = {(r.state, r.agency, r.support_type): r for r in sheet.rows}
    rejected_values = {r.values[:5] for r in sheet.rejected}
    # duplicates of one agreement (same identity) are merged into the first row of the group
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for line in oracle:
        ident = agreement_key(line["STATE"], line["LAW ENFORCEMENT AGENCY"], line["SUPPORT TYPE"])
        groups.setdefault(ident, []).append(line)
    assert [g[0]["LAW ENFORCEMENT AGENCY"] for g in groups.values() if len(g) > 1] == [
        "City of St. Cloud Police Department"]  # and "St. Cloud Police Department", one day on
    for line in oracle:
        key = (_norm(line["STATE"]), _norm(line["LAW ENFORCEMENT AGENCY"]), line["SUPPORT TYPE"])
        if key not in kept:
            values = tuple("" if v == "#N/A" else _norm(v) for v in list(line.values())[:5])
            assert values in rejected_values
            continue
        row = kept[key]
        group = groups[agreement_key(row.state, row.agency, row.support_type)]
        assert row.status == "participating"
        assert row.type == _norm(line["TYPE"])
        assert row.county == ("" if line["COUNTY"] == "#N/A" else _norm(line["COUNTY"]))
        assert row.moa_url == next((g["MOA_URL"] for g in group if g["MOA_URL"]), "")
        assert row.signed == min(_oracle_date(g["SIGNED"]) for g in group), line
    assert sum(1 for r in sheet.rows if r.moa_url) == sum(
        1 for g in groups.values() if any(line["MOA_URL"] for line in g))


def _oracle_date(text: str) -> date | None:
    """The CSV oracle: SIGNED is an Excel serial, except the one malformed text the file holds."""
    if text.isdigit():
        return EXCEL_EPOCH + timedelta(days=int(text))
    month, rest = text.split("/")
    return date(int(rest[-4:]), int(month), int(rest[:-4]))


@pytest.mark.corpus
def test_real_participating_list_quirks(corpus: Path) -> None:
    sheet = parse_xlsx((corpus / ICE / f"{PARTICIPATING}.xlsx").read_bytes(), "participating")
    campbell = [r for r in sheet.rows if r.agency == "Campbell County Sheriff's Office"]
    assert {r.state: r.signed for r in campbell}["VIRGINIA"] == date(2025, 5, 8)
    assert [n.raw for n in sheet.notes] == ["05/082025"]
    assert not any(r.county == "#N/A" or r.county != r.county.strip() for r in sheet.rows)
    # "link pending" and the text-only "link | addendum" cells carry no URL
    assert all(r.moa_url.startswith(("http://", "https://")) or not r.moa_url for r in sheet.rows)
    assert all(not r.extra for r in sheet.rows)


@pytest.mark.corpus
def test_real_pending_list_every_row_accounted_for(corpus: Path) -> None:
    sheet = parse_xlsx((corpus / ICE / f"{PENDING}.xlsx").read_bytes(), "pending")
    oracle = _csv_rows(corpus / ICE / f"{PENDING}.csv")
    print(f"\npending: {len(sheet.rows)} kept + {len(sheet.rejected)} rejected, csv {len(oracle)}")
    _assert_accounted(sheet)
    assert sheet.data_rows == len(oracle)
    assert [(r.state, r.agency, r.support_type) for r in sheet.rows] == [
        (_norm(x["STATE"]), _norm(x["LAW ENFORCEMENT AGENCY"]), x["SUPPORT TYPE"]) for x in oracle
    ]
    assert all(r.status == "pending" and r.signed is None and not r.moa_url for r in sheet.rows)


# ---------------------------------------------------------------------------- generated workbooks

HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA"]


def _workbook(
    path: Path,
    rows: list[list[Any]],
    *,
    header: list[str] | None = HEADER,
    links: dict[str, str] | None = None,
    title: str = "",
) -> Path:
    """Write an XLSX like ICE's: optional title row, header, rows; `links` cell -> URL."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    if header:
        sheet.append(header)
    for row in rows:
        sheet.append(row)
    for coordinate, url in (links or {}).items():
        sheet[coordinate].hyperlink = url
    book.save(path)
    return path


def test_generated_workbook_quirks(tmp_path: Path) -> None:
    header = [
        "STATE",
        "LAW ENFORCEMENT AGENCY",
        "SUPPORT TYPE",
        "COUNTY",
        "TYPE",
        "SIGNED",
        "MOA",
        "ADDENDUM",
        "NOTES",
    ]
    rows: list[list[Any]] = [
        [
            "TEXAS ",
            "Lubbock County Sheriff's Office ",
            "Jail Enforcement Model",
            "Lubbock County ",
            "County",
            datetime(2020, 6, 8),
            "link",
            "addendum",
            "renewed",
        ],
        [
            "FLORIDA",
            "Arcadia Police Department",
            "Task Force Model",
            "#N/A",
            "Municipality",
            45721,
            "link pending",
            None,
            None,
        ],
        [
            "VIRGINIA",
            "Campbell County Sheriff's Office",
            "Task Force Model",
            "Campbell County",
            "County",
            "05/082025",
            "link pending ",
            None,
            None,
        ],
        [None, None, None, None, None, None, None, None, None],
        [
            "UTAH",
            "Washington County Sheriff's Office",
            "Jail Enforcement Model",
            "Washington",
            "County",
            "7/72025",
            "https://www.ice.gov/doclib/287gMOA/WashingtonUT.pdf",
            None,
            None,
        ],
        [
            "OHIO",
            "Butler County Sheriff's Office",
            "Task Force Model",
            "Butler County",
            "County",
            "112/2025",
            "link",
            None,
            None,
        ],
        [
            "OHIO",
            "Clark County Sheriff's Office",
            "Task Force Model",
            "Clark County",
            "County",
            "13/45/2025",
            None,
            None,
            None,
        ],
        ["OHIO", None, "Task Force Model", "Clark County", "County", None, None, None, None],
        [
            "TEXAS",
            "Lubbock County Sheriff\u2019s Office",
            "Jail Enforcement Model",
            "",
            "County",
            None,
            None,
            None,
            None,
        ],
        header,
        ["Updated May 16, 2025"],
    ]
    links = {
        "G3": "https://www.ice.gov/doclib/287gMOA/LubbockTX.pdf",
        "H3": "https://www.ice.gov/doclib/287gMOA/LubbockTX_addendum.pdf",
        "G8": "https://www.ice.gov/doclib/287gMOA/ButlerOH.pdf",
    }
    path = _workbook(
        tmp_path / "p.xlsx", rows, header=header, links=links, title="287(g) Participating Agencies"
    )
    sheet = parse_xlsx(path.read_bytes(), "participating")

    _assert_accounted(sheet)
    assert sheet.data_rows == 10 and sheet.blank_rows == 1
    by_agency = {r.agency: r for r in sheet.rows}
    assert set(by_agency) == {
        "Lubbock County Sheriff's Office",
        "Arcadia Police Department",
        "Campbell County Sheriff's Office",
        "Washington County Sheriff's Office",
        "Butler County Sheriff's Office",
        "Clark County Sheriff's Office",
    }
    lubbock = by_agency["Lubbock County Sheriff's Office"]
    assert (lubbock.state, lubbock.county, lubbock.signed) == (
        "TEXAS",
        "Lubbock County",
        date(2020, 6, 8),
    )
    assert lubbock.moa_url == links["G3"] and lubbock.addendum_url == links["H3"]
    assert lubbock.extra == {"NOTES": "renewed"}
    arcadia = by_agency["Arcadia Police Department"]
    assert (arcadia.county, arcadia.signed, arcadia.moa_url) == ("", date(2025, 3, 5), "")
    assert by_agency["Campbell County Sheriff's Office"].signed == date(2025, 5, 8)
    washington = by_agency["Washington County Sheriff's Office"]
    assert washington.signed == date(2025, 7, 7)
    assert washington.moa_url == "https://www.ice.gov/doclib/287gMOA/WashingtonUT.pdf"
    butler = by_agency["Butler County Sheriff's Office"]
    assert butler.signed is None and butler.extra[UNPARSED_SIGNED] == "112/2025"
    assert butler.moa_url == links["G8"]
    assert by_agency["Clark County Sheriff's Office"].signed is None

    notes = {n.row_number: n.message for n in sheet.notes}
    assert "repaired" in notes[5] and "repaired" in notes[7]
    assert "ambiguous" in notes[8] and "not a valid date" in notes[9]
    reasons = {r.row_number: r.reason for r in sheet.rejected}
    assert reasons == {
        10: "missing LAW ENFORCEMENT AGENCY",
        11: "duplicate of row 3 (merged)",
        12: "repeated header row",
        13: "missing LAW ENFORCEMENT AGENCY, SUPPORT TYPE",
    }


def test_headerless_workbook_rejects_every_row(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["ALABAMA", "Colbert County", "County"], [None], ["TX", "x", "y"]]
    sheet = parse_xlsx(_workbook(tmp_path / "h.xlsx", rows, header=None).read_bytes(), "pending")
    assert not sheet.header_ok and not sheet.rows
    assert [r.row_number for r in sheet.rejected] == [1, 3]
    assert sheet.blank_rows == 1 and sheet.data_rows == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (45785, date(2025, 5, 8)),
        (45785.0, date(2025, 5, 8)),
        ("45785", date(2025, 5, 8)),
        (datetime(2025, 5, 8, 0, 0), date(2025, 5, 8)),
        ("5/8/2025", date(2025, 5, 8)),
        ("05/08/25", date(2025, 5, 8)),
        ("2025-05-08", date(2025, 5, 8)),
        ("May 8, 2025", date(2025, 5, 8)),
        ("05/082025", date(2025, 5, 8)),
        ("7/72025", date(2025, 7, 7)),
        ("0508/2025", date(2025, 5, 8)),
        ("12/312025", date(2025, 12, 31)),
        ("112/2025", None),  # 1/12 or 11/2
        ("13/45/2025", None),
        ("pending", None),
        ("#N/A", None),
        (None, None),
        (3, None),  # serial 3 is 1900: not a plausible agreement date
    ],
)
def test_parse_signed(value: Any, expected: date | None) -> None:
    assert parse_signed(value).on == expected


def test_parse_signed_notes_repairs_and_failures() -> None:
    assert parse_signed("05/082025").note == "repaired '05/082025' as 2025-05-08"
    assert "ambiguous" in parse_signed("112/2025").note
    assert parse_signed("5/8/2025").note == ""


# ---------------------------------------------------------------------------- fetching


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        self.server.paths.append(self.path)  # type: ignore[attr-defined]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving `tmp_path/site`; yields (base URL, dir, paths)."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Handler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, server.paths  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


PAGE = """<html><body><h1>Delegation of Immigration Authority Section 287(g)</h1>
<p>Download: <a href="/doclib/287g/participatingAgencies05162025am.xlsx">Participating
agencies</a> | <a href="doclib/287g/pendingAgencies05152025am.xlsx?v=2">Pending agencies</a>
<a href="/doclib/287g/archive.pdf">archive</a></p></body></html>"""


def _publish(root: Path) -> None:
    (root / "doclib" / "287g").mkdir(parents=True)
    (root / "index.html").write_text(PAGE)
    _workbook(
        root / "doclib/287g/participatingAgencies05162025am.xlsx",
        [
            [
                "ALABAMA",
                "Elmore County Sheriff's Office",
                "County",
                "Elmore County",
                "Jail Enforcement Model",
                45722,
                "link",
            ]
        ],
        links={"G2": "https://www.ice.gov/doclib/287gMOA/ElmoreCountyAL_JEM_MOA_030625.pdf"},
    )
    _workbook(
        root / "doclib/287g/pendingAgencies05152025am.xlsx",
        [
            [
                "ALABAMA",
                "Houston County Sheriff's Office",
                "County",
                "Houston County",
                "Jail Enforcement Model",
            ]
        ],
        header=HEADER[:5],
    )


def _source(clock: Any, **options: Any) -> tuple[Ice287g, httpx.Client]:
    client = httpx.Client(timeout=5)
    return Ice287g("ice", Ice287g.Options(**options), client, clock), client


def test_fetch_follows_the_page_links(site: tuple[str, Path, list[str]], clock: Any) -> None:
    base, root, paths = site
    _publish(root)
    source, client = _source(clock, page_url=f"{base}/index.html")
    with client:
        targets = source.targets(Plan(now=clock()))
        assert [t.key for t in targets] == ["participating", "pending"]
        fetched = [source.fetch(t, TargetState()) for t in targets]
        snapshots = [o for f in fetched for o in source.parse(f)]
    assert all(isinstance(s, AgreementSnapshot) for s in snapshots)
    participating, pending = snapshots
    assert isinstance(participating, AgreementSnapshot) and isinstance(pending, AgreementSnapshot)
    assert participating.url == f"{base}/doclib/287g/participatingAgencies05162025am.xlsx"
    assert pending.url == f"{base}/doclib/287g/pendingAgencies05152025am.xlsx?v=2"
    assert [(r.agency, r.signed, r.moa_url) for r in participating.rows] == [
        (
            "Elmore County Sheriff's Office",
            date(2025, 3, 6),
            "https://www.ice.gov/doclib/287gMOA/ElmoreCountyAL_JEM_MOA_030625.pdf",
        )
    ]
    assert [(r.agency, r.status) for r in pending.rows] == [
        ("Houston County Sheriff's Office", "pending")
    ]
    assert paths.count("/index.html") == 1  # the page is read once per round


def test_fetch_is_conditional(site: tuple[str, Path, list[str]], clock: Any) -> None:
    base, root, _ = site
    _publish(root)
    url = f"{base}/doclib/287g/pendingAgencies05152025am.xlsx"
    source, client = _source(clock, page_url=f"{base}/missing.html", pending_url=url)
    with client:
        target = source.targets(Plan(now=clock()))[1]
        first = source.fetch(target, TargetState())
        state = TargetState(last_modified=first.headers["last-modified"])
        second = source.fetch(target, state)
    assert not first.not_modified and second.not_modified and second.status == 304
    assert source.parse(second) == []


def test_direct_urls_win_over_the_page(site: tuple[str, Path, list[str]], clock: Any) -> None:
    base, root, paths = site
    _publish(root)
    source, client = _source(
        clock,
        page_url=f"{base}/index.html",
        participating_url=f"{base}/doclib/287g/participatingAgencies05162025am.xlsx",
        pending_url=f"{base}/doclib/287g/pendingAgencies05152025am.xlsx",
    )
    with client:
        for target in source.targets(Plan(now=clock())):
            assert source.parse(source.fetch(target, TargetState()))
    assert "/index.html" not in paths


def test_page_without_the_link_is_a_parse_error(
    site: tuple[str, Path, list[str]], clock: Any
) -> None:
    base, root, _ = site
    (root / "index.html").write_text("<html><body>Page moved</body></html>")
    source, client = _source(clock, page_url=f"{base}/index.html")
    with client, pytest.raises(ParseError) as info:
        source.fetch(source.targets(Plan(now=clock()))[0], TargetState())
    assert info.value.source == "ice" and info.value.url == f"{base}/index.html"


def test_an_html_error_page_is_a_parse_error(clock: Any) -> None:
    source, client = _source(clock)
    target = source.targets(Plan(now=clock()))[0]
    from sources.base import Fetched

    with client, pytest.raises(ParseError):
        source.parse(Fetched(target=target, content=b"<html>Service Unavailable</html>"))


def test_html_table_format(site: tuple[str, Path, list[str]], clock: Any) -> None:
    base, root, _ = site
    (root / "list.html").write_text(
        "<h2>Pending agencies</h2><table><tr><th>STATE</th><th>LAW ENFORCEMENT AGENCY</th>"
        "<th>SUPPORT TYPE</th></tr><tr><td>OHIO</td><td>Butler County SO</td>"
        "<td>Task Force Model</td></tr></table>"
        "<h2>Participating agencies</h2><table><tr><th>STATE</th><th>LAW ENFORCEMENT AGENCY</th>"
        "<th>SUPPORT TYPE</th><th>SIGNED</th><th>MOA</th></tr><tr><td>TEXAS</td>"
        "<td>Lubbock  County SO</td><td>Jail Enforcement Model</td><td>6/8/2020</td>"
        "<td><a href='/moa/lubbock.pdf'>link</a></td></tr></table>"
    )
    source, client = _source(clock, page_url=f"{base}/list.html", format="html")
    with client:
        targets = source.targets(Plan(now=clock()))
        participating, pending = (source.parse(source.fetch(t, TargetState()))[0] for t in targets)
    assert isinstance(participating, AgreementSnapshot) and isinstance(pending, AgreementSnapshot)
    assert [(r.agency, r.signed, r.moa_url) for r in participating.rows] == [
        ("Lubbock County SO", date(2020, 6, 8), f"{base}/moa/lubbock.pdf")
    ]
    assert [(r.state, r.agency) for r in pending.rows] == [("OHIO", "Butler County SO")]


def test_find_list_links_by_link_text() -> None:
    page = b'<a href="/files/a.xlsx">Pending Agencies</a><a href="/files/b.xlsx">Participating</a>'
    assert find_list_links(page, "https://www.ice.gov/x") == {
        "pending": "https://www.ice.gov/files/a.xlsx",
        "participating": "https://www.ice.gov/files/b.xlsx",
    }


def test_outlook_safelinks_are_unwrapped_in_moa_links() -> None:
    real = "https://www.ice.gov/doclib/287gMOA/CrenshawCoAL_WSO_MOA_04.16.2025.pdf"
    wrapped = ("https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.ice.gov"
               "%2Fdoclib%2F287gMOA%2FCrenshawCoAL_WSO_MOA_04.16.2025.pdf&data=05%7C02%7C"
               "&sdata=abc%3D&reserved=0")
    assert unwrap_safelink(wrapped) == real
    assert unwrap_safelink(real) == real
    # not a SafeLinks host, or no usable target: kept as published
    assert unwrap_safelink("https://example.org/?url=https%3A%2F%2Fx") == \
        "https://example.org/?url=https%3A%2F%2Fx"
    assert unwrap_safelink("https://x.safelinks.protection.outlook.com/?data=1").startswith(
        "https://x.safelinks")
    header = [Cell(h, h) for h in ("STATE", "LAW ENFORCEMENT AGENCY", "SUPPORT TYPE", "MOA")]
    row = [Cell("ALABAMA", "ALABAMA"), Cell("Crenshaw County Sheriff's Office",
                                            "Crenshaw County Sheriff's Office"),
           Cell("Warrant Service Officer", "Warrant Service Officer"),
           Cell("link", "link", wrapped)]
    sheet = parse_sheet([header, row], "participating")
    assert [r.moa_url for r in sheet.rows] == [real]


def test_duplicate_rows_with_curly_and_straight_quotes_are_one_agreement() -> None:
    header = [Cell(h, h) for h in ("STATE", "LAW ENFORCEMENT AGENCY", "SUPPORT TYPE", "SIGNED",
                                   "MOA")]

    def line(agency: str, signed: date, link: str) -> list[Cell]:
        return [Cell("TEXAS", "TEXAS"), Cell(agency, agency),
                Cell("Task Force Model", "Task Force Model"), Cell(signed, signed.isoformat()),
                Cell("link" if link else "link pending", "link", link)]

    sheet = parse_sheet([header,
                         line("Harris County Sheriff's Office", date(2025, 3, 2), ""),
                         line("Harris County Sheriff\u2019s Office", date(2025, 3, 1),
                              "https://www.ice.gov/x.pdf")], "participating")
    assert len(sheet.rows) == 1 and len(sheet.rejected) == 1
    merged = sheet.rows[0]
    assert merged.signed == date(2025, 3, 1) and merged.moa_url == "https://www.ice.gov/x.pdf"
    snapshot = sheet.snapshot("participating", "http://127.0.0.1/p.xlsx")
    assert len(snapshot.notes) == 1 and "duplicate of row 2" in snapshot.notes[0]


def test_one_agency_listed_twice_under_two_names_is_merged() -> None:
    header = [Cell(h, h) for h in ("STATE", "LAW ENFORCEMENT AGENCY", "COUNTY", "SUPPORT TYPE",
                                   "SIGNED")]

    def line(agency: str, county: str = "Pasco County",
             signed: date = date(2025, 2, 26)) -> list[Cell]:
        return [Cell("FLORIDA", "FLORIDA"), Cell(agency, agency), Cell(county, county),
                Cell("Task Force Model", "Task Force Model"), Cell(signed, signed.isoformat())]

    sheet = parse_sheet([header,
                         line("Pasco County Sheriff's Office"),
                         line("Pasco Sheriff's Office"),
                         line("Pasco Police Department"),  # another body: its own agreement
                         line("Lake Sheriff's Office", signed=date(2025, 3, 1)),
                         line("Lake County Sheriff's Office", signed=date(2025, 3, 2)),
                         line("Pasco Sheriffs Office", signed=date(2025, 3, 1))],
                        "participating")
    # another day, nothing else in common: kept apart
    assert [r.agency for r in sheet.rows] == [
        "Pasco County Sheriff's Office", "Pasco Police Department", "Lake Sheriff's Office",
        "Lake County Sheriff's Office"]
    # the last row has the identity of the second: one agreement, the earliest SIGNED kept
    assert [r.reason for r in sheet.rejected] == ["duplicate of row 2 (merged)",
                                                  "duplicate of row 2 (merged)"]
    assert sheet.rows[0].signed == date(2025, 2, 26)
