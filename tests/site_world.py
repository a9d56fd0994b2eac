"""A database filled by real polls of local feeds, for the site's tests and benchmark.

`build_world(tmp_path, server, clock)` writes a config (PACER RSS of two courts, ICE's two
287(g) lists as XLSX files, a public and a private matter, a subscription with a site token),
polls twice through the command line (the second round brings new entries and a changed
agreement list), and returns the config path. `site(config, clock)` serves it on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from monitor.app import App
from monitor.config import load_config
from monitor.server import RunningServer, start_server
from sources.base import AgreementRow
from tests.cli_helpers import poll_once, run
from tests.conftest import FixedClock
from tests.fakes.feed_server import FeedServer, Item, rss
from tests.test_e2e_agreements import XLSX, workbook

TOKEN = "tok-advocates-0123456789abcdef"
HOSTILE = ('<script>window.__pwned = 1; alert("pwned")</script>'
           '<img src=x onerror="window.__pwned=2">')
PRIVATE_MATTER = "foia-secret-client"
PUBLIC_MATTER = "foia-public-records"

MANDAMUS = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
                "PETITION for Writ of Mandamus", 1, case_id="290001")
SUMMONS = Item("dcd", "1:26-cv-00412-ABC", "Doe v. U.S. Citizenship and Immigration Services",
               "SUMMONS Returned Executed as to United States Attorney", 5, case_id="290001")
HOSTILE_ITEM = Item("dcd", "1:26-cv-00412-ABC",
                    "Doe v. U.S. Citizenship and Immigration Services",
                    f"NOTICE by plaintiff {HOSTILE}", 6, case_id="290001")
SHERIFF = Item("txsd", "4:26-cv-1234", "Roe v. Sheriff of Harris County",
               "PETITION for Writ of Mandamus", 1, case_id="350001")
ROUTINE = Item("dcd", "1:26-cv-00500", "Acme Corp. v. Widget LLC", "Complaint", 1,
               case_id="290100")

STATES = ("TEXAS", "FLORIDA", "FLORIDA", "GEORGIA", "NORTH CAROLINA", "TEXAS", "FLORIDA",
          "SOUTH CAROLINA", "VIRGINIA", "FLORIDA", "TEXAS", "ALABAMA")


def agreement_rows(extra: int = 0) -> list[AgreementRow]:
    """A small participating list over several states and months (`extra` more rows)."""
    rows = []
    for i in range(24 + extra):
        state = STATES[i % len(STATES)]
        rows.append(AgreementRow(
            state=state, agency=f"{state.title()} County {i} Sheriff's Office",
            support_type="Task Force Model" if i % 3 else "Jail Enforcement Model",
            status="participating", county=f"County {i}", type="Sheriff",
            signed=date(2025, 1, 15) + timedelta(days=23 * i),
            moa_url=f"https://www.ice.gov/moa/{i}.pdf"))
    return rows


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    """The world's config."""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'monitor.db'}"

[feeds]
dir = "{tmp_path / 'feeds'}"

[server]
bind = "127.0.0.1"
port = 0

[[source]]
id = "pacer-rss"
kind = "pacer_rss"
courts = ["dcd", "txsd"]
url_template = "{server.base}/{{court}}/rss"

[[source]]
id = "ice-287g"
kind = "ice_287g"
participating_url = "{server.url('/participating.xlsx')}"
pending_url = "{server.url('/pending.xlsx')}"
min_rows = 0

[[watch]]
name = "287g-mandamus"
tags = ["287g", "mandamus"]
entry_text = ["(?i)writ of mandamus"]
case_name = ["(?i)citizenship and immigration services|sheriff"]

[[subscription]]
name = "advocates"
urls = ["console://"]
include_private = true
token_env = "SITE_TEST_TOKEN"

[[subscription]]
name = "public"
urls = ["console://"]

[[matter]]
id = "{PUBLIC_MATTER}"
kind = "foia"
agency = "ICE"
reference = "2026-ICFO-00017"
filed = 2026-01-05
tags = ["287g"]
case = "dcd:1:26-cv-00412"

[[matter]]
id = "{PRIVATE_MATTER}"
kind = "application"
agency = "USCIS Houston Field Office"
reference = "A-SECRET-0042"
filed = 2025-09-01
private = true
tags = ["287g"]
""")
    return path


def build_world(tmp_path: Path, server: FeedServer, clock: FixedClock) -> Path:
    """Fill the database by two real rounds of polls; returns the config path."""
    server.set("/dcd/rss", rss("dcd", [MANDAMUS, ROUTINE]))
    server.set("/txsd/rss", rss("txsd", [SHERIFF]))
    server.set("/participating.xlsx", workbook(agreement_rows()), content_type=XLSX)
    server.set("/pending.xlsx", workbook([]), content_type=XLSX)
    cfg = write_config(tmp_path, server)
    poll_once(str(cfg), clock)
    clock.advance(days=1)
    server.set("/dcd/rss", rss("dcd", [MANDAMUS, SUMMONS, HOSTILE_ITEM, ROUTINE]))
    server.set("/participating.xlsx", workbook(agreement_rows(extra=2)), content_type=XLSX)
    poll_once(str(cfg), clock)
    assert run(["--config", str(cfg), "matters"], clock) == 0  # the config's matters stored
    assert run(["--config", str(cfg), "feeds", "--rebuild"], clock) == 0
    return cfg


@contextlib.contextmanager
def site(cfg: Path, clock: FixedClock, port: int = 0) -> Iterator[str]:
    """The site over the world's database on 127.0.0.1; yields its base URL."""
    config = load_config(str(cfg))
    config = dataclasses.replace(config, server=config.server.model_copy(update={"port": port}))
    app = App(config=config, clock=clock)
    server: RunningServer = start_server(app)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        app.close()
