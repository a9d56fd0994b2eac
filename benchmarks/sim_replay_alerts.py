"""What an attorney subscribed to `deadline.*` would have received on the golden dockets.

For each `tests/replays/*.expected.json` docket: replay it (monitor/replay.py, embedded defaults)
and count the deadline alerts (every `deadline.*` event of the ledger), how many the ledger read
from the docket also has (right), how many it lacks (missing), and how many are FALSE: an
overdue (or unverified) alert the read ledger does not have (the deadline was met, vacated or never
owed; label differences aside), or the same alert twice (day, event, deadline and due equal).
Deadlines a golden file leaves out (`ignore`) are left out here too. Also the replay's wall time per
replayed year, to compare dockets within one run.

    .venv/bin/python benchmarks/sim_replay_alerts.py [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.replay import LedgerRow, replay  # noqa: E402
from monitor.replay_input import read_docket  # noqa: E402
from tests.conftest import find_corpus  # noqa: E402
from tests.test_replay_golden import GOLDEN, _matches  # noqa: E402


def _count(spec: dict[str, Any], rows: list[LedgerRow]) -> dict[str, Any]:
    alerts = [r for r in rows if r.event.startswith("deadline.")]
    wanted = [w for w in spec["rows"] if str(w["event"]).startswith(("deadline.", "['deadline"))]
    left = list(alerts)
    missing = 0
    for want in wanted:
        hit = next((r for r in left if r.day.isoformat() == want["day"] and _matches(want, r)),
                   None)
        if hit is None:
            missing += 1
        else:
            left.remove(hit)
    twice = Counter((r.day, r.event, r.deadline, r.due) for r in alerts)
    duplicates = sum(n - 1 for n in twice.values())
    # an overdue the read ledger has on that day for that due date (whatever the label says) is
    # right about the facts; one it lacks is about a deadline met, vacated or never owed
    known = {(w["day"], w["event"], w.get("due")) for w in wanted if isinstance(w["event"], str)}
    false_overdue = sum(1 for r in left if r.event in ("deadline.overdue", "deadline.unverified")
                        and (r.day.isoformat(), r.event, r.due and r.due.isoformat()) not in known)
    return {"alerts": len(alerts), "expected": len(wanted), "right": len(alerts) - len(left),
            "unexpected": len(left), "missing": missing, "false_overdue": false_overdue,
            "duplicates": duplicates, "false": false_overdue + duplicates,
            "by_kind": dict(Counter(r.event for r in alerts))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    corpus = find_corpus()
    if corpus is None:
        print("corpus absent", file=sys.stderr)
        return 1
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config_file = Path(tmp) / "config.toml"
        config_file.write_text("", encoding="utf-8")
        config = load_config(str(config_file), environ={})
        for path in GOLDEN:
            spec = json.loads(path.read_text(encoding="utf-8"))
            docket = read_docket(json.loads((corpus / spec["docket"]).read_text(encoding="utf-8")))
            work = Path(tmp) / path.name
            started = time.perf_counter()
            rows = replay(docket, config, work)
            ignored = [re.compile(i["deadline"], re.I) for i in spec.get("ignore", [])]
            rows = [r for r in rows if not any(rx.search(r.deadline) for rx in ignored)]
            seconds = time.perf_counter() - started
            days = (rows[-1].day - rows[0].day).days + 1 if rows else 1
            result = _count(spec, rows)
            result["seconds_per_year"] = round(seconds / max(days, 1) * 365, 2)
            results[path.name.removesuffix(".expected.json")] = result
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'docket':<14} {'alerts':>6} {'expected':>8} {'right':>5} {'unexp':>5} "
          f"{'missing':>7} {'FALSE':>5} {'(overdue':>8} {'dup)':>4} {'s/year':>6}")
    for name, r in results.items():
        print(f"{name:<14} {r['alerts']:>6} {r['expected']:>8} {r['right']:>5} "
              f"{r['unexpected']:>5} {r['missing']:>7} {r['false']:>5} {r['false_overdue']:>8} "
              f"{r['duplicates']:>4} {r['seconds_per_year']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
