"""ICE 287(g) lists: participating and pending agencies, as XLSX (or an HTML table).

ICE publishes two spreadsheets linked from its 287(g) page. Their quirks, all seen in real files:

- columns move and grow (later files add ADDENDUM): columns are read by header name, and any
  column we do not know goes to `AgreementRow.extra` (header as published -> text, "" when blank);
- the MOA link lives in the cell's hyperlink, usually behind the word "link" (so the workbook is
  opened without `read_only`, which drops hyperlinks); "link pending" means no URL yet;
- SIGNED holds real dates, Excel serial numbers, or malformed text such as `05/082025` and
  `7/72025`. A malformed date is repaired when exactly one reading is a valid date (noted in
  `SheetParse.notes`); otherwise the row is kept with `signed=None`, the text as published is kept
  in `extra["SIGNED (unparsed)"]`, and a note says why;
- `#N/A` (a failed VLOOKUP, e.g. COUNTY of a municipality) reads as empty; text is stripped and its
  whitespace (non-breaking spaces included) collapsed.

Every non-blank row under the header is accounted for: kept as an `AgreementRow` or rejected as a
`RejectedRow` with a reason (missing identity field, duplicate identity, repeated header). Blank
rows are counted, not rejected. A file whose header row cannot be found yields a snapshot with
`header_ok=False` (the diff holds it; see `monitor.agreements`).

Targets: one per list (`participating` first, then `pending`, so a promotion reads as one
`agreement.added`). A list's URL is `participating_url` / `pending_url` when set; otherwise
`fetch` reads `page_url` and follows the page's link to that list's file.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urljoin, urlsplit

from pydantic import Field, field_validator

from monitor.errors import ParseError
from sources.agreement_identity import AgreementKey, agreement_key, near_duplicate_key
from sources.base import (
    AgreementRow,
    AgreementSnapshot,
    Fetched,
    Observation,
    Plan,
    RejectedRow,
    SnapshotRules,
    Source,
    SourceOptions,
    Target,
    TargetState,
)
from sources.durations import parse_duration
from sources.fetching import DEFAULT_MAX_BYTES, fetch_for

__all__ = [
    "DEFAULT_PAGE_URL",
    "Cell",
    "Ice287g",
    "ListKind",
    "RowNote",
    "SheetParse",
    "find_list_links",
    "parse_html_table",
    "parse_sheet",
    "parse_signed",
    "parse_xlsx",
    "unwrap_safelink",
]

log = logging.getLogger(__name__)

ListKind = Literal["participating", "pending"]
LIST_KINDS: tuple[ListKind, ...] = ("participating", "pending")
DEFAULT_PAGE_URL = "https://www.ice.gov/identify-and-arrest/287g"

#: header as published (upper-cased, whitespace collapsed) -> field of AgreementRow
_HEADER_FIELDS = {
    "STATE": "state",
    "LAW ENFORCEMENT AGENCY": "agency",
    "AGENCY": "agency",
    "TYPE": "type",
    "COUNTY": "county",
    "SUPPORT TYPE": "support_type",
    "SIGNED": "signed",
    "DATE SIGNED": "signed",
    "MOA": "moa_url",
    "ADDENDUM": "addendum_url",
}
_REQUIRED = ("state", "agency", "support_type")
_HEADER_SCAN_ROWS = 25
_EXCEL_ERRORS = frozenset({"#N/A", "#REF!", "#VALUE!", "#NAME?", "#DIV/0!", "#NULL!", "#NUM!"})
UNPARSED_SIGNED = "SIGNED (unparsed)"


# ---------------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class Cell:
    """One spreadsheet or table cell: its raw value, its clean text and its link (if any)."""

    value: Any
    text: str
    link: str = ""


@dataclass(frozen=True)
class RowNote:
    """Something worth telling about a kept row (a repaired or unreadable date)."""

    row_number: int
    column: str
    raw: str
    message: str


@dataclass(frozen=True)
class SheetParse:
    """The full account of one list: `len(rows) + len(rejected) == data_rows`."""

    rows: tuple[AgreementRow, ...]
    rejected: tuple[RejectedRow, ...]
    notes: tuple[RowNote, ...]
    header_ok: bool
    columns: tuple[str, ...]
    #: non-blank rows below the header (every one is kept or rejected)
    data_rows: int
    blank_rows: int

    def snapshot(self, list_kind: ListKind, url: str,
                 rules: SnapshotRules | None = None) -> AgreementSnapshot:
        """The observation handed to the store (duplicate rows become its data-quality notes)."""
        notes = tuple(
            f"row {r.row_number}: {r.reason}: {' | '.join(r.values[:5])}"
            for r in self.rejected if r.reason.startswith("duplicate")
        )
        return AgreementSnapshot(
            list_kind=list_kind,
            url=url,
            rows=self.rows,
            rejected=self.rejected,
            header_ok=self.header_ok,
            notes=notes,
            rules=rules or SnapshotRules(),
        )


def cell_text(value: Any) -> str:
    """A cell value as text: stripped, whitespace collapsed, Excel errors (`#N/A`) empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return "" if text.upper() in _EXCEL_ERRORS else text


