"""``mpp-bus record``: record an agency's responses, redacted, for the conformance kit's offline mode.

Examples::

    mpp-bus record dpmptsp-3314 --output tests/recorded/sragen.json
    mpp-bus record jateng --stream applications --max-records 200 --output tests/recorded/jateng.json

The adapter is built as ``mpp-bus check`` builds it (the configured instance, its connection's credentials) and
makes the kit's reads (check, every stream, a resumed read, a read from the high water) through a recording
transport. Personal values are replaced by consistent valid stand-ins (``mpp_bus.testing.pseudonym``) before the
file is written, so the recording still passes the kit. Record against a test system, never production.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import requests

from mpp_bus.cli.common import bus_from, console
from mpp_bus.contract import Adapter, build_adapter
from mpp_bus.errors import ConfigError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("record", help="record an agency's responses (redacted) for offline adapter tests")
    parser.add_argument("agency_id", metavar="AGENCY")
    parser.add_argument("--stream", action="append", metavar="S", dest="streams",
                        help="record only this stream (repeatable; default: every stream)")
    parser.add_argument("--max-records", type=int, metavar="N",
                        help="stop each read after the page that reaches N records (the recording says so)")
    parser.add_argument("--output", type=Path, metavar="PATH",
                        help="where to write the recording (default: recorded/AGENCY.json)")
    parser.set_defaults(run=record_agency)


def record_agency(args: argparse.Namespace) -> int:
    try:
        from mpp_bus.testing.record import record
    except ImportError as exc:  # the kit is a pytest suite: pytest comes with the `testing` extra
        raise ConfigError("`mpp-bus record` needs the adapter test kit: install mpp-bus with its `testing` "
                          "extra") from exc
    if args.max_records is not None and args.max_records < 1:
        raise ConfigError(f"--max-records must be at least 1, not {args.max_records}")
    bus = bus_from(args)
    instance = bus.instance(args.agency_id)
    connection = bus.connections(instance.connection_id)
    with bus.adapter(instance.id) as adapter:
        offered = [spec.name.value for spec in adapter.streams()]
    unknown = sorted(set(args.streams or ()) - set(offered))
    if unknown:
        raise ConfigError(f"{instance.id} offers no stream {', '.join(unknown)}; it offers {', '.join(offered)}")
    output: Path = args.output or Path("recorded") / f"{instance.id}.json"

    def build(*, session: requests.Session | None = None) -> Adapter[Any]:
        return build_adapter(instance, connection, **({} if session is None else {"session": session}))

    try:
        cassette = record(build, output, streams=args.streams, max_records=args.max_records, redact=True,
                          agency=instance.id)
    except RuntimeError as exc:
        raise ConfigError(f"{instance.id}: {exc}") from exc
    capped = f", each read capped at {args.max_records} records" if args.max_records else ""
    console.print(f"recorded {sum(len(a) for a in cassette.interactions.values())} responses of {instance.id} "
                  f"({cassette.adapter}{capped}), personal values replaced, to {output}")
    return 0
