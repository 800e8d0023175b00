"""One writer per (agency, stream), enforced in the store.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the whole sync; the server releases it
if the process dies. SQLite: a ``sync_locks`` row naming its owner (host and pid); a row whose owner pid is dead on
this host is taken over.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from mpp_bus.errors import SyncLockedError
from mpp_bus.store.tables import sync_locks

POLL_SECONDS = 0.2


def _locked_message(agency_id: str, stream: str, holder: str) -> str:
    return (
        f"agency {agency_id} stream {stream} is already being synced by {holder}; only one writer is allowed. "
        "Wait for that run to finish (see the recent sync runs), or retry with a lock wait. A lock left by a "
        "process that died is released automatically."
    )


class SyncLock:
    """The writer lock of one agency stream; use as a context manager. ``wait`` seconds to wait for it (0: fail)."""

    def __init__(self, engine: Engine, agency_id: str, stream: str, *, wait: float = 0.0) -> None:
        self.engine = engine
        self.agency_id = agency_id
        self.stream = stream
        self.wait = wait
        self._connection: Connection | None = None
        self._token: str | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._token is not None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            holder = self._try()
            if holder is None:
                return
            if time.monotonic() >= deadline:
                raise SyncLockedError(_locked_message(self.agency_id, self.stream, holder))
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.01)))

    def _try(self) -> str | None:
        """Take the lock; None when taken, else a description of who holds it."""
        if self.engine.dialect.name == "postgresql":
            return self._try_advisory()
        return self._try_row()

    # --- PostgreSQL -------------------------------------------------------------------------------------------

    def _key(self) -> int:
        digest = hashlib.sha256(f"mpp-bus|{self.agency_id}|{self.stream}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _try_advisory(self) -> str | None:
        connection = self.engine.connect()
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key()}).scalar_one()
            connection.commit()  # the lock is session-level; ending the transaction keeps it
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if got:
            self._connection = connection
            return None
        connection.close()
        return "another process (a PostgreSQL session holds its advisory lock)"

    # --- SQLite -------------------------------------------------------------------------------------------------

    def _try_row(self) -> str | None:
        token = uuid.uuid4().hex
        host, pid = socket.gethostname(), os.getpid()
        mine = {"owner_host": host, "owner_pid": pid, "token": token, "acquired_at": datetime.now(UTC)}
        where = (sync_locks.c.agency_id == self.agency_id) & (sync_locks.c.stream == self.stream)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sync_locks).values(agency_id=self.agency_id, stream=self.stream, **mine))
            self._token = token
            return None
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(select(sync_locks).where(where)).one_or_none()
            if row is None:  # released in between: try again at once
                return self._try_row()
            if row.owner_host == host and not _alive(row.owner_pid):
                # Compare-and-set on the old token: of two processes taking over a dead lock, one wins.
                taken = conn.execute(update(sync_locks).where(where & (sync_locks.c.token == row.token)).values(**mine))
                if taken.rowcount == 1:
                    self._token = token
                    return None
            return f"process {row.owner_pid} on host {row.owner_host} (since {row.acquired_at:%Y-%m-%d %H:%M:%S} UTC)"

    # ------------------------------------------------------------------------------------------------------------

    def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key()})
                connection.commit()
            except BaseException:
                # A pooled connection must never keep the lock: drop it so the server releases it.
                connection.invalidate()
                raise
            finally:
                connection.close()
        if self._token is not None:
            token, self._token = self._token, None
            with self.engine.begin() as conn:
                conn.execute(
                    delete(sync_locks).where(
                        (sync_locks.c.agency_id == self.agency_id)
                        & (sync_locks.c.stream == self.stream)
                        & (sync_locks.c.token == token)
                    )
                )

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
