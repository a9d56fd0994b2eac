"""What a digest saves: a day of docket entries on many cases mailed one by one (an immediate
subscription) against one digest grouped by case, through the real outbox, Apprise's mailto
plugin and a real SMTP server (aiosmtpd) on 127.0.0.1, over a real SQLite file.

    .venv/bin/python benchmarks/bench_digest.py [--cases 20] [--entries 5] [--json] [--check]

Reports, from one run: messages and bytes received, wall time of each dispatch, the ratio of
the two, and the render time of the digest against rendering each event's own message. The
target is the point of a digest: one message per channel, and sending it costs at most a tenth
of sending the entries one by one. `--check` exits 1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import SQLModel, col, select  # noqa: E402

from monitor.alerts import (  # noqa: E402
    AppriseNotifier,
    dispatch_pending,
    load_context,
    make_router,
    render_digest,
    render_message,
    send_digests,
)
from monitor.config import SubscriptionConfig, WatchConfig  # noqa: E402
from monitor.db import make_engine, read_session  # noqa: E402
from monitor.matching import Matcher  # noqa: E402
from monitor.models import Event  # noqa: E402
from monitor.store import Store  # noqa: E402
from sources.base import CaseObservation, EntryObservation  # noqa: E402
from tests.fakes.smtp import smtp_server  # noqa: E402

TARGET_RATIO = 0.1
DAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _observations(cases: int, entries: int) -> list[CaseObservation]:
    out = []
    for c in range(cases):
        docket = f"1:26-cv-{c + 100:05d}"
        rows = tuple(
            EntryObservation(entry_number=n + 1, date_filed=date(2026, 3, 2),
                             short_description="ORDER",
                             description=f"ORDER on Writ of Mandamus petition, step {n + 1}",
                             document_url=f"https://ecf.dcd.uscourts.gov/doc1/045{c:04d}{n:03d}")
            for n in range(entries))
        out.append(CaseObservation(court="dcd", docket_number=docket, docket_number_raw=docket,
                                   case_name=f"Doe {c} v. U.S. Citizenship and Immigration "
                                             "Services", pacer_case_id=f"29{c:04d}",
                                   entries=rows))
    return out


def run(cases: int, entries: int) -> dict[str, float | int]:
    """One run: the same events mailed one by one and as one digest."""
    figures: dict[str, float | int] = {"cases": cases, "entries": cases * entries}
    with tempfile.TemporaryDirectory() as tmp, smtp_server() as smtp:
        url = smtp.apprise_url()
        subs = [SubscriptionConfig.model_validate(
                    {"name": "each", "urls": [url], "events": ["entry.added"]}),
                SubscriptionConfig.model_validate(
                    {"name": "daily", "urls": [url + "&to=daily@example.org"],
                     "events": ["entry.added"], "mode": "digest", "digest_at": "07:00",
                     "timezone": "America/Chicago"})]
        engine = make_engine(f"sqlite:///{Path(tmp) / 'monitor.db'}")
        SQLModel.metadata.create_all(engine)
        watch = WatchConfig(name="m", entry_text=[r"(?i)writ of mandamus"])
        store = Store(engine, Matcher([watch]), listeners=[make_router(subs, watch_tags={})])
        store.apply(_observations(cases, entries), source_id="bench", now=DAY)
        notifier = AppriseNotifier()

        started = time.perf_counter()
        immediate = dispatch_pending(engine, subs, now=DAY, notifier=notifier, budget=None)
        figures["immediate_seconds"] = time.perf_counter() - started
        figures["immediate_messages"] = len(smtp.received)
        figures["immediate_bytes"] = sum(len(m.raw) for m in smtp.received)
        figures["immediate_sent"] = immediate.sent

        before = len(smtp.received)
        started = time.perf_counter()
        digest = send_digests(engine, subs, now=DAY + timedelta(days=1), notifier=notifier)
        figures["digest_seconds"] = time.perf_counter() - started
        mails = smtp.received[before:]
        figures["digest_messages"] = len(mails)
        figures["digest_bytes"] = sum(len(m.raw) for m in mails)
        figures["digest_sent"] = digest.sent
        figures["digest_multipart"] = int(all(
            m.message.get_content_type() == "multipart/alternative" for m in mails))

        with read_session(engine) as session:
            events = session.exec(select(Event).where(Event.kind == "entry.added")
                                  .order_by(col(Event.id))).all()
            items = [(e, load_context(session, e)) for e in events]
        started = time.perf_counter()
        for event, context in items:
            render_message(event, context)
        each = time.perf_counter() - started
        started = time.perf_counter()
        render_digest(items, subscription="daily")
        figures["render_digest_over_each"] = (time.perf_counter() - started) / each
    figures["send_ratio"] = figures["digest_seconds"] / figures["immediate_seconds"]
    return figures


def main() -> int:
    """Run, print the figures (a table or JSON), and with --check judge the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--entries", type=int, default=5, help="entries per case")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    figures = run(args.cases, args.entries)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    ok = figures["digest_messages"] == 1 and figures["send_ratio"] <= TARGET_RATIO
    if args.check and not ok:
        print(f"target missed: one digest message costing <= {TARGET_RATIO} of one by one",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
