"""What every command shares: the console, building the bus from the global options, tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mpp_bus.bus import Bus
from mpp_bus.config import Settings

# Piped output (CI logs, files) gets a wide fixed width so tables stay readable.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, highlight=False)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "agencies", None):
        overrides["agencies_file"] = args.agencies
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings(**overrides)


def bus_from(args: argparse.Namespace) -> Bus:
    return Bus.from_settings(settings_from(args))


def fail(message: str, code: int = 1) -> int:
    # The message is text, never markup: "[testing]" or an agency's "[code]" must print as written.
    errors.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    return code


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    out = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    return out


def fmt_seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}s"
