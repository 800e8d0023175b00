"""The reads the conformance kit makes of an adapter, shared by the kit and the recorder (so that everything the
kit asks in offline mode was recorded)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from mpp_bus.contract import Adapter, CheckResult, Cursor, Page, StreamName, StreamSpec, SyncMode

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


def limited(build: SessionBuild, streams: Collection[str] | None = None,
            max_records: int | None = None) -> SessionBuild:
    """``build`` with its adapters offering only ``streams`` (None: all) and every read stopping after the page that
    reaches ``max_records`` records (None: no cap): how a capped recording is made, and replayed (the same reads then
    ask for the same requests, none for the page after the cap)."""
    if streams is None and max_records is None:
        return build

    def limited_build(*, session: requests.Session | None = None) -> Adapter[Any]:
        adapter = build(session=session)
        # Set on the instance, not a subclass or a proxy: the engine and the kit see the adapter's own type.
        if streams is not None:
            offered = adapter.streams

            def only(*_: Any) -> list[StreamSpec]:
                return [spec for spec in offered() if spec.name.value in streams]

            setattr(adapter, "streams", only)  # noqa: B010 - an instance attribute over the method, on purpose
        if max_records is not None:
            setattr(adapter, "read", _capped(adapter.read, max_records))  # noqa: B010 - as above
        return adapter

    return limited_build


def _capped(read: Callable[[StreamName, Cursor | None], Iterator[Page]],
            max_records: int) -> Callable[[StreamName, Cursor | None], Iterator[Page]]:
    def capped(stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        pages, seen = read(stream, cursor), 0
        try:
            for page in pages:
                yield page
                seen += len(page.records) + len(page.rejects)
                if seen >= max_records:
                    return
        finally:
            close = getattr(pages, "close", None)
            if close:
                close()

    return capped
