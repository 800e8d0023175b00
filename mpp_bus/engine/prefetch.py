"""Reading ahead: the next page is fetched, mapped, validated and prepared in a background thread while the engine
writes the current one.

Waiting on the agency (HTTP, the agency's own work), the work in Python and waiting on the store then overlap instead
of adding up.
The queue holds at most ``depth`` pages, so memory stays flat: one page being written, ``depth`` waiting, one being
read. Pages, the end of the read and the adapter's exception arrive in order, so a sync behaves exactly as if it
iterated the adapter itself; the adapter's iterator is closed in the thread that ran it.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

log = logging.getLogger("mpp_bus.engine")

T = TypeVar("T")
_PAGE, _END, _ERROR = 0, 1, 2
POLL_SECONDS = 0.1
JOIN_SECONDS = 60.0


class Prefetcher(Generic[T]):
    """Iterate ``items`` in a background thread, ``depth`` items ahead; ``close()`` stops and joins it."""

    def __init__(self, items: Iterator[T], depth: int = 1, *, name: str = "mpp-bus-prefetch") -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._items = items
        self._queue: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Prefetcher[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == _PAGE:
            page: T = value
            return page
        self._done = True
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop reading ahead and wait for the thread (it finishes the request under way, then closes the
        adapter's iterator)."""
        self._stop.set()
        self._done = True
        while True:  # free a worker blocked on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(JOIN_SECONDS)
        if self._thread.is_alive():
            log.warning("the adapter's read did not stop within %.0f s; left to finish in the background",
                        JOIN_SECONDS)

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(_PAGE, item):
                    return
            self._put(_END, None)
        except BaseException as exc:  # handed to the engine's thread, which raises it as its own
            self._put(_ERROR, exc)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing the adapter's read failed")

    def _put(self, kind: int, value: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


class _SwitchInterval:
    """How often Python hands the GIL between threads, lowered while any sync reads ahead into a remote store.

    The read-ahead thread is busy in Python; the engine's thread waits on the database for each statement and then
    needs the GIL back. With Python's default 5 ms switch interval it waits up to that long after every round trip
    (a convoy); at 1 ms a PostgreSQL sync ran about 15% faster on 2 cores. An in-process store (SQLite) waits on
    nothing, so it keeps the default. Nested and concurrent syncs share one setting, restored when the last ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = 0.0

    @contextmanager
    def lowered(self, seconds: float = 0.001) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(seconds, self._saved))
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    sys.setswitchinterval(self._saved)


switch_interval = _SwitchInterval()
