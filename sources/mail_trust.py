"""Whether an email may be taken as court data: a court's sending domain, proven.

Anyone can write `From: ecf@dcd.uscourts.gov`. A notice is court data only when

1. its (single) From address is in one of the courts' sending domains (`court_domains`, by
   default `uscourts.gov` and `fedcourts.us` and their subdomains: CM/ECF sends from
   `<court>.uscourts.gov`, the appellate ACMS from `<court>.fedcourts.us`), and
2. that domain is proven, by either
   - the receiving server's `Authentication-Results` header, only from a server the operator
     names (`authserv_ids`) and only the topmost such header (the receiving server adds its
     own on top; a sender can forge any header below it), saying `dkim=pass` for a court
     domain aligned with the From domain, or `dmarc=pass` for the From domain; or
   - a DKIM signature that verifies (dkimpy; the key is looked up in DNS, so this is I/O:
     the caller passes the resolver, tests a local one), by a court domain aligned with the
     From domain.

Anything else is kept aside with the reason (`TrustVerdict.reason`), never made into entries.
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

import authres
import dkim

__all__ = ["DEFAULT_COURT_DOMAINS", "DnsLookup", "TrustPolicy", "TrustVerdict", "judge"]

log = logging.getLogger(__name__)

#: where the courts send from (CM/ECF: <court>.uscourts.gov; ACMS: <court>.fedcourts.us)
DEFAULT_COURT_DOMAINS = ("uscourts.gov", "fedcourts.us")

#: dkimpy's resolver: a DNS name (bytes) -> its TXT record (bytes), or None
DnsLookup = Callable[..., bytes | None]


@dataclass(frozen=True)
class TrustPolicy:
    """The sending domains taken as courts, and the proofs accepted."""

    court_domains: tuple[str, ...] = DEFAULT_COURT_DOMAINS
    #: authserv-ids of the receiving servers whose Authentication-Results are believed
    authserv_ids: tuple[str, ...] = ()
    #: verify DKIM signatures ourselves (a DNS lookup per signature)
    dkim: bool = True


@dataclass(frozen=True)
class TrustVerdict:
    """Trusted or not, and why (kept with a message set aside)."""

    trusted: bool
    reason: str
    sender: str = ""


def judge(raw: bytes, policy: TrustPolicy, *, dns: DnsLookup | None = None) -> TrustVerdict:
    """Whether `raw` comes from a court, proven (see the module docstring). `dns` is the
    resolver DKIM keys are looked up with (None: the system's, through dnspython)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    senders = [addr.lower() for _, addr in getaddresses(msg.get_all("From", [])) if addr]
    if len(senders) != 1:
        return TrustVerdict(False, f"{len(senders)} From addresses (one expected)")
    sender = senders[0]
    domain = sender.rpartition("@")[2].rstrip(".")
    if not _within(domain, policy.court_domains):
        return TrustVerdict(False, f"sender domain {domain or '(none)'} is not a court's",
                            sender)
    proof = _authentication_results(msg, domain, policy)
    if proof:
        return TrustVerdict(True, proof, sender)
    if policy.dkim and msg.get_all("DKIM-Signature"):
        proof, failure = _dkim(raw, msg, domain, policy, dns)
        if proof:
            return TrustVerdict(True, proof, sender)
        return TrustVerdict(False, failure, sender)
    return TrustVerdict(False, "no passing DKIM signature or trusted Authentication-Results "
                               f"for {domain}", sender)


def _within(domain: str, parents: tuple[str, ...]) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == p or domain.endswith("." + p) for p in (x.lower() for x in parents))


def _aligned(signer: str, from_domain: str, policy: TrustPolicy) -> bool:
    """A signing domain speaks for the From domain when it is a court domain and the From
    domain is it or one of its subdomains (`uscourts.gov` signs for `dcd.uscourts.gov`)."""
    signer = signer.lower().lstrip("@").rstrip(".")
    return _within(signer, policy.court_domains) and _within(from_domain, (signer,))


def _authentication_results(msg: Message, domain: str, policy: TrustPolicy) -> str:
    """The proof in the topmost Authentication-Results of a named server, or ""."""
    if not policy.authserv_ids:
        return ""
    wanted = {a.lower() for a in policy.authserv_ids}
    for value in msg.get_all("Authentication-Results", []):
        try:
            header = authres.AuthenticationResultsHeader.parse(
                "Authentication-Results: " + " ".join(str(value).split()))
        except Exception:  # authres raises its own syntax errors: a header we cannot read
            continue
        if str(header.authserv_id).lower() not in wanted:
            continue
        for result in header.results:
            method, outcome = str(result.method).lower(), str(result.result).lower()
            props = {(p.type, p.name): str(p.value) for p in result.properties}
            if outcome != "pass":
                continue
            if method == "dkim":
                signer = props.get(("header", "d")) or \
                    props.get(("header", "i"), "").rpartition("@")[2]
                if signer and _aligned(signer, domain, policy):
                    return f"{header.authserv_id}: dkim=pass header.d={signer}"
            if method == "dmarc" and props.get(("header", "from"), "").lower() == domain:
                return f"{header.authserv_id}: dmarc=pass header.from={domain}"
        return ""  # only the topmost header of a named server counts
    return ""


def _dkim(raw: bytes, msg: Message, domain: str, policy: TrustPolicy,
          dns: DnsLookup | None) -> tuple[str, str]:
    """(proof, "") when a signature of an aligned court domain verifies, else ("", why)."""
    why = "DKIM signature did not verify"
    verifier = dkim.DKIM(raw)
    for index in range(len(msg.get_all("DKIM-Signature", []))):
        try:
            ok = verifier.verify(idx=index, dnsfunc=dns) if dns else verifier.verify(idx=index)
        except Exception as exc:  # dkimpy and dnspython raise many kinds: a failed proof
            why = f"DKIM: {type(exc).__name__}"
            continue
        signer = (verifier.domain or b"").decode("ascii", "replace")
        if ok and _aligned(signer, domain, policy):
            return f"dkim=pass d={signer}", ""
        if ok:
            why = f"DKIM signature of {signer}, not a court domain aligned with {domain}"
    return "", why
