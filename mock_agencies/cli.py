"""`python -m mock_agencies serve`: the mock agency servers in one process, one thread each."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from collections.abc import Sequence

from mock_agencies.dukcapil import DukcapilServer
from mock_agencies.faults import PROFILES, Faults
from mock_agencies.httpbase import AgencyServer, Served, start_server
from mock_agencies.launcher import AGENCIES
from mock_agencies.licensing import LicensingServer
from mock_agencies.population import Population
from mock_agencies.provinsi import ProvinsiServer
from mock_agencies.sso import SsoConfig, SsoServer
from mock_agencies.tax import TaxServer
from mock_agencies.timefmt import iso_date, mock_today

HEALTH_PATH = "/health"


def parse_fault(text: str) -> tuple[str, str, float | None, float | None]:
    """AGENCY=PROFILE[:rate=R][:delay=S], e.g. licensing=flaky:rate=0.2 or tax=slow:delay=0.5."""
    agency, sep, rest = text.partition("=")
    if not sep or agency not in AGENCIES:
        raise argparse.ArgumentTypeError(f"expected AGENCY=PROFILE with AGENCY one of {', '.join(AGENCIES)}")
    profile, *options = rest.split(":")
    if profile not in PROFILES:
        raise argparse.ArgumentTypeError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    rate = delay = None
    for option in options:
        name, _, value = option.partition("=")
        if name == "rate":
            rate = float(value)
        elif name == "delay":
            delay = float(value)
        else:
            raise argparse.ArgumentTypeError(f"unknown fault option {name!r}; use rate= or delay=")
    return agency, profile, rate, delay


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mock_agencies", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the Dukcapil, licensing, tax and provincial mock servers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--dukcapil-port", type=int, default=8701)
    serve.add_argument("--licensing-port", type=int, default=8702)
    serve.add_argument("--tax-port", type=int, default=8703)
    serve.add_argument("--provinsi-port", type=int, default=8705, help="provincial licensing office (XML)")
    serve.add_argument("--seed", type=int, default=2024)
    serve.add_argument("--citizens", type=int, default=5000, help="population size (NIK index kept in memory)")
    serve.add_argument("--applications", type=int, default=2000,
                       help="applications per dataset (per agency, per licensing tenant); memory stays flat")
    serve.add_argument("--faults", nargs="*", type=parse_fault, default=[], metavar="AGENCY=PROFILE",
                       help="initial fault profile per agency: AGENCY=PROFILE[:rate=R][:delay=S]")
    serve.add_argument("--token-ttl", type=int, default=3600, help="licensing OAuth2 token lifetime, seconds")
    serve.add_argument("--rate-limit", type=float, default=None,
                       help="licensing requests/s per client (default 200, env MOCK_LICENSING_RATE_LIMIT)")
    serve.add_argument("--sso-port", type=int, default=8704, help="SSO MPP Digital (OpenID Connect provider)")
    serve.add_argument("--sso-bus-api", default=None,
                       help="the bus API base URL sign-up verifies identities through (env MOCK_SSO_BUS_API_URL); "
                            "unset: sign-up is refused")
    serve.add_argument("--sso-data-dir", default=None, help="where the provider keeps its users (default: memory)")
    serve.add_argument("--sso-demo-users", type=int, default=None, metavar="N",
                       help="development only: pre-register citizens 0..N-1 with the demo password")
    serve.add_argument("--today", default=None, metavar="YYYY-MM-DD",
                       help="the day the generated timeline ends on (env MOCK_TODAY; default: today in WIB)")
    return parser


def build_servers(args: argparse.Namespace) -> dict[str, AgencyServer]:
    population = Population(args.seed, args.citizens)
    faults = {agency: Faults(args.seed) for agency in AGENCIES}
    for agency, profile, rate, delay in args.faults:
        faults[agency].set(profile, rate, delay)
    return {
        "dukcapil": DukcapilServer(args.seed, population, args.applications, faults["dukcapil"]),
        "licensing": LicensingServer(args.seed, population, args.applications, faults["licensing"],
                                     token_ttl=args.token_ttl, rate_limit=args.rate_limit),
        "tax": TaxServer(args.seed, population, args.applications, faults["tax"]),
        "provinsi": ProvinsiServer(args.seed, population, args.applications, faults["provinsi"]),
    }


def serve(args: argparse.Namespace) -> int:
    # One "today" for the whole process, fixed at start: licensing tenants are built on first use, and a server
    # running past midnight must not give two tenants two different timelines.
    os.environ["MOCK_TODAY"] = args.today or os.environ.get("MOCK_TODAY") or iso_date(mock_today())
    mock_today()  # a malformed date fails here, at start, with its message
    apps = build_servers(args)
    # What exists now (spyne's models, the population) lives as long as the process: keep the collector off it,
    # or every page's short-lived records pay for walking it.
    gc.collect()
    gc.freeze()
    ports = {"dukcapil": args.dukcapil_port, "licensing": args.licensing_port, "tax": args.tax_port,
             "provinsi": args.provinsi_port}
    sso = SsoServer(SsoConfig.from_env(f"http://{args.host}:{args.sso_port}", bus_api_url=args.sso_bus_api,
                                       data_dir=args.sso_data_dir, demo_users=args.sso_demo_users),
                    Population(args.seed, args.citizens))
    servers = []
    served: list[tuple[str, Served]] = [*((a, apps[a]) for a in AGENCIES), ("sso", sso)]
    for agency, app in served:
        server, _ = start_server(app, args.host, args.sso_port if agency == "sso" else ports[agency])
        servers.append(server)
        host, port = server.server_address[:2]
        print(f"mock-agencies: {agency} ready at http://{host}:{port} (health {HEALTH_PATH})", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    for server in servers:
        server.shutdown()
        server.server_close()
    print("mock-agencies: stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