# ---------------------------------------------------------------------------- dates

_EXCEL_EPOCH = date(1899, 12, 30)
_MIN_YEAR, _MAX_YEAR = 1950, 2100
_TEXT_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y")


@dataclass(frozen=True)
class SignedDate:
    """The reading of a SIGNED cell: the date (or None) and a note when it was not clean."""

    on: date | None
    note: str = ""


def parse_signed(value: Any) -> SignedDate:
    """Read a SIGNED cell: a date, an Excel serial number, or (possibly malformed) text."""
    if value is None:
        return SignedDate(None)
    if isinstance(value, datetime):
        return SignedDate(value.date())
    if isinstance(value, date):
        return SignedDate(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value))
    text = cell_text(value)
    if not text:
        return SignedDate(None)
    if text.isdigit() and len(text) == 5:
        return _from_serial(float(text))
    return _from_text(text)


def _from_serial(serial: float) -> SignedDate:
    on = _EXCEL_EPOCH + timedelta(days=int(serial))
    if _MIN_YEAR <= on.year <= _MAX_YEAR:
        return SignedDate(on)
    return SignedDate(None, f"serial {serial:g} is not a plausible date")


def _from_text(text: str) -> SignedDate:
    for fmt in _TEXT_FORMATS:
        try:
            return SignedDate(datetime.strptime(text, fmt).date())
        except ValueError:
            pass
    tokens = re.split(r"\s*[/.-]\s*", text)
    if not all(t.isdigit() for t in tokens):
        return SignedDate(None, f"{text!r} is not a date")
    if len(tokens) == 3:
        on = _ymd_or_mdy(tokens)
        return SignedDate(on) if on else SignedDate(None, f"{text!r} is not a valid date")
    return _repair(text, tokens)


def _ymd_or_mdy(tokens: Sequence[str]) -> date | None:
    first, second, third = tokens
    if len(first) == 4:
        return _valid(int(first), int(second), int(third))
    year = int(third)
    if len(third) == 2:
        year += 2000
    elif len(third) != 4:
        return None
    return _valid(year, int(first), int(second))


def _repair(text: str, tokens: Sequence[str]) -> SignedDate:
    """A date with a separator missing (`05/082025`): repaired only when one reading is valid."""
    readings = {on for on in _readings(tokens) if on is not None}
    if len(readings) == 1:
        on = readings.pop()
        return SignedDate(on, f"repaired {text!r} as {on.isoformat()}")
    if readings:
        listed = ", ".join(sorted(d.isoformat() for d in readings))
        return SignedDate(None, f"{text!r} is ambiguous ({listed})")
    return SignedDate(None, f"{text!r} is not a date")


def _readings(tokens: Sequence[str]) -> Iterator[date | None]:
    """Every month/day/four-digit-year split of tokens that lack one or two separators."""
    digits = "".join(tokens)
    if len(tokens) > 2 or len(digits) < 6 or len(digits) > 8:
        return
    for month_len in (1, 2):
        for day_len in (1, 2):
            if month_len + day_len + 4 != len(digits):
                continue
            cuts = (month_len, month_len + day_len)
            if not _respects(tokens, cuts):
                continue
            month, day, year = digits[: cuts[0]], digits[cuts[0] : cuts[1]], digits[cuts[1] :]
            yield _valid(int(year), int(month), int(day))


