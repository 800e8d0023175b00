"""One writer per agency stream, enforced by the store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from mpp_bus.errors import SyncLockedError
from mpp_bus.store import create_store
from mpp_bus.store.tables import sync_locks

HOLDER = """
import sys, time
from mpp_bus.store import create_store
lock = create_store(sys.argv[1]).lock("dukcapil", "applications")
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def store(db_url):
    store = create_store(db_url, upgrade=True)
    yield store
    store.dispose()


def test_second_writer_is_refused_until_the_first_releases(store):
    with store.lock("dukcapil", "applications"):
        with pytest.raises(SyncLockedError) as caught:
            store.lock("dukcapil", "applications").acquire()
        message = str(caught.value)
        assert "dukcapil" in message and "applications" in message and "Wait for that run" in message
        with store.lock("dukcapil", "catalog"), store.lock("tax", "applications"):
            pass  # other streams and agencies are independent
    with store.lock("dukcapil", "applications") as again:
        assert again.held
    assert not again.held


def test_waiting_for_a_lock_times_out(store):
    with store.lock("tax", "catalog"):
        started = time.monotonic()
        with pytest.raises(SyncLockedError):
            store.lock("tax", "catalog", wait=0.6).acquire()
        assert time.monotonic() - started >= 0.6


def test_a_lock_held_by_a_killed_process_is_freed(store, db_url):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(SyncLockedError, match="dukcapil stream applications"):
            store.lock("dukcapil", "applications").acquire()
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout:
            holder.stdout.close()
    with store.lock("dukcapil", "applications", wait=5) as lock:
        assert lock.held


def test_sqlite_lock_rows_of_other_hosts_are_respected(sqlite_url):
    store = create_store(sqlite_url, upgrade=True)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                sync_locks.insert().values(
                    agency_id="tax",
                    stream="catalog",
                    owner_host=socket.gethostname() + "-elsewhere",
                    owner_pid=1,
                    token="t" * 32,
                    acquired_at=datetime.now(UTC),
                )
            )
        with pytest.raises(SyncLockedError, match="-elsewhere"):
            store.lock("tax", "catalog").acquire()
    finally:
        store.dispose()
