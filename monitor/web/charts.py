"""Pictures drawn on the server as SVG text: a tile-grid map of the states and a bar chart of
counts per month. Pure: numbers in, escaped SVG out (no script, no external resource), each
labelled for screen readers (`role="img"`, a `<title>` and a `<desc>`, and one `<title>` per
tile or bar, which browsers show on hover).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

__all__ = ["STATE_TILES", "month_series", "monthly_bars", "state_tile_map"]

#: (column, row) of each state on a 12 x 8 tile grid, roughly where it lies on the map
STATE_TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (11, 0), "VT": (10, 1), "NH": (11, 1),
    "WA": (1, 2), "ID": (2, 2), "MT": (3, 2), "ND": (4, 2), "MN": (5, 2), "IL": (6, 2),
    "WI": (7, 2), "MI": (8, 2), "NY": (9, 2), "RI": (10, 2), "MA": (11, 2),
    "OR": (1, 3), "NV": (2, 3), "WY": (3, 3), "SD": (4, 3), "IA": (5, 3), "IN": (6, 3),
    "OH": (7, 3), "PA": (8, 3), "NJ": (9, 3), "CT": (10, 3),
    "CA": (1, 4), "UT": (2, 4), "CO": (3, 4), "NE": (4, 4), "MO": (5, 4), "KY": (6, 4),
    "WV": (7, 4), "VA": (8, 4), "MD": (9, 4), "DE": (10, 4),
    "AZ": (2, 5), "NM": (3, 5), "KS": (4, 5), "AR": (5, 5), "TN": (6, 5), "NC": (7, 5),
    "SC": (8, 5), "DC": (9, 5),
    "OK": (4, 6), "LA": (5, 6), "MS": (6, 6), "AL": (7, 6), "GA": (8, 6),
    "HI": (0, 7), "TX": (4, 7), "FL": (9, 7), "PR": (11, 7), "GU": (0, 6),
}
#: five shades, light to dark (colour-blind safe, from ColorBrewer's Blues), and "none"
SHADES = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
NONE_SHADE = "#f2f2f2"
TILE, GAP = 44, 4


def _shade(count: int, top: int) -> str:
    if count <= 0 or top <= 0:
        return NONE_SHADE
    step = min(len(SHADES) - 1, (count * len(SHADES) - 1) // top)
    return SHADES[step]


def state_tile_map(counts: Mapping[str, int], *, title: str, unit: str = "agencies",
                   link: str = "") -> str:
    """A tile map: one square per state (two-letter codes), shaded by its count, labelled
    "TX 12". `link`, when given, is a URL prefix each tile links to with its code appended
    (e.g. ``?state=``). States off the grid are left out of the picture (list them beside it).
    """
    top = max(counts.values(), default=0)
    width, height = 12 * (TILE + GAP), 8 * (TILE + GAP) + 30
    total = sum(counts.values())
    shown = sum(1 for code, n in counts.items() if n and code in STATE_TILES)
    desc = f"{total} {unit} in {shown} states; darker means more."
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="map-title map-desc" class="chart map">',
             f'<title id="map-title">{escape(title)}</title>',
             f'<desc id="map-desc">{escape(desc)}</desc>']
    for code, (colx, row) in sorted(STATE_TILES.items()):
        n = counts.get(code, 0)
        x, y = colx * (TILE + GAP), row * (TILE + GAP)
        fill = _shade(n, top)
        ink = "#ffffff" if fill in SHADES[3:] else "#1a1a1a"
        tile = (f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="4" fill="{fill}">'
                f'<title>{code}: {n} {escape(unit)}</title></rect>'
                f'<text x="{x + TILE / 2}" y="{y + 19}" text-anchor="middle" fill="{ink}" '
                f'font-size="13" font-weight="bold">{code}</text>'
                f'<text x="{x + TILE / 2}" y="{y + 35}" text-anchor="middle" fill="{ink}" '
                f'font-size="11">{n if n else ""}</text>')
        if link:
            tile = f'<a href="{escape(link + code)}" aria-label="{code}: {n} {escape(unit)}">' \
                   f'{tile}</a>'
        parts.append(f'<g class="tile" data-state="{code}">{tile}</g>')
    parts.append(_legend(top, height - 24, unit))
    parts.append("</svg>")
    return "".join(parts)


def _legend(top: int, y: int, unit: str) -> str:
    out = [f'<g class="legend" aria-hidden="true"><text x="0" y="{y + 13}" font-size="11">'
           f'{escape(unit)}:</text>']
    x = 70
    bounds = [(0, 0)] + [
        ((i * top) // len(SHADES) + 1, ((i + 1) * top) // len(SHADES))
        for i in range(len(SHADES))]
    for (low, high), fill in zip(bounds, (NONE_SHADE, *SHADES), strict=True):
        if low > high:
            continue
        label = str(low) if low == high else f"{low}-{high}"
        out.append(f'<rect x="{x}" y="{y}" width="16" height="16" fill="{fill}" '
                   f'stroke="#999"/><text x="{x + 20}" y="{y + 13}" font-size="11">'
                   f'{label}</text>')
        x += 30 + 7 * len(label)
    out.append("</g>")
    return "".join(out)


def month_series(days: Sequence[date]) -> list[tuple[str, int]]:
    """Counts per month (`YYYY-MM`) from the first month to the last, empty months as 0."""
    if not days:
        return []
    counts: dict[tuple[int, int], int] = {}
    for day in days:
        counts[(day.year, day.month)] = counts.get((day.year, day.month), 0) + 1
    (year, month), last = min(counts), max(counts)
    series = []
    while (year, month) <= last:
        series.append((f"{year:04d}-{month:02d}", counts.get((year, month), 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return series


def monthly_bars(series: Sequence[tuple[str, int]], *, title: str,
                 unit: str = "agreements") -> str:
    """A bar chart of counts per month (`month_series`), with the year under each January and
    the largest count on the axis."""
    height, base, left = 220, 190, 34
    bar = max(3, min(24, 720 // max(1, len(series))))
    width = left + len(series) * bar + 10
    top = max((n for _, n in series), default=0)
    total = sum(n for _, n in series)
    span = f"{series[0][0]} to {series[-1][0]}" if series else "no data"
    busiest = max(series, key=lambda s: s[1]) if series else ("", 0)
    desc = (f"{total} {unit} signed, {span}; the most in one month: {busiest[1]} "
            f"({busiest[0]}).") if series else f"No {unit} with a signing date yet."
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="bars-title bars-desc" class="chart bars">',
             f'<title id="bars-title">{escape(title)}</title>',
             f'<desc id="bars-desc">{escape(desc)}</desc>',
             f'<line x1="{left}" y1="{base}" x2="{width - 5}" y2="{base}" stroke="#555"/>',
             f'<text x="{left - 4}" y="18" text-anchor="end" font-size="11">{top}</text>',
             f'<text x="{left - 4}" y="{base}" text-anchor="end" font-size="11">0</text>']
    for i, (month, n) in enumerate(series):
        x = left + i * bar
        h = 0 if top == 0 else round((base - 12) * n / top)
        parts.append(f'<rect class="bar" x="{x + 1}" y="{base - h}" width="{bar - 2}" '
                     f'height="{h}" fill="#3182bd"><title>{month}: {n} {escape(unit)}</title>'
                     f'</rect>')
        if month.endswith("-01") or i == 0:
            parts.append(f'<text x="{x}" y="{base + 16}" font-size="11">{month[:4]}</text>')
    parts.append("</svg>")
    return "".join(parts)
