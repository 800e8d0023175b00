"""The keyset read loop of incremental streams, written once: page through an agency's "changed since" listing, map
each item, advance the ``Keyset`` position and yield each page with the cursor after it.

An adapter says only how to fetch a page and how to read and map one item::

    def read_applications(self, cursor):
        return keyset_read(cursor, agency=self.agency_id, token_key="next_cursor",
                           paginator=CursorPaginator("next_cursor", agency=self.agency_id),
                           fetch=self._applications_page, record_id=_id, updated=_updated, build=self._application)

    def _applications_page(self, position, token):   # -> (the page's items, what the paginator reads)
        body = self.http.get_json("/applications", {"cursor": token} if token else {...})
        return body["data"], body

Cursor: the keyset position (``Keyset.to_cursor``) plus ``{token_key: <the agency's page token or null>}``. Mid-read
the token resumes at the next page; after the last page it is null (or a positional paginator's first page) and the
position is the high-water mark of the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from mpp_bus.canonical.records import CanonicalRecords
from mpp_bus.contract import Cursor, Page
from mpp_bus.transport.paging import Keyset, Paginator
from mpp_bus.transport.records import KeysetPage

# fetch(position, token) -> (items of the page, the response the paginator reads its next token from)
Fetch = Callable[[Keyset | None, Any], tuple[Iterable[Any], Any]]


def keyset_read(
    cursor: Cursor | None,
    *,
    agency: str,
    token_key: str,
    fetch: Fetch,
    record_id: Callable[[Any], object],
    updated: Callable[[Any], datetime],
    build: Callable[[Any, datetime], dict[str, Any]],
    paginator: Paginator | None = None,
    stop_when_empty: bool = False,
    payload: Callable[[Any], Mapping[str, Any]] | None = None,
    check: Callable[[Any], None] | None = None,
) -> Iterator[Page]:
    """Every page of an incremental read from ``cursor``, ordered by the agency as ``(updated, id)``.

    ``fetch(position, token)`` requests one page: the first (``token`` None, filter by ``position.updated``) or the
    one of ``token``; it returns the page's items and what ``paginator.next_token`` reads. Each item goes through
    ``KeysetPage.extend`` with ``record_id``, ``updated`` and ``build`` (see there for the boundary rule).

    With a token paginator (cursor, next URL) the token carries the position and a token seen twice is a loop. With
    a positional one (page numbers, offsets) pages shift when records change between two requests, so after a page
    that moved the position the read asks again for the first page since the new position, stepping on only when a
    whole page sat at one instant. ``stop_when_empty`` ends the read at an empty page whatever the token says (the
    items are then a sequence).
    Without a paginator the read is one page.

    A ``fetch`` may return ``CanonicalRecords`` (its own one-pass validation of the page, see
    ``mapped_record_type``) instead of agency items: they go through ``KeysetPage.extend_canonical`` with ``check``,
    and ``build`` is skipped. It falls back to agency items for a page that does not validate whole, so every bad
    record is rejected with its reason as before.
    """
    position = Keyset.from_cursor(cursor, agency=agency)
    positional = paginator is not None and paginator.positional
    token = (cursor or {}).get(token_key)
    first: Any = None
    if positional:
        assert paginator is not None
        first = paginator.first().get(paginator.param)
    else:
        token = token or None  # an empty token is no token
        if token is not None and paginator is not None:
            paginator.seen(token)  # a loop back to where the read resumed is caught too
    while True:
        items, response = fetch(position, token)
        page = KeysetPage(position)
        if isinstance(items, CanonicalRecords):
            page.extend_canonical(items, agency, check)
        else:
            page.extend(items, record_id, updated, build, payload)
        following = paginator.next_token(response) if paginator is not None else None
        done = following is None or (stop_when_empty and not items)
        if positional and page.moved:
            paginator.reset()  # type: ignore[union-attr]  # positional implies a paginator: its first page is new ground
            following = first
        position = page.position
        token = first if done and positional else (None if done else following)
        yield page.page(**{token_key: token})
        if done:
            return

