"""Paginators and the keyset position of incremental reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mpp_bus.errors import FatalError
from mpp_bus.transport import CursorPaginator, Keyset, PageNumberPaginator


def test_cursor_paginator_follows_and_ends():
    p = CursorPaginator("next_cursor")
    assert p.next_token({"data": [], "next_cursor": "a"}) == "a"
    assert p.next_token({"data": [], "next_cursor": "b"}) == "b"
    assert p.next_token({"data": [], "next_cursor": None}) is None
    assert p.next_token({"data": [], "next_cursor": ""}) is None


def test_cursor_paginator_reads_attributes_of_soap_objects():
    class Result:
        NextPageToken = "t1"

    assert CursorPaginator("NextPageToken").next_token(Result()) == "t1"


def test_same_token_twice_is_a_loop():
    p = CursorPaginator("next_cursor", agency="oss")
    p.next_token({"next_cursor": "a"})
    p.next_token({"next_cursor": "b"})
    with pytest.raises(FatalError, match="pagination loop") as info:
        p.next_token({"next_cursor": "a"})
    assert info.value.agency == "oss"


def test_a_loop_back_to_the_resumed_token_is_caught():
    p = CursorPaginator()
    p.seen("start")
    with pytest.raises(FatalError):
        p.next_token({"next_cursor": "start"})


def test_page_number_paginator():
    p = PageNumberPaginator("halaman", "total_halaman")
    assert p.next_token({"halaman": 1, "total_halaman": 3}) == 2
    assert p.next_token({"halaman": 2, "total_halaman": 3}) == 3
    assert p.next_token({"halaman": 3, "total_halaman": 3}) is None
    with pytest.raises(FatalError):
        p.next_token({"halaman": 1, "total_halaman": 3})
    with pytest.raises(FatalError, match="lacks"):
        PageNumberPaginator().next_token({"data": []})


def test_keyset_round_trip_and_replay():
    t = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    k = Keyset.at(t, "B", {"A": "va", "B": "vb"})
    assert Keyset.from_cursor(k.to_cursor()) == k
    assert Keyset.from_cursor(None) is None
    assert k.replays(t, "A", "va") and k.replays(t, "B", "vb")
    assert not k.replays(t, "A", "changed") and not k.replays(t, "A")  # a new or unknown version is delivered
    assert not k.replays(t, "C", "vc")
    assert not k.replays(t - timedelta(hours=1), "A", "va")  # a stale copy goes on to the engine
    assert k.advance(t, "C") == Keyset.at(t, "C", {"A": "va", "B": "vb"})
    assert k.advance(t + timedelta(seconds=1), "A") == Keyset(t + timedelta(seconds=1), "A")
    assert k.advance(t - timedelta(seconds=1), "Z") is k


@pytest.mark.parametrize("cursor", [{"updated": "yesterday"}, {"updated": "2025-03-01T08:00:00"}])
def test_keyset_rejects_a_bad_cursor(cursor):
    with pytest.raises(FatalError, match="cursor"):
        Keyset.from_cursor(cursor)
