"""Court-notice email: parse cost against the least any reader must do, and what taking a
notice costs beyond storing its entry, in one run.

    .venv/bin/python benchmarks/bench_court_email.py [--reps 7] [--json]

- parse: `sources.court_email.parse_notice` on every fixture notice (tests/fixtures/court_email)
  and the corpus NDA examples; floor: the stdlib email parser plus lxml on the body (decoding
  the message and building its tree, what any notice reader must do). Ratio ours / floor.
- intake: `take_message` + `Store.apply` of 200 distinct notices into a fresh SQLite file,
  against `Store.apply` of the same case observations alone (no message row, no trust, no
  parse). Ratio intake / store alone.
The median of `--reps` repetitions counts; CPU time of this process.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from lxml import html as lxml_html  # noqa: E402

from monitor.config import WatchConfig  # noqa: E402
from monitor.db import make_engine  # noqa: E402
from monitor.matching import Matcher  # noqa: E402
from monitor.migrate import upgrade  # noqa: E402
from monitor.store import Store  # noqa: E402
from sources.base import CaseObservation  # noqa: E402
from sources.court_email import parse_notice  # noqa: E402
from sources.mail_intake import take_message  # noqa: E402
from sources.mail_trust import TrustVerdict  # noqa: E402


def _messages() -> list[bytes]:
    found = sorted((ROOT / "tests" / "fixtures" / "court_email").glob("*.eml"))
    corpus = ROOT.parent / "shared" / "corpus" / "pacer_dockets" / "nda_email"
    found += sorted(corpus.glob("*.txt")) if corpus.is_dir() else []
    return [p.read_bytes() for p in found]


def _floor(raw: bytes) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("html", "plain"))  # type: ignore[attr-defined]
    text = body.get_content() if body is not None else ""
    lxml_html.document_fromstring(text or "<p></p>")


def _timed(work: Callable[[], None], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _notices(count: int) -> list[bytes]:
    base = (ROOT / "tests" / "fixtures" / "court_email" / "dcd_plain.eml").read_bytes()
    return [base.replace(b"<7771001@", f"<9{n:06d}@".encode())
            .replace(b"Document Number: 7", f"Document Number: {n + 7}".encode())
            .replace(b"doc1/04519876543", f"doc1/0451{n:07d}".encode()) for n in range(count)]


def _intake_ratio(reps: int) -> tuple[float, float]:
    notices = _notices(200)
    verdict = TrustVerdict(True, "bench")
    watch = WatchConfig(name="mine", dockets=["dcd:1:26-cv-00412"])

    def fresh() -> Store:
        folder = tempfile.mkdtemp()
        engine = make_engine(f"sqlite:///{folder}/b.db")
        upgrade(engine)
        return Store(engine, Matcher([watch]))

    observations = [[o for o in take_message(raw, verdict).observations
                     if isinstance(o, CaseObservation)] for raw in notices]
    now = datetime(2026, 3, 2, tzinfo=UTC)

    def intake() -> None:
        store = fresh()
        for raw in notices:
            store.apply(take_message(raw, verdict).observations, source_id="mail", now=now)

    def alone() -> None:
        store = fresh()
        for obs in observations:
            store.apply(obs, source_id="mail", now=now)

    return _timed(intake, reps), _timed(alone, reps)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    messages = _messages()
    rounds = 50
    ours = _timed(lambda: [parse_notice(m) for _ in range(rounds) for m in messages], args.reps)
    floor = _timed(lambda: [_floor(m) for _ in range(rounds) for m in messages], args.reps)
    intake, alone = _intake_ratio(max(1, args.reps // 2))
    figures = {
        "notices": len(messages),
        "parse_per_s": round(rounds * len(messages) / ours),
        "parse_over_floor": round(ours / floor, 2),
        "intake_200_s": round(intake, 3),
        "store_alone_200_s": round(alone, 3),
        "intake_over_store": round(intake / alone, 2),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:20} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
