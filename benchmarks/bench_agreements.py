"""How the 287(g) snapshot diff scales with the list: the real May 2025 list (570 rows) against
the same list four times over (2,280 rows, the size ICE's list reaches by October 2026).

    .venv/bin/python benchmarks/bench_agreements.py [--json] [--check]

Each size is diffed twice: against itself (nothing changed) and with 5% of its rows renamed by
a typo (the tiered matching at work). The figure that matters is the ratio: 4x the rows should
cost at most 8x the time (matching is grouped by state and model, so it must not go quadratic
over the whole list). `--check` exits 1 when it does. CPU time, median of 5 runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.agreements import Known, agreement_key, diff_snapshot  # noqa: E402
from sources.base import AgreementRow, AgreementSnapshot  # noqa: E402
from sources.ice_287g import parse_xlsx  # noqa: E402
from tests.conftest import find_corpus  # noqa: E402

TARGET_RATIO = 8.0
NOW = datetime(2026, 10, 1, tzinfo=UTC)


def _rows(times: int) -> list[AgreementRow]:
    corpus = find_corpus()
    if corpus is None:
        raise SystemExit("the real corpus is absent (set COURT_MONITOR_CORPUS)")
    path = corpus / "agency" / "ice_287g" / "participatingAgencies05162025am.xlsx"
    real = parse_xlsx(path.read_bytes(), "participating").rows
    rows = [replace(r, agency=r.agency + (f" Unit {k}" if k else ""))
            for k in range(times) for r in real]
    return list({agreement_key(r): r for r in rows}.values())


def _renamed(rows: list[AgreementRow]) -> list[AgreementRow]:
    rng = random.Random(287)
    out = list(rows)
    for i in rng.sample(range(len(out)), len(out) // 20):
        name = out[i].agency
        cut = len(name) // 2
        out[i] = replace(out[i], agency=name[:cut] + name[cut + 1:])
    return out


def _time(known: list[Known], rows: list[AgreementRow]) -> float:
    snapshot = AgreementSnapshot("participating", "bench", tuple(rows))
    runs = []
    for _ in range(5):
        start = time.process_time()
        diff_snapshot(known, snapshot, now=NOW)
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def main() -> int:
    """Print the figures; with --check, exit 1 when the scaling target is missed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for times in (1, 4):
        rows = _rows(times)
        known = [Known(r) for r in rows]
        figures[f"rows_{times}x"] = len(rows)
        figures[f"same_{times}x_s"] = _time(known, rows)
        figures[f"renamed_{times}x_s"] = _time(known, _renamed(rows))
    figures["ratio_same"] = figures["same_4x_s"] / figures["same_1x_s"]
    figures["ratio_renamed"] = figures["renamed_4x_s"] / figures["renamed_1x_s"]
    ok = max(figures["ratio_same"], figures["ratio_renamed"]) <= TARGET_RATIO
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:16} {value:.4g}")
        print(f"target: 4x rows within {TARGET_RATIO:g}x time: {'met' if ok else 'MISSED'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
