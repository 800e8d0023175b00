"""Auth strategies: headers, secrets kept out of reprs, OAuth2 token caching, expiry and the one refresh on 401."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from mpp_bus.config import RetryConfig
from mpp_bus.errors import AuthError, RetriableError
from mpp_bus.transport import ApiKeyAuth, BasicAuth, BearerAuth, HttpClient, OAuth2ClientCredentials


class FakeAgency(BaseAdapter):
    """An OAuth2 agency: issues numbered tokens, accepts only the tokens listed in `valid`."""

    def __init__(self) -> None:
        super().__init__()
        self.issued = 0
        self.valid: set[str] = set()
        self.api_calls: list[str] = []
        self.token_status = 200

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def,override]
        if request.path_url == "/oauth/token":
            form = dict(parse_qsl(request.body))
            if self.token_status != 200 or form.get("client_secret") != "s3cret":
                return self._reply(request, 401, {"error": "invalid_client"})
            self.issued += 1
            token = f"t{self.issued}"
            self.valid.add(token)
            return self._reply(request, 200, {"access_token": token, "expires_in": 3600})
        bearer = request.headers.get("Authorization", "")[7:]
        self.api_calls.append(bearer)
        return self._reply(request, 200 if bearer in self.valid else 401, {"ok": bearer})

    def _reply(self, request, status, body):  # type: ignore[no-untyped-def]
        resp = requests.Response()
        resp.status_code, resp._content, resp.request = status, json.dumps(body).encode(), request
        resp.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        resp.connection = self  # what the 401 refresh re-sends through, as requests' adapters do
        return resp

    def close(self) -> None:
        pass


@pytest.fixture
def agency() -> FakeAgency:
    return FakeAgency()


def oauth(agency: FakeAgency, clock=lambda: 0.0, secret="s3cret"):  # type: ignore[no-untyped-def]
    session = requests.Session()
    session.mount("http://", agency)
    auth = OAuth2ClientCredentials("http://lic.test/oauth/token", "mpp-bus", secret, agency="oss", session=session,
                                   clock=clock)
    api = requests.Session()
    api.mount("http://", agency)
    return auth, HttpClient("http://lic.test", agency="oss", auth=auth, session=api,
                            retry=RetryConfig(attempts=1))


def test_token_is_fetched_lazily_and_cached(agency):
    auth, http = oauth(agency)
    assert agency.issued == 0
    http.get_json("/api/v1/oss/services")
    http.get_json("/api/v1/oss/services")
    assert agency.issued == 1 and agency.api_calls == ["t1", "t1"]


def test_token_is_refreshed_shortly_before_expiry(agency):
    now = [0.0]
    auth, http = oauth(agency, clock=lambda: now[0])
    http.get_json("/x")
    now[0] = 3600 - 10  # inside the 30 s leeway
    http.get_json("/x")
    assert agency.api_calls == ["t1", "t2"]


def test_a_401_refreshes_the_token_once(agency):
    auth, http = oauth(agency)
    http.get_json("/x")
    agency.valid.clear()  # the agency restarted and forgot our token
    assert http.get_json("/x") == {"ok": "t2"}
    assert agency.api_calls == ["t1", "t1", "t2"]


def test_a_401_after_refresh_is_an_auth_error_not_a_loop(agency):
    auth, http = oauth(agency)
    agency.valid = set()
    original = agency.send

    def forgetful(request, **kwargs):  # type: ignore[no-untyped-def]
        resp = original(request, **kwargs)
        agency.valid.clear()
        return resp

    agency.send = forgetful  # type: ignore[method-assign]
    with pytest.raises(AuthError, match="HTTP 401"):
        http.get_json("/x")
    assert len(agency.api_calls) == 2


def test_bad_client_credentials_are_an_auth_error(agency):
    auth, http = oauth(agency, secret="wrong")
    with pytest.raises(AuthError, match="client credentials") as info:
        http.get_json("/x")
    assert "wrong" not in str(info.value)


def test_token_endpoint_down_is_retriable():
    session = requests.Session()
    auth = OAuth2ClientCredentials("http://127.0.0.1:9/oauth/token", "id", "s", session=session, timeout=1)
    with pytest.raises(RetriableError):
        auth.token()


def test_static_strategies_set_headers_and_hide_secrets():
    req = requests.Request("GET", "http://a.test/").prepare()
    assert ApiKeyAuth("X-DJP-Key", "sek-1")(req).headers["X-DJP-Key"] == "sek-1"
    assert BearerAuth("sek-2")(req).headers["Authorization"] == "Bearer sek-2"
    assert BasicAuth("u", "p")(req).headers["Authorization"] == "Basic dTpw"
    for strategy in (ApiKeyAuth("X-DJP-Key", "sek-1"), BearerAuth("sek-2"), BasicAuth("u", "sek-3"),
                     OAuth2ClientCredentials("http://a.test/t", "id", "sek-4")):
        assert "sek-" not in repr(strategy)
