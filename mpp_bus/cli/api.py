"""``mpp-bus api``: serve the read API, keep its OpenAPI document in step, mint development tokens.

Examples::

    mpp-bus api serve --port 8080
    mpp-bus api openapi check                       # fails when docs/openapi.json drifted from the code
    mpp-bus api token --subject warga-1 --nik 3314014507900001
    mpp-bus api token --subject ops --role admin
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mpp_bus.cli.common import console, fail, settings_from

OPENAPI_FILE = Path("docs/openapi.json")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = commands.add_parser("api", help="the portal read API and citizen pages")
    actions = api.add_subparsers(dest="api_command", required=True, metavar="ACTION")

    serve = actions.add_parser("serve", help="serve the API (settings from MPP_* and MPP_API_*)")
    _serve_arguments(serve)
    serve.set_defaults(run=run_serve)

    openapi = actions.add_parser("openapi", help="the committed OpenAPI document")
    openapi_actions = openapi.add_subparsers(dest="openapi_command", required=True, metavar="ACTION")
    for action, handler, text in (
        ("write", openapi_write, "write the OpenAPI document generated from the code"),
        ("check", openapi_check, "fail when the committed document differs from the code"),
    ):
        sub = openapi_actions.add_parser(action, help=text)
        sub.add_argument("--file", type=Path, default=OPENAPI_FILE, help="default: docs/openapi.json")
        sub.set_defaults(run=handler)

    token = actions.add_parser("token", help="mint a development token (HS256; refused in production)")
    token.add_argument("--subject", required=True, help="the token's sub claim")
    token.add_argument("--nik", help="the citizen's NIK claim")
    token.add_argument("--role", action="append", default=[], help="a role (repeatable), e.g. admin")
    token.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    token.set_defaults(run=run_token)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default: $MPP_API_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $MPP_API_PORT or 8080)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run_serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from mpp_bus.api.settings import ApiSettings, development_sso_environment

    settings = settings_from(args)
    # The factory reads its settings from the environment: pass the global options on that way.
    os.environ["MPP_DATABASE_URL"] = settings.database_url
    os.environ["MPP_AGENCIES_FILE"] = str(settings.agencies_file)
    api = ApiSettings()
    host, port = args.host or api.host, args.port or api.port
    if settings.environment == "development" and not os.environ.get("MPP_API_OIDC_ISSUER"):
        # sign-in goes to the mock SSO MPP Digital that `mpp-bus mock-agencies` starts (port 8704)
        for name, value in development_sso_environment(host, port).items():
            os.environ.setdefault(name, value)
        console.print(f"development: citizens sign in at the mock SSO {os.environ['MPP_API_OIDC_ISSUER']} "
                      f"(start it with `mpp-bus mock-agencies --sso-bus-api http://127.0.0.1:{port} "
                      "--sso-demo-users 300`)")
    uvicorn.run("mpp_bus.api.app:app_from_env", factory=True, host=host, port=port,
                log_level=args.log_level, access_log=True, server_header=False)
    return 0


def openapi_write(args: argparse.Namespace) -> int:
    from mpp_bus.api.app import openapi_document, reference_app

    args.file.parent.mkdir(parents=True, exist_ok=True)
    args.file.write_text(openapi_document(reference_app()), encoding="utf-8")
    console.print(f"wrote {args.file}")
    return 0


def openapi_check(args: argparse.Namespace) -> int:
    from mpp_bus.api.app import openapi_document, reference_app

    if not args.file.exists() or args.file.read_text(encoding="utf-8") != openapi_document(reference_app()):
        return fail(f"{args.file} is out of date; run `mpp-bus api openapi write` and commit the result")
    console.print(f"{args.file} matches the API")
    return 0


def run_token(args: argparse.Namespace) -> int:
    from mpp_bus.api.auth import issue_token
    from mpp_bus.api.settings import ApiSettings
    from mpp_bus.privacy import nik_problem

    if args.nik and nik_problem(args.nik):
        return fail(f"--nik: {nik_problem(args.nik)}")
    token = issue_token(ApiSettings(), settings_from(args).environment, subject=args.subject, nik=args.nik,
                        roles=args.role, lifetime_s=args.minutes * 60)
    print(token)
    return 0
