"""`doctor courtlistener`: is push (CourtListener webhooks) set up, and if not, what to do.

It checks what can be checked: the token (one budgeted request per alert listing), the alerts
on the account, the daemon's side (`[server]` enabled, `public_url`, a secret webhook path) and
whether a push ever arrived. What the API cannot tell, it says: whether a webhook URL is set on
the account (CourtListener manages webhooks on its website only). Then it prints the steps to
take on the website. It never prints the token or the secret webhook path.
"""

from __future__ import annotations

import argparse

from monitor.cli._common import EXIT_OK, EXIT_RUNTIME, Clock, SubParsers, open_app
from monitor.errors import ConfigError

__all__ = ["add_parsers", "cmd_doctor_courtlistener"]


def add_parsers(sub: SubParsers) -> None:
    """`doctor courtlistener [--source ID]`."""
    p = sub.add_parser("doctor", help="check a source's setup with its service")
    kinds = p.add_subparsers(dest="doctor_kind", required=True)
    cl = kinds.add_parser("courtlistener",
                          help="token, alerts and webhook (push) of a CourtListener source")
    cl.add_argument("--source", help="the source id (default: the first courtlistener one)")
    cl.set_defaults(handler=cmd_doctor_courtlistener)


def cmd_doctor_courtlistener(args: argparse.Namespace, clock: Clock) -> int:
    """Check the token, the alerts, the endpoint and past pushes; print the website steps."""
    from monitor.push import push_reachable, push_status, pushed_dockets  # lazy: the stack
    from monitor.quota import quota_for_source  # lazy: the database stack
    from sources.api_urls import site_of  # lazy: light, beside the others
    from sources.base import RequestGate  # lazy: httpx
    from sources.courtlistener import check_account  # lazy: httpx
    from sources.request_budget import MemoryGate  # lazy: httpx

    with open_app(args, clock) as app:
        candidates = [s for s in app.config.sources if s.kind == "courtlistener"
                      and (args.source is None or s.id == args.source)]
        if not candidates:
            raise ConfigError("no courtlistener source" + (
                f" with id {args.source}" if args.source else ""), path=app.config.path,
                key="source")
        src = candidates[0]
        base_url = str(src.options.base_url)
        quota = quota_for_source(app.engine, src)
        gate: RequestGate = quota.gate(clock) if quota is not None else MemoryGate(
            src.options.limits(), clock)
        account = check_account(app.client, base_url, src.secrets.get("token"), gate)
        server = app.config.server
        reachable = push_reachable(server)
        status = push_status(app.engine, src, server)
        ours = pushed_dockets(app.engine, src)
    problems = 0
    print(f"CourtListener source {src.id!r} ({base_url})")
    secret_from = f"${src.options.token_env}" if src.options.token_env else "token_file"
    if account.token == "ok":
        print(f"  token: accepted (from {secret_from}; not shown)")
        more = {k: "+" if v else "" for k, v in account.more.items()}
        print(f"  docket alerts on the account: {len(account.docket_alerts)}{more['docket']}"
              f" ({len(ours)} kept by court-monitor)")
        names = ", ".join(f"{name} ({alert.rate})" for name, alert in account.search_alerts)
        print(f"  court-monitor's search alerts: {len(account.search_alerts)}{more['search']}"
              f"{': ' + names if names else ''}")
    else:
        problems += account.token != "deferred"
        print(f"  token: {account.token}: {account.detail}")
    problems += _print_endpoint(server, reachable)
    print("  webhook on the CourtListener account: the API cannot tell (webhooks are set on "
          "the website only, and their URLs are not listed by the API)")
    print(f"  last push received: {status['last_push'] or 'never'}"
          + ("  (pushes arrive: the webhook is set)" if status["last_push"] else ""))
    if status["silent"]:
        problems += 1
        print("  pushes stopped arriving while polling found filings: check the webhook")
    if not status["last_push"] or status["silent"]:
        _print_steps(site_of(base_url) or "https://www.courtlistener.com", server.public_url,
                     _path_hint(server))
    return EXIT_RUNTIME if problems else EXIT_OK


def _path_hint(server: object) -> str:
    env = str(getattr(server, "webhook_path_env", ""))
    return f"the secret path in ${env}" if env else "the secret path in webhook_path_file"


def _print_endpoint(server: object, reachable: bool) -> int:
    """The daemon's side of push; returns 1 when push is off."""
    public = str(getattr(server, "public_url", "")).rstrip("/")
    if reachable:
        print(f"  webhook endpoint: {public}/<{_path_hint(server)}> (served by `run`)")
        return 0
    missing = [name for name, ok in (
        ("[server] enabled = true", bool(getattr(server, "enabled", False))),
        ("[server] public_url", bool(public)),
        ("[server] webhook_path_env or webhook_path_file",
         bool(getattr(server, "webhook_path_env", "") or getattr(server, "webhook_path_file",
                                                                   ""))),
    ) if not ok]
    print(f"  push: off (polling only); set {', '.join(missing)}")
    return 1


def _print_steps(site: str, public_url: str, hint: str) -> None:
    url = f"{public_url.rstrip('/') or '<public_url>'}/<{hint}>"
    print("\nSteps on the CourtListener website (the API cannot do them):")
    print(f"  1. Sign in at {site}/ with the account that owns the token.")
    print(f"  2. Open {site}/profile/webhooks/ and add a webhook: URL {url},")
    print("     event type \"Docket Alert\", version 2, enabled.")
    print("  3. Add a second webhook with the same URL for event type \"Search Alert\".")
    print("  4. Send a test event from the webhook's page, or wait for a filing, then run")
    print("     `court-monitor status`: the last push time appears.")
