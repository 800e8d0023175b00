"""``mpp-bus new-adapter NAME``: scaffold an agency adapter package that passes its own tests as generated."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpp_bus.cli.common import console


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("new-adapter", help="scaffold a new agency adapter package")
    p.add_argument("name", metavar="NAME", help="adapter type name, e.g. sipandu (lowercase, digits, _)")
    p.add_argument("--dest", default=".", metavar="DIR", help="where to create mpp-adapter-NAME (default: here)")
    p.add_argument("--title", help="the agency system's name, for docs and identity")
    p.add_argument("--force", action="store_true", help="overwrite an existing folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mpp_bus.scaffold import scaffold  # needs pytest (the test kit): imported only for this command

    made = scaffold(args.name, Path(args.dest), title=args.title, force=args.force)
    console.print(f"created {made.root} (adapter type [bold]{made.name}[/], entry point {made.entry_point})")
    console.print(f"next: cd {made.root} && python -m pytest")
    return 0
