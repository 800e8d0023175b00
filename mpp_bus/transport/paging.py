"""Paginators: given this response, what is the next page token. And the keyset position of incremental reads.

A paginator that sees the same token twice raises ``FatalError``: an agency that hands back the page we just read
would otherwise keep a sync running forever. Each paginator also says how a token goes into the next request
(``apply``), so a generic reader can drive any of them:

    page_number   ?page=1, 2, 3 ... until the body's page count        PageNumberPaginator
    offset        ?offset=0, 100, 200 ... until a short page or total  OffsetPaginator
    cursor        ?cursor=<the body's next_cursor>                      CursorPaginator
    link_header   the ``Link: <...>; rel="next"`` URL                   LinkHeaderPaginator
    link_header with ``positional: true``: a Link URL carrying an offset  OffsetLinkPaginator
    next_url      a next-page URL in the body                           NextUrlPaginator

``paginator("offset", limit=100)`` builds one by name; an unknown name fails with the list of known ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any

import requests

from mpp_bus.errors import ConfigError, FatalError


@dataclass(frozen=True)
class PageResponse:
    """What a paginator may look at: the parsed body, the headers and how many records the page held."""

    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    count: int = 0


def _body(response: Any) -> Any:
    return response.body if isinstance(response, PageResponse) else response


class Paginator(ABC):
    """Base of the paginators: subclasses say where the next token is; the base detects loops."""

    def __init__(self, *, agency: str = "") -> None:
        self.agency = agency
        self._seen: set[Hashable] = set()

    def next_token(self, response: Any) -> Any | None:
        """The token of the page after ``response``, or None when it was the last page."""
        token = self.extract(response)
        if token is None:
            return None
        if token in self._seen:
            raise FatalError(f"pagination loop: the agency returned page token #{len(self._seen)} again; report it "
                             f"to the agency (re-running from the stored cursor is safe)", agency=self.agency)
        self._seen.add(token)
        return token

    def seen(self, token: Hashable) -> None:
        """Remember a token the read started from (a resumed cursor), so a loop back to it is caught too."""
        self._seen.add(token)

    def reset(self) -> None:
        """Forget the tokens seen: for a reader that restarts from the first page after its filter moved on."""
        self._seen.clear()

    # Tokens that count pages or records go stale when the agency's data changes between two requests.
    positional: bool = False

    def first(self) -> dict[str, Any]:
        """Parameters of the first request."""
        return {}

    def apply(self, token: Any, params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """``(url or None to keep the path, params)`` of the request for ``token``."""
        return None, {**params, self.param: token}

    param: str = "page"

    @abstractmethod
    def extract(self, response: Any) -> Any | None: ...


class CursorPaginator(Paginator):
    """The next token is a field of the body (``{"data": [...], "next_cursor": "..."}``); empty or null ends."""

    def __init__(self, field: str | tuple[str, ...] = "next_cursor", *, param: str = "cursor",
                 agency: str = "") -> None:
        super().__init__(agency=agency)
        self.path = tuple(field.split(".")) if isinstance(field, str) else field
        self.param = param

    def extract(self, response: Any) -> Any | None:
        return dig(_body(response), self.path) or None


class PageNumberPaginator(Paginator):
    """1-based page numbers with the current page and the page count in the body."""

    positional = True

    def __init__(self, page_field: str = "page", total_field: str = "total_pages", *, param: str | None = None,
                 start: int = 1, agency: str = "") -> None:
        super().__init__(agency=agency)
        self.page_field = page_field
        self.total_field = total_field
        self.param = param or page_field
        self.start = start

    def first(self) -> dict[str, Any]:
        return {self.param: self.start}

    def extract(self, response: Any) -> int | None:
        body = _body(response)
        try:
            page, total = int(body[self.page_field]), int(body[self.total_field])
        except (KeyError, TypeError, ValueError) as exc:
            raise FatalError(f"the page body lacks integer `{self.page_field}`/`{self.total_field}`; report it to "
                             f"the agency", agency=self.agency) from exc
        return page + 1 if page < total else None


class OffsetPaginator(Paginator):
    """``offset``/``limit`` parameters; ends on a short page, or at ``total_field`` when the body has it."""

    positional = True

    def __init__(self, limit: int = 100, *, param: str = "offset", limit_param: str = "limit",
                 total_field: str | None = None, agency: str = "") -> None:
        super().__init__(agency=agency)
        self.limit = int(limit)
        self.param = param
        self.limit_param = limit_param
        self.total_field = total_field
        self._offset = 0

    def first(self) -> dict[str, Any]:
        self._offset = 0
        return {self.param: 0, self.limit_param: self.limit}

    def apply(self, token: Any, params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
        self._offset = int(token)
        return None, {**params, self.param: self._offset, self.limit_param: self.limit}

    def extract(self, response: Any) -> int | None:
        count = response.count if isinstance(response, PageResponse) else 0
        following = self._offset + count
        if count < self.limit:
            return None
        total = dig(_body(response), tuple(self.total_field.split("."))) if self.total_field else None
        return None if total is not None and following >= int(total) else following


class NextUrlPaginator(Paginator):
    """The body carries the URL of the next page (``{"next": "https://..."}``); null or empty ends."""

    def __init__(self, field: str = "next", *, agency: str = "") -> None:
        super().__init__(agency=agency)
        self.path = tuple(field.split("."))

    def extract(self, response: Any) -> str | None:
        return dig(_body(response), self.path) or None

    def apply(self, token: Any, params: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
        return str(token), {}  # the URL carries its own query


class LinkHeaderPaginator(NextUrlPaginator):
    """RFC 8288 ``Link`` header with ``rel="next"`` (GitHub style).

    ``positional=True`` says the link carries a position (an offset or page number inside its URL) rather than an
    opaque token: such links go stale when records change between two requests, so an incremental read restarts
    from its first page after a page that moved its position (see ``keyset_read``)."""

    def __init__(self, rel: str = "next", *, positional: bool = False, agency: str = "") -> None:
        super().__init__(agency=agency)
        self.rel = rel
        self.positional = bool(positional)

    def extract(self, response: Any) -> str | None:
        headers = response.headers if isinstance(response, PageResponse) else {}
        for link in requests.utils.parse_header_links(headers.get("Link") or headers.get("link") or ""):
            if link.get("rel") == self.rel and link.get("url"):
                return link["url"]
        return None


class OffsetLinkPaginator(LinkHeaderPaginator):
    """A ``Link: <...?offset=200&limit=100>; rel="next"`` header: an offset inside the link (positional)."""

    def __init__(self, rel: str = "next", *, agency: str = "") -> None:
        super().__init__(rel, positional=True, agency=agency)


def dig(value: Any, path: tuple[str, ...]) -> Any:
    """``value[path[0]][path[1]]...`` through mappings and attributes (zeep objects); None when a step is missing."""
    for key in path:
        if value is None:
            return None
        value = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
    return value


PAGINATORS: dict[str, type[Paginator]] = {
    "page_number": PageNumberPaginator,
    "offset": OffsetPaginator,
    "cursor": CursorPaginator,
    "link_header": LinkHeaderPaginator,
    "next_url": NextUrlPaginator,
}


def paginator(name: str, *, agency: str = "", **options: Any) -> Paginator:
    """A paginator by name with its options; an unknown name or option fails saying what is known."""
    if name not in PAGINATORS:
        raise ConfigError(f"unknown paginator {name!r}; known paginators: {', '.join(sorted(PAGINATORS))}")
    try:
        return PAGINATORS[name](agency=agency, **options)  # type: ignore[call-arg]  # options are checked below
    except TypeError as exc:
        raise ConfigError(f"paginator {name!r}: {exc}") from None


RESOLUTIONS: dict[str, timedelta] = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1),
                                     "day": timedelta(days=1)}


@dataclass(frozen=True)
class SinceFilter:
    """How an agency's "changed since T" filter behaves: ``inclusive`` (``>= T``) or exclusive (``> T``), and the
    ``resolution`` it compares at (second, minute or day; a day is floored in ``tz``, the agency's zone).

    The time sent is the position's time floored to the resolution, and for an exclusive filter one unit earlier:
    ``> 08:14`` asks for 08:15 again, so records changed later within the boundary minute, or left on the next page
    of it, are not lost. The records re-served that way are recognised by ``Keyset``'s versions (same time, same
    id, same version: skipped); an older one re-served inside the unit goes to the engine, which counts it
    unchanged."""

    inclusive: bool = True
    resolution: str = "second"
    tz: tzinfo = UTC

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ConfigError(f"unknown since resolution {self.resolution!r}; known resolutions: "
                              f"{', '.join(RESOLUTIONS)}")

    def query_time(self, moment: datetime) -> datetime:
        """The time to send for a read that resumes at ``moment``."""
        local = moment.astimezone(self.tz)
        if self.resolution == "day":
            floored = local.replace(hour=0, minute=0, second=0, microsecond=0)
        elif self.resolution == "minute":
            floored = local.replace(second=0, microsecond=0)
        else:
            floored = local.replace(microsecond=0)
        if not self.inclusive:
            floored -= RESOLUTIONS[self.resolution]
        return floored.astimezone(moment.tzinfo or UTC)


INCLUSIVE_SECONDS = SinceFilter()


# How many records of the boundary second a position remembers; beyond it the rest are delivered again, unchanged.
BOUNDARY_LIMIT = 1000


@dataclass(frozen=True, order=True)
class Keyset:
    """Where an incremental read stands: the last record seen in the agency's ``(updated, id)`` order, and which
    version of each record of that last second (``updated``) was already handled.

    Agencies answer "changed since T" inclusively and at one-second resolution, so every read, and every run after
    the first, re-queries from the boundary second T and is served its records again. The rule: **a record re-served
    at T is skipped only when the same id in the same version was handled at T; anything else is delivered.**
    Skipping by id alone (or by ``id <= mark``) would lose a record that changes within the second T after it was
    read: its update time stays T. A version is an opaque digest of the item as the agency served it (see
    ``KeysetPage``); the newest version handled per id is kept, so a change that is reverted within T is delivered
    too. Where no version is known (a cursor written before versions were kept, an item that cannot be digested, a
    second with more than ``BOUNDARY_LIMIT`` records) the record is delivered again rather than skipped: the engine
    counts an identical record as unchanged, so re-delivery costs a little work and never a change.

    Only the boundary second is special: an older record (an out-of-order stale copy) still goes to the engine, which
    counts it as stale rather than having it vanish here. Cursor (JSON; ``seen`` is left out when empty, and a cursor
    without it still loads)::

        {"updated": "2025-03-01T08:00:00+00:00", "id": "B", "seen": {"A": "<version>", "B": "<version>"}}
    """

    updated: datetime
    id: str = ""
    seen: tuple[tuple[str, str], ...] = ()  # (id, version) handled at ``updated``, sorted by id, bounded

    @classmethod
    def at(cls, updated: datetime, record_id: str, versions: Mapping[str, str | None]) -> Keyset:
        """The position ``(updated, record_id)`` that remembers ``versions`` (id -> version handled at ``updated``).
        An id without a version is not remembered, and past ``BOUNDARY_LIMIT`` only the largest ids, the last ones
        read, are: the others come again from a re-query, unchanged."""
        kept = sorted((i, v) for i, v in versions.items() if v is not None)
        return cls(updated, record_id, tuple(kept[-BOUNDARY_LIMIT:]))

    @cached_property
    def _versions(self) -> dict[str, str]:
        return dict(self.seen)

    def knows(self, updated: datetime, record_id: str) -> bool:
        """True when ``record_id`` was handled at this boundary second (only then can its re-read be a replay)."""
        return updated == self.updated and record_id in self._versions

    def replays(self, updated: datetime, record_id: str, version: str | None = None) -> bool:
        """True when ``(updated, record_id)`` in ``version`` is the inclusive re-read of a record already handled."""
        return version is not None and updated == self.updated and self._versions.get(record_id) == version

    def advance(self, updated: datetime, record_id: str) -> Keyset:
        """The later of this position and ``(updated, record_id)``; a later second starts with no version known."""
        if (updated, record_id) <= (self.updated, self.id):
            return self
        return Keyset(updated, record_id, self.seen if updated == self.updated else ())

    def since(self, filter: SinceFilter = INCLUSIVE_SECONDS) -> datetime:
        """The "changed since" time to send an agency whose filter behaves as ``filter``."""
        return filter.query_time(self.updated)

    def to_cursor(self) -> dict[str, Any]:
        cursor: dict[str, Any] = {"updated": self.updated.isoformat(), "id": self.id}
        if self.seen:
            cursor["seen"] = dict(self.seen)
        return cursor

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None, *, agency: str = "") -> Keyset | None:
        if not cursor or not cursor.get("updated"):
            return None
        try:
            updated = datetime.fromisoformat(str(cursor["updated"]))
        except ValueError as exc:
            raise FatalError("the stored cursor has an invalid `updated` time; reset the stream's cursor",
                             agency=agency) from exc
        if updated.tzinfo is None:
            raise FatalError("the stored cursor's `updated` time has no UTC offset; reset the stream's cursor",
                             agency=agency)
        seen = cursor.get("seen") or {}
        if not isinstance(seen, Mapping) or not all(isinstance(v, str) for v in seen.values()):
            raise FatalError("the stored cursor's `seen` versions are not a mapping of id to text; reset the stream's "
                             "cursor", agency=agency)
        return cls.at(updated, str(cursor.get("id") or ""), {str(k): v for k, v in seen.items()})
