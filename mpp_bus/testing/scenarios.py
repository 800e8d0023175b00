"""The reads the conformance kit makes of an adapter, shared by the kit and the recorder (so that everything the
kit asks in offline mode was recorded)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from mpp_bus.contract import Adapter, CheckResult, Page, StreamName, SyncMode

Build = Callable[[], Adapter[Any]]


class SessionBuild(Protocol):
    """Builds a fresh adapter on the given session (its transport), or on its own default one when None."""

    def __call__(self, *, session: requests.Session | None = None) -> Adapter[Any]: ...


def read_all(build: Build, stream: StreamName, cursor: dict[str, Any] | None = None) -> list[Page]:
    """Every page of one read, with a fresh adapter (as a new process would)."""
    with build() as adapter:
        return list(adapter.read(stream, cursor))


def read_first_page(build: Build, stream: StreamName) -> Page:
    """The first page of a read, then the read stops (as if the process died after committing it)."""
    with build() as adapter:
        pages = adapter.read(stream, None)
        try:
            return next(pages)
        finally:
            close = getattr(pages, "close", None)
            if close:
                close()


@dataclass
class StreamRun:
    """What the kit learns of one stream."""

    pages: list[Page]
    resumed_first: Page | None = None
    resumed_rest: list[Page] = field(default_factory=list)
    after_high_water: list[Page] = field(default_factory=list)


def exercise(build: Build) -> tuple[CheckResult, dict[StreamName, StreamRun]]:
    """Check, read every stream, resume incremental ones from their first page, read again from the high water."""
    with build() as adapter:
        check = adapter.check()
        specs = list(adapter.streams())
    runs: dict[StreamName, StreamRun] = {}
    for spec in specs:
        run = StreamRun(read_all(build, spec.name))
        if spec.mode is SyncMode.INCREMENTAL:
            run.resumed_first = read_first_page(build, spec.name)
            run.resumed_rest = read_all(build, spec.name, run.resumed_first.cursor)
            run.after_high_water = read_all(build, spec.name, run.pages[-1].cursor if run.pages else None)
        runs[spec.name] = run
    return check, runs
