"""Field-by-field parity of the court-email parser with an expected JSON (juriscraper's shape:
`{court_id, appellate, dockets: [{case_name, docket_number, docket_entries: [...]}]}`).

Used by the golden tests, and runnable over any folder of examples (`<name>.txt|.eml` beside
`<name>.json`) to print the parity figure: `python -m tests.email_parity DIR...`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sources.court_email import CourtNotice, parse_notice
from sources.identity import normalize_docket_number, normalize_pacer_doc_id


@dataclass
class Parity:
    """Fields compared and the ones that differed (`name: expected != got`)."""

    compared: int = 0
    differences: list[str] = field(default_factory=list)

    def check(self, name: str, expected: Any, got: Any) -> None:
        self.compared += 1
        if expected != got:
            self.differences.append(f"{name}: expected {expected!r}, got {got!r}")


def examples(folder: Path) -> list[tuple[Path, Path]]:
    """(message, expected JSON) pairs of a folder."""
    pairs = []
    for message in sorted([*folder.glob("*.eml"), *folder.glob("*.txt")]):
        expected = message.with_suffix(".json")
        if expected.exists():
            pairs.append((message, expected))
    return pairs


def _name(text: str | None) -> str:
    text = re.sub(r",?\s+et\s+al\.?", "", text or "", flags=re.I)
    return " ".join(text.lower().replace(",", " ").split())


def _docket(expected: str | None, got: str) -> tuple[str, str]:
    want = normalize_docket_number(expected or "")
    # juriscraper keeps an adversary proceeding's bare number; we keep its `ap` type.
    if "-ap-" in got and "-ap-" not in want:
        got = normalize_docket_number(got.replace("-ap-", "-"))
    return want, got


def _text(text: str | None) -> str:
    return " ".join((text or "").replace("#", "").split())


def compare(notice: CourtNotice, expected: dict[str, Any]) -> Parity:
    """Compare a parsed notice with its expected JSON, field by field."""
    parity = Parity()
    parity.check("court", expected["court_id"], notice.court)
    appellate = expected.get("appellate", expected.get("email_notice_type") == "NDA")
    parity.check("appellate", appellate, notice.kind == "nda")
    # Older expected files hold one docket at the top level.
    dockets = expected.get("dockets", [expected])
    parity.check("cases", len(dockets), len(notice.cases))
    looks = {(look.docket_number, look.entry_number): look.url for look in notice.free_looks}
    for i, (want, case) in enumerate(zip(dockets, notice.cases, strict=False)):
        p = f"dockets[{i}]."
        parity.check(p + "docket_number", *_docket(want["docket_number"], case.docket_number))
        parity.check(p + "case_name", _name(want["case_name"]), _name(case.case_name))
        entries = want.get("docket_entries", [])
        parity.check(p + "entries", len(entries), len(case.entries))
        for j, (w, entry) in enumerate(zip(entries, case.entries, strict=False)):
            q = f"{p}entries[{j}]."
            parity.check(q + "date_filed", w["date_filed"],
                         entry.date_filed.isoformat() if entry.date_filed else None)
            parity.check(q + "description", _text(w["description"]), _text(entry.description))
            if "short_description" in w:
                parity.check(q + "short_description", w["short_description"],
                             entry.short_description)
            if not (appellate and w.get("document_number") == w.get("pacer_doc_id")):
                # (juriscraper's NDA files repeat the document id as its "number")
                parity.check(q + "document_number", w.get("document_number"),
                             str(entry.entry_number) if entry.entry_number is not None else None)
            parity.check(q + "pacer_doc_id",
                         normalize_pacer_doc_id(w.get("pacer_doc_id") or ""), entry.pacer_doc_id)
            parity.check(q + "pacer_seq_no", w.get("pacer_seq_no"),
                         str(entry.pacer_seq_no) if entry.pacer_seq_no is not None else None)
            if w.get("pacer_case_id") != want["docket_number"]:
                # (juriscraper's NDA files put the docket number there)
                parity.check(q + "pacer_case_id", w.get("pacer_case_id") or "",
                             case.pacer_case_id if w.get("pacer_case_id") else "")
            # The link the notice gave: a free look is kept aside, whole; else the entry's.
            link = looks.get((case.docket_number, entry.entry_number), entry.document_url)
            parity.check(q + "document_url", w.get("document_url") or "", link)
    return parity


def run(folders: list[Path]) -> tuple[int, int, list[str]]:
    """(fields matched, fields compared, differences) over every example of the folders."""
    matched = compared = 0
    notes: list[str] = []
    for folder in folders:
        for message, expected in examples(folder):
            parity = compare(parse_notice(message.read_bytes()),
                             json.loads(expected.read_text()))
            compared += parity.compared
            matched += parity.compared - len(parity.differences)
            notes += [f"{message.name}: {d}" for d in parity.differences]
    return matched, compared, notes


if __name__ == "__main__":
    got, total, diffs = run([Path(a) for a in sys.argv[1:]])
    print("\n".join(diffs))
    print(f"parity: {got}/{total} fields")
