"""Rate-limit counters in the store: fixed windows, counted by one atomic upsert per limit.

Counting in the store (not in a process) is what makes a limit hold across API processes and hosts; counting with
``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count`` (not "count, then insert") is what makes it
hold under concurrency: PostgreSQL serialises the upserts of one row on its row lock and SQLite serialises writers,
so each attempt sees the count that includes every attempt committed before it.

Several limits are taken together, in one transaction: if any of them is used up the transaction rolls back, so a
refused attempt costs none of the caller's other budgets::

    counters = RateCounters(store)
    ticket = counters.take([Limit("identity.pair", key, limit=5, window_seconds=3600)], now=now)
    if isinstance(ticket, Refusal): ...          # 429, Retry-After: ticket.retry_after
    ...
    counters.give_back(ticket)                  # the attempt did not count after all (the registry was down)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mpp_bus.store.store import Store
from mpp_bus.store.tables import rate_counters


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``limit`` attempts per ``key`` within each fixed window of ``window_seconds``."""

    scope: str
    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Ticket:
    """The counter rows one granted attempt incremented (to give them back)."""

    rows: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first limit that was used up, and how long until its window ends."""

    limit: Limit
    retry_after: int


class _UsedUp(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal


class RateCounters:
    """Takes and gives back attempts against limits kept in the store."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def take(self, limits: Sequence[Limit], *, now: datetime) -> Ticket | Refusal:
        """Count one attempt against every limit, all or nothing."""
        epoch = int(now.timestamp())
        rows: list[tuple[str, str, int]] = []
        # A fixed order of rows across transactions, so two attempts never wait on each other's locks in a cycle.
        ordered = sorted(limits, key=lambda lim: (lim.scope, lim.key))
        try:
            with self.engine.begin() as conn:
                for lim in ordered:
                    start = epoch - epoch % lim.window_seconds
                    count = _increment(conn, lim, start, now + timedelta(seconds=start + lim.window_seconds - epoch))
                    if count > lim.limit:
                        raise _UsedUp(Refusal(lim, max(1, start + lim.window_seconds - epoch)))
                    rows.append((lim.scope, lim.key, start))
        except _UsedUp as used_up:
            return used_up.refusal
        self._prune(now)
        return Ticket(tuple(rows))

    def give_back(self, ticket: Ticket) -> None:
        """Undo a granted attempt (an attempt that must not count, such as one the registry never answered)."""
        with self.engine.begin() as conn:
            for scope, key, start in ticket.rows:
                conn.execute(update(rate_counters)
                             .where(rate_counters.c.scope == scope, rate_counters.c.key == key,
                                    rate_counters.c.window_start == start, rate_counters.c.count > 0)
                             .values(count=rate_counters.c.count - 1))

    def count(self, limit: Limit, *, now: datetime) -> int:
        """Attempts counted against ``limit`` in the current window."""
        epoch = int(now.timestamp())
        start = epoch - epoch % limit.window_seconds
        with self.engine.connect() as conn:
            found = conn.execute(rate_counters.select().with_only_columns(rate_counters.c.count).where(
                rate_counters.c.scope == limit.scope, rate_counters.c.key == limit.key,
                rate_counters.c.window_start == start)).scalar()
        return int(found or 0)

    def _prune(self, now: datetime) -> None:
        # Its own short transaction: windows that ended are dead rows, and removing them must not hold the locks of
        # the counters just taken.
        with self.engine.begin() as conn:
            conn.execute(delete(rate_counters).where(rate_counters.c.expires_at < now))


def _increment(conn: Connection, lim: Limit, start: int, expires_at: datetime) -> int:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = insert(rate_counters).values(scope=lim.scope, key=lim.key, window_start=start, count=1,
                                          expires_at=expires_at)
    upsert = values.on_conflict_do_update(
        index_elements=[rate_counters.c.scope, rate_counters.c.key, rate_counters.c.window_start],
        set_={"count": rate_counters.c.count + 1},
    ).returning(rate_counters.c.count)
    return int(conn.execute(upsert).scalar_one())
