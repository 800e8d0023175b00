"""The GIL switch interval is lowered only while syncs read ahead into a remote store, and always restored."""

from __future__ import annotations

import sys
import threading

import pytest

from mpp_bus.engine.prefetch import switch_interval


def test_lowered_then_restored_even_on_error() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), switch_interval.lowered(0.001):
        assert sys.getswitchinterval() == pytest.approx(min(0.001, before))
        raise RuntimeError("the sync failed")
    assert sys.getswitchinterval() == before


def test_overlapping_syncs_restore_the_original_once_the_last_ends() -> None:
    before = sys.getswitchinterval()
    first_in, first_may_leave = threading.Event(), threading.Event()

    def first() -> None:
        with switch_interval.lowered(0.001):
            first_in.set()
            first_may_leave.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(10)
    with switch_interval.lowered(0.001):
        pass
    assert sys.getswitchinterval() == pytest.approx(min(0.001, before))  # the first sync is still reading
    first_may_leave.set()
    thread.join(10)
    assert sys.getswitchinterval() == before


def test_a_postgres_sync_leaves_the_interval_as_it_found_it(engine, agency) -> None:
    before = sys.getswitchinterval()
    assert engine.sync(agency, "applications").ok
    assert sys.getswitchinterval() == before
