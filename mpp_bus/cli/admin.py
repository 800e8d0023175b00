"""Operations that set things up: the store's schema, the published JSON Schemas, the mock agencies."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from mpp_bus.cli.common import console, fail, settings_from
from mpp_bus.store import create_store

SCHEMAS_DIR = Path("schemas")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="manage the portal store's schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="create or migrate the store to the latest schema").set_defaults(
        run=db_upgrade
    )

    schemas = commands.add_parser("schemas", help="the canonical JSON Schemas in schemas/")
    schemas_commands = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    for action, handler, text in (
        ("write", schemas_write, "regenerate the JSON Schema files from the canonical models"),
        ("check", schemas_check, "fail when the committed files differ from the models"),
    ):
        sub = schemas_commands.add_parser(action, help=text)
        sub.add_argument("--dir", type=Path, default=SCHEMAS_DIR, help="schema folder (default: schemas/)")
        sub.set_defaults(run=handler)

    mocks = commands.add_parser(
        "mock-agencies",
        help="run the mock agency servers (Dukcapil SOAP, licensing and tax REST) in the foreground",
        description="Extra arguments are passed on; see `python -m mock_agencies serve --help`.",
    )
    mocks.add_argument("mock_args", nargs=argparse.REMAINDER, help="e.g. --licensing-port 9702 --applications 100000")
    mocks.set_defaults(run=mock_agencies)


def db_upgrade(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    create_store(settings.database_url).upgrade()
    console.print("store is at the latest schema")
    return 0


def schemas_write(args: argparse.Namespace) -> int:
    from mpp_bus.canonical import schema  # loads jsonschema, which only the schema commands need

    for path in schema.write_all(args.dir):
        console.print(f"wrote {path}")
    return 0


def schemas_check(args: argparse.Namespace) -> int:
    from mpp_bus.canonical import schema  # loads jsonschema, which only the schema commands need

    drifted = schema.drift(args.dir)
    if drifted:
        return fail(f"schemas out of date: {', '.join(drifted)}; run `mpp-bus schemas write` and commit the result")
    console.print("schemas match the canonical models")
    return 0


def mock_agencies(args: argparse.Namespace) -> int:
    # The mock agencies stand for other people's systems and share no code with the bus: run them as their own
    # program rather than importing them.
    command = [sys.executable, "-m", "mock_agencies", "serve", *args.mock_args]
    try:
        return subprocess.call(command, env=os.environ.copy())
    except KeyboardInterrupt:
        return 130

