"""A real IMAP server for tests: Debian's Dovecot with a throwaway configuration.

`dovecot_server()` starts `/usr/sbin/dovecot -F` on 127.0.0.1 (a free port for IMAP with
STARTTLS, another for IMAPS, both with a self-signed certificate for 127.0.0.1 made by openssl),
a maildir in a temporary folder, and one static user (`court`, password `secret`). Messages are
delivered with IMAP APPEND, as a mail server's delivery agent would put them in the mailbox.
Skips the test cleanly when Dovecot or openssl is absent.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.fakes.smtp import free_port

__all__ = ["DOVECOT", "Dovecot", "dovecot_server"]

DOVECOT = os.environ.get("COURT_MONITOR_DOVECOT", "/usr/sbin/dovecot")
USER, PASSWORD = "court", "secret"


@dataclass
class Dovecot:
    """A running Dovecot: where to reach it, and how to put mail in and look at it."""

    port: int
    tls_port: int
    ca_file: Path
    folder: Path

    def client(self) -> IMAPClient:
        imap = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        imap.login(USER, PASSWORD)
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put one message in the mailbox (IMAP APPEND)."""
        imap = self.client()
        try:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            imap.append(folder, raw)
        finally:
            imap.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of every message of a folder."""
        imap = self.client()
        try:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            return {uid: tuple(d[b"FLAGS"]) for uid, d in imap.fetch(uids, ["FLAGS"]).items()}
        finally:
            imap.logout()


def _owner() -> tuple[int, int, str, str]:
    """(uid, gid, login user, internal user) Dovecot runs mail and logins as."""
    if os.geteuid() != 0:
        name = pwd.getpwuid(os.geteuid()).pw_name
        return os.geteuid(), os.getegid(), name, name
    mail = pwd.getpwnam("dovecot")
    return mail.pw_uid, mail.pw_gid, "dovenull", "dovecot"


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


@contextmanager
def dovecot_server() -> Iterator[Dovecot]:
    """Start a throwaway Dovecot; stop it and remove its folder on the way out."""
    if not Path(DOVECOT).exists() or shutil.which("openssl") is None:
        pytest.skip("Dovecot (dovecot-imapd) or openssl is not installed")
    # Not under pytest's tmp_path: Dovecot's unprivileged login user must reach base_dir.
    folder = Path(tempfile.mkdtemp(prefix="cm-dovecot-"))
    folder.chmod(0o755)
    uid, gid, login_user, internal_user = _owner()
    home = folder / "home"
    home.mkdir()
    os.chown(home, uid, gid)
    cert, key = _certificate(folder)
    port, tls_port = free_port(), free_port()
    config = folder / "dovecot.conf"
    config.write_text(f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(port=port, tls_port=tls_port, ca_file=cert, folder=folder)
    try:
        _wait_ready(server, process, folder)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(server: Dovecot, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() \
                else ""
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"dovecot exited: {err} {log[-2000:]}")
        try:
            server.client().logout()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not start in 15 s")