def _respects(tokens: Sequence[str], cuts: tuple[int, int]) -> bool:
    """A reading must cut where the text already has its separators."""
    boundary = 0
    for token in tokens[:-1]:
        boundary += len(token)
        if boundary not in cuts:
            return False
    return True


def _valid(year: int, month: int, day: int) -> date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


# ---------------------------------------------------------------------------- rows


def parse_sheet(grid: Sequence[Sequence[Cell]], list_kind: ListKind) -> SheetParse:
    """Read a grid of cells (row 1 first) into agreement rows, rejections and notes."""
    header_index = _find_header(grid)
    if header_index is None:
        return _headerless(grid)
    columns = tuple(cell.text for cell in grid[header_index])
    fields = [_HEADER_FIELDS.get(name.upper(), "") for name in columns]
    rows: list[AgreementRow] = []
    rejected: list[RejectedRow] = []
    notes: list[RowNote] = []
    seen = _Seen()
    blank = data = 0
    for offset, cells in enumerate(grid[header_index + 1 :]):
        number = header_index + 2 + offset
        if _is_blank(cells):
            blank += 1
            continue
        data += 1
        outcome = _read_row(number, cells, columns, fields, list_kind, seen)
        if isinstance(outcome, tuple) and outcome[2] is not None:
            # a duplicate of an earlier row: one agreement, its blanks filled from the copy
            index = outcome[2]
            rows[index] = _merge(rows[index], outcome[0])
            rejected.append(RejectedRow(number, f"duplicate of row {seen.numbers[index]} "
                                        "(merged)", _values(cells)))
        elif isinstance(outcome, RejectedRow):
            rejected.append(outcome)
        else:
            rows.append(outcome[0])
            notes.extend(outcome[1])
    return SheetParse(tuple(rows), tuple(rejected), tuple(notes), True, columns, data, blank)


class _Seen:
    """The agreements kept so far in one sheet: by identity, and by near-duplicate key."""

    def __init__(self) -> None:
        self.index: dict[AgreementKey, int] = {}
        self.near: dict[tuple[str, ...], int] = {}
        #: the sheet row number of each kept row, in order
        self.numbers: list[int] = []

    def first_of(self, key: AgreementKey, row: AgreementRow) -> int | None:
        """The position of the kept row this one repeats (same identity, or near-duplicate)."""
        if key in self.index:
            return self.index[key]
        near = near_duplicate_key(row.state, row.agency, row.support_type, row.signed,
                                  row.county)
        position = self.near.get(near) if near else None
        if position is not None:
            self.index[key] = position  # its own name is that agreement's too
        return position

    def add(self, key: AgreementKey, row: AgreementRow, number: int) -> None:
        """Keep a row."""
        position = len(self.numbers)
        self.index[key] = position
        near = near_duplicate_key(row.state, row.agency, row.support_type, row.signed,
                                  row.county)
        if near:
            self.near.setdefault(near, position)
        self.numbers.append(number)


def _find_header(grid: Sequence[Sequence[Cell]]) -> int | None:
    for index, cells in enumerate(grid[:_HEADER_SCAN_ROWS]):
        if _is_header(cells):
            return index
    return None


def _is_header(cells: Sequence[Cell]) -> bool:
    found = {_HEADER_FIELDS.get(cell.text.upper(), "") for cell in cells}
    return all(name in found for name in _REQUIRED)


def _is_blank(cells: Sequence[Cell]) -> bool:
    return not any(cell.text for cell in cells)


def _headerless(grid: Sequence[Sequence[Cell]]) -> SheetParse:
    """No header: nothing is readable, and every non-blank row says so."""
    rejected = [
        RejectedRow(number, "header row not found", _values(cells))
        for number, cells in enumerate(grid, start=1)
        if not _is_blank(cells)
    ]
    blank = sum(1 for cells in grid if _is_blank(cells))
    return SheetParse((), tuple(rejected), (), False, (), len(rejected), blank)


def _values(cells: Sequence[Cell]) -> tuple[str, ...]:
    values = [cell.text for cell in cells]
    while values and not values[-1]:
        values.pop()
    return tuple(values)


