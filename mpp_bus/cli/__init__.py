"""The ``mpp-bus`` command line: the same engine as Airflow, for development, demos and operations.

Examples::

    mpp-bus agencies                          # the configured agency instances
    mpp-bus check dukcapil                    # can we reach it, are the credentials good
    mpp-bus sync --all                        # every stream of every enabled agency
    mpp-bus sync oss --stream applications    # one stream of one agency
    mpp-bus dispatch                          # deliver waiting submissions to their agencies
    mpp-bus runs                              # what recent runs did
    mpp-bus quarantine show 12                # why a record was set aside
    mpp-bus record oss --max-records 100      # a redacted recording for the adapter tests' offline mode
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from mpp_bus import __version__
from mpp_bus.cli import adapters, admin, api, bench, demo, dispatch, inspect, reconcile, record, report, sync
from mpp_bus.cli.common import console, errors, fail
from mpp_bus.errors import MppBusError
from mpp_bus.privacy import RedactingFilter

# Each command module adds its sub-commands; a new command is one module and one line here.
COMMAND_MODULES = [inspect, sync, dispatch, admin, demo, api, report, adapters, reconcile, bench, record]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpp-bus", description="The MPP Digital integration bus.")
    parser.add_argument("--version", action="version", version=f"mpp-bus {__version__}")
    parser.add_argument(
        "--agencies", metavar="FILE", help="agencies file (default: $MPP_AGENCIES_FILE or agencies.yaml)"
    )
    parser.add_argument("--database-url", metavar="URL", help="portal store URL (default: $MPP_DATABASE_URL)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:  # a NIK or a phone number that reaches a log call never shows
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    try:
        return int(args.run(args) or 0)
    except MppBusError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130


def _show_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    errors.print(f"[yellow]warning:[/] {message}")


if __name__ == "__main__":
    sys.exit(main())
