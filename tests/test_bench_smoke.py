"""The national-scale benchmark script runs end to end at a toy size (its figures are not
judged here: performance is measured as ratios by the script itself, never in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("COURT_MONITOR_CORPUS", ROOT.parent / "shared" / "corpus"))


@pytest.mark.skipif(not (CORPUS / "pacer_rss").is_dir(), reason="no corpus")
def test_bench_national_runs_at_toy_size(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_national.py"), "--toy", "--reps", "1",
         "--daemon-seconds", "5", "--no-parse", "--no-courtlistener", "--json",
         "--cache", str(tmp_path), "--corpus", str(CORPUS)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table, _, rest = done.stdout.partition("\n{")
    figures = json.loads("{" + rest)
    assert "first cycle / floor" in table
    assert figures["feeds"] == 6 and figures["items"] > 0
    # the unchanged cycle adds nothing and writes one bookkeeping transaction
    assert figures["unchanged_rows_added"]["event"] == 0
    assert figures["unchanged_write_transactions"] == 1
    # against a server with validators every feed of the unchanged cycle is a 304
    assert figures["unchanged_etags_not_modified"] == figures["feeds"]
    assert figures["daemon_runs_done"] >= figures["daemon_sources"]
    assert figures["db_1m"]["entries"] > figures["db_35k"]["entries"]