def _read_row(
    number: int,
    cells: Sequence[Cell],
    columns: Sequence[str],
    fields: Sequence[str],
    list_kind: ListKind,
    seen: _Seen,
) -> RejectedRow | tuple[AgreementRow, list[RowNote], int | None]:
    """One data row: an AgreementRow (with notes and, for a duplicate, the index of the row
    it repeats among those kept), or a RejectedRow saying why not."""
    by_field: dict[str, Cell] = {}
    extra: dict[str, str] = {}
    for index, cell in enumerate(cells):
        field_name = fields[index] if index < len(fields) else ""
        header = columns[index] if index < len(columns) else ""
        if field_name:
            by_field.setdefault(field_name, cell)
        elif header:
            extra[header] = cell.text
        elif cell.text:
            extra[f"column {index + 1}"] = cell.text
    if _is_header(cells):
        return RejectedRow(number, "repeated header row", _values(cells))
    missing = [name for name in _REQUIRED if not _text(by_field, name)]
    if missing:
        listed = ", ".join(columns[list(fields).index(name)] for name in missing)
        return RejectedRow(number, f"missing {listed}", _values(cells))
    key = agreement_key(*(_text(by_field, name) for name in _REQUIRED))
    row, notes = _build_row(number, by_field, extra, list_kind)
    first = seen.first_of(key, row)
    if first is not None:
        return row, notes, first
    seen.add(key, row, number)
    return row, notes, None


def _text(by_field: dict[str, Cell], name: str) -> str:
    cell = by_field.get(name)
    return cell.text if cell else ""


def _merge(first: AgreementRow, copy: AgreementRow) -> AgreementRow:
    """Two rows of one agreement as one: the first row's values, its blanks filled from the
    copy, and the earlier SIGNED date (the signing date)."""
    signed = min((d for d in (first.signed, copy.signed) if d is not None), default=None)
    return replace(
        first,
        county=first.county or copy.county,
        type=first.type or copy.type,
        signed=signed,
        moa_url=first.moa_url or copy.moa_url,
        addendum_url=first.addendum_url or copy.addendum_url,
        extra={**copy.extra, **{k: v for k, v in first.extra.items() if v}},
    )


def _build_row(
    number: int, by_field: dict[str, Cell], extra: dict[str, str], list_kind: ListKind
) -> tuple[AgreementRow, list[RowNote]]:
    notes: list[RowNote] = []
    signed_cell = by_field.get("signed")
    signed = parse_signed(signed_cell.value) if signed_cell else SignedDate(None)
    if signed.note and signed_cell is not None:
        notes.append(RowNote(number, "SIGNED", signed_cell.text, signed.note))
        if signed.on is None:
            extra[UNPARSED_SIGNED] = signed_cell.text
    row = AgreementRow(
        state=_text(by_field, "state"),
        agency=_text(by_field, "agency"),
        support_type=_text(by_field, "support_type"),
        status=list_kind,
        county=_text(by_field, "county"),
        type=_text(by_field, "type"),
        signed=signed.on,
        moa_url=_link(by_field.get("moa_url")),
        addendum_url=_link(by_field.get("addendum_url")),
        extra=extra,
    )
    return row, notes


def _link(cell: Cell | None) -> str:
    """The cell's hyperlink; else its text when that is a URL ("link pending" is no URL)."""
    if cell is None:
        return ""
    if cell.link:
        return unwrap_safelink(cell.link.strip())
    if re.match(r"https?://", cell.text, re.IGNORECASE):
        return unwrap_safelink(cell.text)
    return ""


