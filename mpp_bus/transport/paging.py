"""Paginators: given this response, what is the next page token. And the keyset position of incremental reads.

A paginator that sees the same token twice raises ``FatalError``: an agency that hands back the page we just read
would otherwise keep a sync running forever.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mpp_bus.errors import FatalError


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

    @abstractmethod
    def extract(self, response: Any) -> Any | None: ...


class CursorPaginator(Paginator):
    """The next token is a field of the body (``{"data": [...], "next_cursor": "..."}``); empty or null ends."""

    def __init__(self, field: str | tuple[str, ...] = "next_cursor", *, agency: str = "") -> None:
        super().__init__(agency=agency)
        self.path = (field,) if isinstance(field, str) else field

    def extract(self, response: Any) -> Any | None:
        value = response
        for key in self.path:
            value = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
            if value is None:
                return None
        return value or None


class PageNumberPaginator(Paginator):
    """1-based page numbers with the current page and the page count in the body."""

    def __init__(self, page_field: str = "page", total_field: str = "total_pages", *, agency: str = "") -> None:
        super().__init__(agency=agency)
        self.page_field = page_field
        self.total_field = total_field

    def extract(self, response: Mapping[str, Any]) -> int | None:
        try:
            page, total = int(response[self.page_field]), int(response[self.total_field])
        except (KeyError, TypeError, ValueError) as exc:
            raise FatalError(f"the page body lacks integer `{self.page_field}`/`{self.total_field}`; report it to "
                             f"the agency", agency=self.agency) from exc
        return page + 1 if page < total else None


@dataclass(frozen=True, order=True)
class Keyset:
    """Where an incremental read stands: the last record seen in the agency's ``(updated, id)`` order.

    Agencies answer "changed since T" inclusively, so a re-query from T returns the record at T again; ``after``
    tells those already-seen records apart, which keeps incremental reads exact and restartable.
    """

    updated: datetime
    id: str = ""

    def replays(self, updated: datetime, record_id: str) -> bool:
        """True when ``(updated, record_id)`` is the inclusive re-read of this position (already delivered).

        Only the boundary second is skipped: an older record (an out-of-order stale copy) still goes to the engine,
        which counts it as stale rather than having it vanish here.
        """
        return updated == self.updated and record_id <= self.id

    def advance(self, updated: datetime, record_id: str) -> Keyset:
        """The later of this position and ``(updated, record_id)``."""
        return self if (updated, record_id) <= (self.updated, self.id) else Keyset(updated, record_id)

    def to_cursor(self) -> dict[str, str]:
        return {"updated": self.updated.isoformat(), "id": self.id}

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None, *, agency: str = "") -> Keyset | None:
        if not cursor or not cursor.get("updated"):
            return None
        try:
            updated = datetime.fromisoformat(str(cursor["updated"]))
        except ValueError as exc:
            raise FatalError(f"the stored cursor has an invalid `updated` time; reset the stream's cursor",
                             agency=agency) from exc
        if updated.tzinfo is None:
            raise FatalError("the stored cursor's `updated` time has no UTC offset; reset the stream's cursor",
                             agency=agency)
        return cls(updated, str(cursor.get("id") or ""))
