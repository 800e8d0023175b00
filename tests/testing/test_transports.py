"""The kit's transports, recorder and network guard."""

from __future__ import annotations

import socket

import pytest
import requests

from mpp_bus.testing import (
    UNREACHABLE_HOST,
    Cassette,
    FunctionTransport,
    NetworkBlocked,
    ReplayTransport,
    Reply,
    no_network,
    request_key,
    session_for,
)
from mpp_bus.testing.transport import RecordingTransport


def echo(request):
    return Reply(200, {"path": request.path, "q": request.query}, {"ETag": '"1"'})


def test_function_transport_answers_every_session():
    t = FunctionTransport(echo)
    body = session_for(t).get("http://x.example/a", params={"b": "1"}).json()
    assert body == {"path": "/a", "q": {"b": "1"}} and t.requests[0].method == "GET"


def test_unreachable_host_fails_like_a_refused_connection():
    with pytest.raises(requests.ConnectionError):
        session_for(FunctionTransport(echo)).get(f"http://{UNREACHABLE_HOST}/")


def test_record_then_replay_and_unrecorded_requests_fail(tmp_path):
    cassette = Cassette()
    recording = session_for(RecordingTransport(cassette, FunctionTransport(echo)))
    recording.post("http://x/token", data={"client_id": "a", "client_secret": "s3cret-value"})
    recording.get("http://x/a?b=1")
    cassette.save(tmp_path / "c.json")
    assert "s3cret-value" not in (tmp_path / "c.json").read_text()
    replay = session_for(ReplayTransport(Cassette.load(tmp_path / "c.json")))
    assert replay.get("http://other-host/a?b=1").headers["ETag"] == '"1"'
    with pytest.raises(requests.ConnectionError, match="not in the recorded"):
        replay.get("http://x/a?b=2")


def test_request_key_ignores_secrets_but_not_the_rest():
    from mpp_bus.testing import Request

    a = Request("POST", "/t", {}, {}, b"client_id=a&client_secret=one")
    b = Request("POST", "/t", {}, {}, b"client_id=a&client_secret=two")
    c = Request("POST", "/t", {}, {}, b"client_id=b&client_secret=one")
    assert request_key(a) == request_key(b) != request_key(c)


def test_network_guard_blocks_real_connections():
    with no_network(), pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))
