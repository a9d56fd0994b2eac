"""Trust: only a court's sending domain, proven by DKIM (a real signature, verified with a local
resolver) or by the named receiving server's Authentication-Results, is court data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dkim
import pytest

from sources.mail_trust import TrustPolicy, judge

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "court_email"
MX = TrustPolicy(authserv_ids=("mx.test.example",), dkim=False)


def _notice() -> bytes:
    return (FIXTURES / "dcd_plain.eml").read_bytes()


def _without_auth_results(raw: bytes) -> bytes:
    head, _, body = raw.partition(b"\n\n")
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line.startswith(b"Authentication-Results:"):
            skipping = True
            continue
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        kept.append(line)
    return b"\n".join(kept) + b"\n\n" + body


def test_authentication_results_of_the_named_server() -> None:
    verdict = judge(_notice(), MX)
    assert verdict.trusted, verdict.reason
    assert "dkim=pass" in verdict.reason


def test_authentication_results_of_another_server_are_not_believed() -> None:
    verdict = judge(_notice(), TrustPolicy(authserv_ids=("mx.other.example",), dkim=False))
    assert not verdict.trusted


def test_a_forged_header_below_the_servers_own_does_not_count() -> None:
    raw = _without_auth_results(_notice())
    forged = raw.replace(
        b"Date:", b"Authentication-Results: mx.test.example; dkim=pass header.d=uscourts.gov\n"
                  b"Date:", 1)
    ours = b"Authentication-Results: mx.test.example; dkim=fail header.d=uscourts.gov\n"
    assert judge(forged, MX).trusted  # alone it would be believed (our server stripped none)
    assert not judge(ours + forged, MX).trusted  # the server's own verdict on top wins


def test_sender_outside_the_court_domains() -> None:
    raw = _notice().replace(b"DCD_ECFNotice@dcd.uscourts.gov>\nTo",
                            b"ecf@dcd.uscourts.gov.attacker.example>\nTo")
    verdict = judge(raw, MX)
    assert not verdict.trusted
    assert "not a court" in verdict.reason


def test_dkim_of_an_unaligned_domain_in_results_is_refused() -> None:
    raw = _without_auth_results(_notice())
    raw = b"Authentication-Results: mx.test.example; dkim=pass header.d=attacker.example\n" + raw
    assert not judge(raw, MX).trusted


def test_no_proof_at_all() -> None:
    verdict = judge(_without_auth_results(_notice()), TrustPolicy())
    assert not verdict.trusted
    assert "no passing DKIM" in verdict.reason


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """An RSA key made with openssl: (private PEM, the TXT record to publish)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl absent")
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout"], check=True,
                            capture_output=True).stdout.decode()
    record = "".join(line for line in public.splitlines() if not line.startswith("---"))
    return key.read_bytes(), f"v=DKIM1; k=rsa; p={record}".encode()


def _signed(raw: bytes, private: bytes, domain: bytes) -> bytes:
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    signature = dkim.sign(raw, b"s1", domain, private,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + raw


def test_dkim_signature_verified_with_a_local_resolver(signing_key: tuple[bytes, bytes]) -> None:
    private, record = signing_key
    published = {b"s1._domainkey.uscourts.gov.": record}

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return published.get(name)

    raw = _signed(_without_auth_results(_notice()), private, b"uscourts.gov")
    verdict = judge(raw, TrustPolicy(), dns=dns)
    assert verdict.trusted, verdict.reason
    tampered = raw.replace(b"Answer due", b"Answer not due")
    assert not judge(tampered, TrustPolicy(), dns=dns).trusted
    # A valid signature of a domain that is not the court's proves nothing about the court.
    other = _signed(_without_auth_results(_notice()), private, b"attacker.example")
    published[b"s1._domainkey.attacker.example."] = record
    verdict = judge(other, TrustPolicy(), dns=dns)
    assert not verdict.trusted