def unwrap_safelink(url: str) -> str:
    """The real target of an Outlook SafeLinks URL (`*.safelinks.protection.outlook.com/?url=`)."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.hostname.endswith(".safelinks.protection.outlook.com"):
        return url
    target = parse_qs(parts.query).get("url", [""])[0]
    return unwrap_safelink(target) if re.match(r"https?://", target, re.IGNORECASE) else url


# ---------------------------------------------------------------------------- XLSX


def parse_xlsx(content: bytes, list_kind: ListKind) -> SheetParse:
    """Read an ICE XLSX: the first worksheet with a header row (else the first one, headerless).

    Raises ValueError when the bytes are not a workbook (an HTML error page, a truncated file).
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # not read_only: read-only worksheets drop hyperlinks, where the MOA links live
        workbook = load_workbook(io.BytesIO(content), data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ValueError(f"not an XLSX workbook: {exc}") from exc
    grids = [_worksheet_grid(sheet) for sheet in workbook.worksheets]
    for grid in grids:
        if _find_header(grid) is not None:
            return parse_sheet(grid, list_kind)
    return parse_sheet(grids[0] if grids else [], list_kind)


def _worksheet_grid(sheet: Any) -> list[list[Cell]]:
    return [[_xlsx_cell(cell) for cell in row] for row in sheet.iter_rows()]


def _xlsx_cell(cell: Any) -> Cell:
    hyperlink = getattr(cell, "hyperlink", None)
    target = getattr(hyperlink, "target", None) if hyperlink is not None else None
    return Cell(value=cell.value, text=cell_text(cell.value), link=str(target or ""))


# ---------------------------------------------------------------------------- HTML


def parse_html_table(content: bytes, list_kind: ListKind, base_url: str) -> SheetParse:
    """Read the list from an HTML table (links resolved against `base_url`).

    With several agency tables on the page, the one whose caption or preceding heading names the
    list wins; otherwise the first is `participating` and the second `pending`.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, "lxml")
    tables = [t for t in soup.find_all("table") if _is_header(_html_header(t, base_url))]
    if not tables:
        return parse_sheet([], list_kind)
    table = _choose_table(tables, list_kind)
    grid = [_html_row(tr, base_url) for tr in table.find_all("tr")]
    return parse_sheet(grid, list_kind)


def _html_header(table: Any, base_url: str) -> list[Cell]:
    first = table.find("tr")
    return _html_row(first, base_url) if first is not None else []


def _choose_table(tables: Sequence[Any], list_kind: ListKind) -> Any:
    for table in tables:
        if list_kind in _table_label(table):
            return table
    if list_kind == "pending" and len(tables) > 1:
        return tables[1]
    return tables[0]


def _table_label(table: Any) -> str:
    caption = table.find("caption")
    heading = table.find_previous(["h1", "h2", "h3", "h4", "h5", "h6"])
    parts = [node.get_text(" ") for node in (caption, heading) if node is not None]
    return " ".join(parts).casefold()


def _html_row(tr: Any, base_url: str) -> list[Cell]:
    cells = []
    for td in tr.find_all(["td", "th"]):
        text = cell_text(td.get_text(" "))
        anchor = td.find("a", href=True)
        link = urljoin(base_url, anchor["href"]) if anchor is not None else ""
        cells.append(Cell(value=text, text=text, link=link))
    return cells


# ---------------------------------------------------------------------------- the page


def find_list_links(content: bytes, base_url: str) -> dict[ListKind, str]:
    """The XLSX links of ICE's 287(g) page, by list: matched on file name, else on link text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, "lxml")
    found: dict[ListKind, str] = {}
    for anchor in soup.find_all("a", href=True):
        href = str(anchor["href"]).strip()
        path = urlsplit(href).path.casefold()
        if not path.endswith((".xlsx", ".xls")):
            continue
        kind = _kind_of(path.rsplit("/", 1)[-1]) or _kind_of(anchor.get_text(" ").casefold())
        if kind and kind not in found:
            found[kind] = urljoin(base_url, href)
    return found


def _kind_of(text: str) -> ListKind | None:
    if "pending" in text:
        return "pending"
    if "participating" in text:
        return "participating"
    return None


# ---------------------------------------------------------------------------- the source


class Ice287g(Source):
    """ICE's participating and pending 287(g) lists, one `AgreementSnapshot` per list."""

    kind = "ice_287g"

    class Options(SourceOptions):
        """Config keys of `kind = "ice_287g"` (empty string means unset)."""

        page_url: str = DEFAULT_PAGE_URL
        participating_url: str = ""
        pending_url: str = ""
        format: Literal["xlsx", "html"] = "xlsx"
        max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
        #: an agreement ends after this many consecutive good snapshots without it...
        confirm_absences: int = Field(default=3, ge=1)
        #: ...spanning at least this long (a duration: `2d`)
        confirm_after: str = "2d"
        #: a snapshot losing more than this share of its list's rows is quarantined
        max_loss: float = Field(default=0.2, gt=0, le=1)
        #: a participating list with fewer rows than this is quarantined (0: no floor)
        min_rows: int = Field(default=100, ge=0)

        @field_validator("confirm_after")
        @classmethod
        def _duration(cls, value: str) -> str:
            parse_duration(value)
            return value

        def rules(self) -> SnapshotRules:
            """The evidence rules the store applies to this source's snapshots."""
            return SnapshotRules(
                confirm_absences=self.confirm_absences,
                confirm_after=parse_duration(self.confirm_after),
                max_loss=self.max_loss,
                min_rows=self.min_rows,
            )

    #: the page's list links, read once per round (`targets` starts a round)
    _page_links: dict[ListKind, str] | None = None

    @property
    def _options(self) -> Ice287g.Options:
        return cast(Ice287g.Options, self.options)

    def targets(self, plan: Plan) -> list[Target]:
        """Both lists, participating first; a list without its own URL is found via the page."""
        self._page_links = None
        return [self._target(kind) for kind in LIST_KINDS]

    def _target(self, list_kind: ListKind) -> Target:
        options = self._options
        direct = options.participating_url if list_kind == "participating" else options.pending_url
        via_page = not direct and options.format == "xlsx"
        return Target(
            key=list_kind,
            url=direct or options.page_url,
            context={"list_kind": list_kind, "via_page": via_page},
        )

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """GET the list (conditionally); via the page's link when no direct URL is configured."""
        if target.context.get("via_page"):
            target = self._resolve(target)
        return self._get(target, state)

    def _get(self, target: Target, state: TargetState) -> Fetched:
        return fetch_for(self, target, state, max_bytes=self._options.max_bytes)

    def _resolve(self, target: Target) -> Target:
        """Point the target at the list's current file, as linked from the 287(g) page."""
        if self._page_links is None:
            self._page_links = self._read_page(target.url)
        links = self._page_links
        list_kind = cast(ListKind, target.context["list_kind"])
        if list_kind not in links:
            raise ParseError(
                f"no link to the {list_kind} list on the page",
                source=self.source_id,
                url=target.url,
            )
        context = {**target.context, "page_url": target.url}
        return replace(target, url=links[list_kind], context=context)

    def _read_page(self, page_url: str) -> dict[ListKind, str]:
        page = self._get(Target(key="page", url=page_url), TargetState())
        return find_list_links(page.content, page_url)

    def parse(self, fetched: Fetched) -> list[Observation]:
        """One `AgreementSnapshot` for the fetched list (nothing for a 304)."""
        if fetched.not_modified:
            return []
        target = fetched.target
        list_kind = cast(ListKind, target.context.get("list_kind", target.key))
        sheet = self._parse_content(fetched.content, list_kind, target.url)
        _log_account(self.source_id, list_kind, sheet)
        return [sheet.snapshot(list_kind, target.url, self._options.rules())]

    def _parse_content(self, content: bytes, list_kind: ListKind, url: str) -> SheetParse:
        if self._options.format == "html":
            return parse_html_table(content, list_kind, url)
        try:
            return parse_xlsx(content, list_kind)
        except ValueError as exc:
            raise ParseError(str(exc), source=self.source_id, url=url) from exc


def _log_account(source_id: str, list_kind: ListKind, sheet: SheetParse) -> None:
    log.info(
        "[%s] %s: %d rows kept, %d rejected, %d blank%s",
        source_id,
        list_kind,
        len(sheet.rows),
        len(sheet.rejected),
        sheet.blank_rows,
        "" if sheet.header_ok else " (header row not found)",
    )
    for note in _first(sheet.notes, 20):
        log.warning(
            "[%s] %s row %d %s: %s",
            source_id,
            list_kind,
            note.row_number,
            note.column,
            note.message,
        )
    for row in _first(sheet.rejected, 20):
        log.warning("[%s] %s row %d rejected: %s", source_id, list_kind, row.row_number, row.reason)


def _first(items: Iterable[Any], limit: int) -> list[Any]:
    return list(items)[:limit]
