"""A mailbox that receives court notices (NEF, NDA), read over IMAP (imapclient).

One target per source: the folder. A round connects (IMAPS, or STARTTLS; plain IMAP only to a
loopback host), logs in with a password or an OAuth2 token (XOAUTH2) from a secret, and reads
the messages not yet stored, oldest first, at most `batch` of them; when there are none and the
server offers IDLE, it waits in IDLE up to `idle_wait` for one to arrive. Each message is judged
(`sources.mail_trust`: DKIM, which looks its key up in DNS, or the named server's
Authentication-Results) as it is read, and parsed into observations (`sources.mail_intake`).

Nothing is lost or taken twice across crashes: the highest UID read is what the core keeps for
the source (`Fetched.keep`, saved only once the round's observations are stored), and only at
the next round are the stored messages marked (the keyword `flag`) or moved (`move_to`), so a
crash in between re-reads them and the store, which knows every message and entry by its
identity, takes nothing twice. A new UIDVALIDITY (the folder was rebuilt) starts over from the
marks.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from ipaddress import ip_address
from typing import Any, ClassVar, Literal

import httpx
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from pydantic import Field, field_validator, model_validator

from monitor.errors import FetchError, ParseError
from sources.base import (
    Clock,
    Fetched,
    Observation,
    Plan,
    Runtime,
    Source,
    SourceOptions,
    Target,
    TargetState,
)
from sources.court_email import MAX_NOTICE_BYTES
from sources.durations import parse_duration
from sources.mail_intake import take_message
from sources.mail_trust import DEFAULT_COURT_DOMAINS, TrustPolicy, TrustVerdict, judge

__all__ = ["Imap", "trust_policy"]


class Imap(Source):
    """Reads court notices from an IMAP folder."""

    kind: ClassVar[str] = "imap"
    #: every round must parse what it read (the UID cursor, not the bytes, says what is new)
    skip_unchanged: ClassVar[bool] = False
    reads_tracked: ClassVar[bool] = False

    class Options(SourceOptions):
        """Config keys of an `imap` source."""

        host: str = Field(min_length=1)
        port: int = Field(default=0, ge=0, le=65535)
        #: "tls" (IMAPS, port 993), "starttls" (port 143), "none" (loopback hosts only)
        security: Literal["tls", "starttls", "none"] = "tls"
        #: a PEM file of the CA that signed the server's certificate (default: the system's)
        ca_file: str = ""
        username: str = Field(min_length=1)
        password_env: str = ""
        password_file: str = ""
        #: an OAuth2 access token (XOAUTH2) instead of a password
        token_env: str = ""
        token_file: str = ""
        folder: str = "INBOX"
        #: the keyword set on stored messages (unless they are moved)
        flag: str = "$CourtMonitor"
        #: move stored messages to this folder instead of marking them ("": mark)
        move_to: str = ""
        batch: int = Field(default=50, gt=0, le=1000)
        #: wait this long in IDLE for mail when the folder has nothing new ("0s": never)
        idle_wait: str = "0s"
        timeout: str = "60s"
        #: the courts' sending domains (and their subdomains)
        court_domains: list[str] = Field(default_factory=lambda: list(DEFAULT_COURT_DOMAINS))
        #: receiving servers whose Authentication-Results are believed (their authserv-id)
        authserv_ids: list[str] = Field(default_factory=list)
        #: verify DKIM signatures (a DNS lookup each)
        dkim: bool = True
        #: track the cases of every trusted notice outright (the mailbox's owner is on them);
        #: false: only the cases a watch matches
        track_cases: bool = True

        @field_validator("idle_wait", "timeout")
        @classmethod
        def _duration(cls, text: str) -> str:
            parse_duration(text)
            return text

        @field_validator("court_domains")
        @classmethod
        def _domains(cls, domains: list[str]) -> list[str]:
            cleaned = [d.strip().lower().lstrip("@.").rstrip(".") for d in domains]
            if not all(cleaned):
                raise ValueError("an empty court domain")
            return cleaned

        @model_validator(mode="after")
        def _plain_only_on_loopback(self) -> Imap.Options:
            if self.security == "none" and not _loopback(self.host):
                raise ValueError("security = \"none\" is allowed only for a loopback host; "
                                 "use tls or starttls")
            return self

        def resolved_port(self) -> int:
            """The port: as set, else 993 for IMAPS and 143 otherwise."""
            return self.port or (993 if self.security == "tls" else 143)

    options: Imap.Options

    def __init__(self, source_id: str, options: SourceOptions, client: httpx.Client,
                 clock: Clock, *, runtime: Runtime | None = None) -> None:
        super().__init__(source_id, options, client, clock, runtime=runtime)
        secrets = self.runtime.secrets
        self._password = secrets.get("password", "")
        self._token = secrets.get("token", "")
        self.runtime = Runtime(gate=self.runtime.gate)  # the secrets live only here
        self._policy = trust_policy(self.options)
        #: the cursor as this process last saw it (standalone use, without a core)
        self._cursor = ""

    def targets(self, plan: Plan) -> list[Target]:
        """The folder, with the UID cursor the core kept."""
        key = self.options.folder
        cursor = plan.cursors.get(key, "") if plan.cursors is not None else self._cursor
        o = self.options
        return [Target(key=key, url=f"imap://{o.host}:{o.resolved_port()}/{o.folder}",
                       context={"cursor": cursor})]

    def fetch(self, target: Target, state: TargetState) -> Fetched:
        """Mark what the last round stored, then read the messages after the cursor."""
        validity, stored = _cursor(str(target.context.get("cursor", "")))
        try:
            with self._session() as imap:
                info = imap.select_folder(self.options.folder)
                now_validity = int(info.get(b"UIDVALIDITY", 0))
                if now_validity != validity:
                    stored = 0  # a rebuilt folder: the marks alone say what was stored
                elif stored:
                    self._mark_stored(imap, stored)
                uids = self._unread(imap, stored)
                if not uids and self._idle(imap):
                    uids = self._unread(imap, stored)
                uids = uids[: self.options.batch]
                messages = self._read(imap, uids)
        except (TimeoutError, IMAPClientError, OSError, ssl.SSLError) as exc:
            raise FetchError(f"IMAP: {type(exc).__name__}: {_safe(exc)}",
                             source=self.source_id, url=target.url) from None
        last = max(uids, default=stored)
        cursor = f"{now_validity}:{last}"
        self._cursor = cursor
        content = json.dumps(messages).encode()
        return Fetched(target=target, content=content, fetched_at=self.clock(),
                       keep={target.key: cursor})

    def parse(self, fetched: Fetched) -> list[Observation]:
        """Each message read: a court notice's cases, or a message kept aside."""
        try:
            messages = json.loads(fetched.content or b"[]")
        except ValueError as exc:
            raise ParseError(f"not a batch of messages: {exc}", source=self.source_id,
                             url=fetched.target.url) from None
        observations: list[Observation] = []
        for message in messages:
            raw = base64.b64decode(message["raw"])
            verdict = TrustVerdict(bool(message["trusted"]), str(message["reason"]),
                                   str(message.get("sender", "")))
            observations.extend(take_message(
                raw, verdict, track_cases=self.options.track_cases).observations)
        return observations

    # ------------------------------------------------------------------ IMAP

    @contextmanager
    def _session(self) -> Iterator[IMAPClient]:
        o = self.options
        timeout = parse_duration(o.timeout).total_seconds()
        context = ssl.create_default_context(cafile=o.ca_file or None)
        imap = IMAPClient(o.host, port=o.resolved_port(), ssl=o.security == "tls",
                          ssl_context=context if o.security == "tls" else None, timeout=timeout)
        try:
            if o.security == "starttls":
                imap.starttls(context)
            if self._token:
                imap.oauth2_login(o.username, self._token)
            else:
                imap.login(o.username, self._password)
            yield imap
        finally:
            with suppress(IMAPClientError, OSError):
                imap.logout()

    def _mark_stored(self, imap: IMAPClient, stored: int) -> None:
        """Mark (or move) the messages up to `stored`, which the store has taken."""
        done = imap.search(["UID", f"1:{stored}", "UNKEYWORD", self.options.flag])
        done = [uid for uid in done if uid <= stored]
        if not done:
            return
        if self.options.move_to:
            if imap.has_capability("MOVE"):
                imap.move(done, self.options.move_to)
            else:
                imap.copy(done, self.options.move_to)
                imap.delete_messages(done)
                imap.expunge(done) if imap.has_capability("UIDPLUS") else imap.expunge()
        else:
            imap.add_flags(done, [self.options.flag])

    def _unread(self, imap: IMAPClient, stored: int) -> list[int]:
        """UIDs after the cursor not marked yet, oldest first ("N:*" always names the last
        message, even below N: filtered)."""
        found = imap.search(["UID", f"{stored + 1}:*", "UNKEYWORD", self.options.flag])
        return sorted(uid for uid in found if uid > stored)

    def _idle(self, imap: IMAPClient) -> bool:
        """Wait in IDLE for new mail, when the server offers it; True when something came."""
        wait = parse_duration(self.options.idle_wait)
        if wait <= timedelta(0) or not imap.has_capability("IDLE"):
            return False
        imap.idle()
        try:
            responses = imap.idle_check(timeout=wait.total_seconds())
        finally:
            imap.idle_done()
        return any(len(r) > 1 and r[1] == b"EXISTS" for r in responses)

    def _read(self, imap: IMAPClient, uids: list[int]) -> list[dict[str, Any]]:
        """The messages (without setting \\Seen), each with its trust verdict."""
        if not uids:
            return []
        sizes = imap.fetch(uids, ["RFC822.SIZE"])
        small = [u for u in uids
                 if int(sizes.get(u, {}).get(b"RFC822.SIZE", 0)) <= MAX_NOTICE_BYTES]
        big = [u for u in uids if u not in small]
        # A message too big to be a notice: its header is enough to set it aside.
        data = {**(imap.fetch(small, ["BODY.PEEK[]"]) if small else {}),
                **_headers_as_body(imap.fetch(big, ["BODY.PEEK[HEADER]"]) if big else {})}
        messages = []
        for uid in uids:
            raw = data.get(uid, {}).get(b"BODY[]")
            if not isinstance(raw, bytes):
                continue
            verdict = judge(raw, self._policy)
            messages.append({"uid": uid, "raw": base64.b64encode(raw).decode("ascii"),
                             "trusted": verdict.trusted, "reason": verdict.reason,
                             "sender": verdict.sender})
        return messages


def _headers_as_body(data: dict[int, dict[bytes, Any]]) -> dict[int, dict[bytes, Any]]:
    return {uid: {b"BODY[]": d.get(b"BODY[HEADER]", b"")} for uid, d in data.items()}


def trust_policy(options: Imap.Options) -> TrustPolicy:
    """The trust settings of an `imap` source's options (the mail pipe uses them too)."""
    return TrustPolicy(court_domains=tuple(options.court_domains),
                       authserv_ids=tuple(options.authserv_ids), dkim=options.dkim)


def _cursor(text: str) -> tuple[int, int]:
    """(UIDVALIDITY, last UID stored) of a kept cursor; (0, 0) when none."""
    validity, _, last = text.partition(":")
    if validity.isdigit() and last.isdigit():
        return int(validity), int(last)
    return 0, 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _safe(exc: BaseException) -> str:
    """An error's text, short (server replies never carry our secrets, but may be long)."""
    return " ".join(str(exc).split())[:200]
