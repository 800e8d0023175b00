"""The citizen pages as the single sign-on's OpenID Connect relying party: discovery (fetched once, then cached),
the authorization request (code flow, PKCE S256, state, nonce), the code exchange and the ID token's checks.

Example::

    sso = OidcProvider(settings, keys)
    start = sso.begin("/lacak")                        # what to keep server-side, and where to send the browser
    tokens = sso.exchange(code, start.verifier)        # at the callback, after the state matched
    claims = sso.id_token_claims(tokens.id_token, start.nonce)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests

from mpp_bus.api.jwks import JwksError, JwksKeys
from mpp_bus.api.settings import ApiSettings
from mpp_bus.errors import ConfigError


class OidcError(Exception):
    """The provider's answer cannot be trusted or used; the citizen is asked to sign in again."""


@dataclass(frozen=True)
class SignInStart:
    """A sign-in under way: kept server-side until the callback; ``url`` is where the browser goes."""

    state: str
    nonce: str
    verifier: str
    url: str


@dataclass(frozen=True)
class Tokens:
    id_token: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcProvider:
    """One configured provider (``MPP_API_OIDC_*``)."""

    def __init__(self, settings: ApiSettings, keys: JwksKeys | None = None) -> None:
        if not settings.oidc_issuer:
            raise ConfigError("MPP_API_OIDC_ISSUER is not set: the citizen pages cannot sign anyone in")
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self.keys = keys or JwksKeys(self.jwks_uri, min_refresh_seconds=settings.jwks_min_refresh_seconds,
                                     cache_seconds=settings.jwks_cache_seconds,
                                     timeout=settings.oidc_timeout_seconds)

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched on first use and kept for the life of the process."""
        with self._lock:
            if self._metadata is None:
                try:
                    response = requests.get(f"{self.issuer}/.well-known/openid-configuration",
                                            timeout=self.settings.oidc_timeout_seconds)
                    response.raise_for_status()
                    document = response.json()
                except (requests.RequestException, ValueError) as exc:
                    raise OidcError(f"the single sign-on's discovery document cannot be read "
                                    f"({type(exc).__name__})") from None
                if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != self.issuer:
                    raise OidcError("the discovery document names another issuer than MPP_API_OIDC_ISSUER")
                missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
                if missing:
                    raise OidcError(f"the discovery document lacks {', '.join(missing)}")
                self._metadata = document
            return self._metadata

    def jwks_uri(self) -> str:
        return self.settings.jwks_url or str(self.metadata()["jwks_uri"])

    def _redirect_uri(self) -> str:
        if not self.settings.oidc_redirect_uri:
            raise ConfigError("MPP_API_OIDC_REDIRECT_URI is not set: this portal's /auth/callback as registered at "
                              "the single sign-on")
        return self.settings.oidc_redirect_uri

    def begin(self) -> SignInStart:
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        query = urlencode({"response_type": "code", "client_id": self.settings.oidc_client_id,
                           "redirect_uri": self._redirect_uri(), "scope": self.settings.oidc_scope, "state": state,
                           "nonce": nonce, "code_challenge": pkce_challenge(verifier),
                           "code_challenge_method": "S256"})
        return SignInStart(state, nonce, verifier, f"{self.metadata()['authorization_endpoint']}?{query}")

    def exchange(self, code: str, verifier: str) -> Tokens:
        """The authorization code for tokens (client_secret_basic); only the ID token is kept."""
        secret = self.settings.oidc_client_secret
        if secret is None:
            raise ConfigError("MPP_API_OIDC_CLIENT_SECRET is not set")
        try:
            response = requests.post(
                str(self.metadata()["token_endpoint"]),
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": self._redirect_uri(),
                      "code_verifier": verifier},
                auth=(self.settings.oidc_client_id, secret.get_secret_value()),
                timeout=self.settings.oidc_timeout_seconds, headers={"Accept": "application/json"})
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(f"the token endpoint did not answer ({type(exc).__name__})") from None
        if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("id_token"):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise OidcError(f"the token endpoint refused the code ({response.status_code} {error or ''})".strip())
        return Tokens(id_token=str(answer["id_token"]))

    def id_token_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims after checking signature (JWKS), iss, aud, exp, iat, lifetime and nonce."""
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, self.keys.key_for(id_token), algorithms=["RS256"], audience=self.settings.oidc_client_id,
                issuer=self.issuer, leeway=self.settings.jwt_leeway_seconds,
                options={"require": ["exp", "iat", "sub", "nonce"]})
        except JwksError as exc:
            raise OidcError(str(exc)) from None
        except jwt.InvalidTokenError as exc:
            raise OidcError(f"the ID token is not valid: {exc}") from None
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise OidcError("the ID token's nonce is not this sign-in's")
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.settings.oidc_client_id:
            raise OidcError("the ID token was issued to another client (azp)")
        if int(claims["exp"]) - int(claims["iat"]) > self.settings.jwt_max_lifetime_seconds:
            raise OidcError("the ID token lives longer than MPP_API_JWT_MAX_LIFETIME_SECONDS allows")
        return claims

    def end_session_url(self, id_token_hint: str | None) -> str | None:
        """Where to send the browser to end the provider's session too (RP-initiated logout), if it offers that."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except OidcError:
            return None
        if not endpoint:
            return None
        params = {"client_id": self.settings.oidc_client_id}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        if self.settings.oidc_post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = self.settings.oidc_post_logout_redirect_uri
        return f"{endpoint}?{urlencode(params)}"
