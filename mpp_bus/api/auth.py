"""Bearer tokens from the portal's single sign-on: checked, then reduced to a ``Principal`` without the clear NIK.

A token is a JWT (RS256 from the single sign-on, checked through its JWKS; HS256 only in development and tests)
whose ``sub`` names the caller, whose NIK claim says
which citizen signed in, and whose roles claim grants admin or identity-verifier rights::

    {"sub": "citizen-8812", "nik": "3314014507900001", "roles": [], "iat": 1767222000, "exp": 1767225600}

Every token must say when it was issued, and one living longer than ``MPP_API_JWT_MAX_LIFETIME_SECONDS`` is refused
however well it is signed. The clear NIK is hashed the moment the token is read and goes no further.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from mpp_bus.api.jwks import JwksError, JwksKeys
from mpp_bus.api.settings import ApiSettings
from mpp_bus.contract.submission import IDENTITY_CLAIMS
from mpp_bus.privacy import NikHasher, mask, nik_problem, redact_text


class AuthenticationError(Exception):
    """The token is missing, malformed, expired or not signed by the single sign-on."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, roles and, for a citizen, the hash and masked form of their NIK."""

    subject: str
    roles: frozenset[str]
    nik_hash: str | None = None
    nik_masked: str | None = None

    @property
    def is_citizen(self) -> bool:
        return self.nik_hash is not None


class TokenVerifier:
    """Checks tokens against the configured algorithm and key (or the JWKS); never accepts another algorithm."""

    def __init__(self, settings: ApiSettings, environment: str, hasher: NikHasher, *,
                 keys: JwksKeys | None = None) -> None:
        self.settings = settings
        self.key = settings.verification_key(environment)
        if self.key is None and keys is None:
            raise ValueError("RS256 through a JWKS needs the JwksKeys")
        self.keys = keys
        self.hasher = hasher
        # tokens from the JWKS come from the single sign-on: its issuer unless another is configured
        self.issuer = settings.jwt_issuer or (settings.oidc_issuer.rstrip("/") if self.key is None and
                                              settings.oidc_issuer else None)

    def principal(self, token: str) -> Principal:
        return self.principal_of(self._decode(token))

    def principal_of(self, claims: Mapping[str, Any]) -> Principal:
        """The caller named by claims already checked (a bearer token's, or the single sign-on's ID token)."""
        nik = claims.get(self.settings.nik_claim)
        nik_hash = nik_masked = None
        if nik is not None:
            if not isinstance(nik, str) or nik_problem(nik):
                raise AuthenticationError(f"the token's {self.settings.nik_claim!r} claim is not a valid NIK")
            nik_hash, nik_masked = self.hasher.hash(nik), mask(nik)
        # Some sign-on systems use the NIK as the subject: keep only a masked form of any NIK-like subject.
        subject = redact_text(str(claims["sub"]))[:200]
        return Principal(subject, frozenset(_roles(claims, self.settings.roles_claim)), nik_hash, nik_masked)

    def clear_nik(self, token: str) -> str | None:
        """The token's NIK in clear, for the one use that needs it: sealing a submission the agency must receive
        with its applicant's NIK. Everything else works from the ``Principal``'s hash."""
        nik = self._decode(token).get(self.settings.nik_claim)
        return nik if isinstance(nik, str) and not nik_problem(nik) else None

    def identity(self, token: str) -> dict[str, str]:
        """The caller's profile claims (``name``, ``birthdate``) where the token carries them, to pre-fill forms."""
        return profile_claims(self._decode(token))

    def _decode(self, token: str) -> dict[str, Any]:
        options: jwt.types.Options = {"require": ["exp", "iat", "sub"],
                                      "verify_aud": self.settings.jwt_audience is not None}
        try:
            key: Any = self.key
            if key is None and self.keys is not None:  # RS256 through the JWKS: the key the token names
                key = self.keys.key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.settings.jwt_algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options=options,
            )
        except JwksError as exc:
            raise AuthenticationError(f"the token is not valid: {exc}") from None
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired; sign in again") from None
        except jwt.InvalidTokenError as exc:
            # PyJWT's messages name claims and algorithms, never claim values.
            raise AuthenticationError(f"the token is not valid: {exc}") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthenticationError("the token's 'sub' claim must be a non-empty string")
        if int(claims["exp"]) - int(claims["iat"]) > self.settings.jwt_max_lifetime_seconds:
            raise AuthenticationError(f"the token lives longer than {self.settings.jwt_max_lifetime_seconds} "
                                      "seconds; ask the single sign-on for a short-lived one")
        return claims


# The standard OIDC profile claims a form may be pre-filled from.
PROFILE_CLAIMS = IDENTITY_CLAIMS


def profile_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The profile claims of a verified token that are non-empty strings."""
    return {k: v.strip() for k in PROFILE_CLAIMS if isinstance(v := claims.get(k), str) and v.strip()}


def _roles(claims: Mapping[str, Any], path: str) -> Iterable[str]:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def issue_token(
    settings: ApiSettings,
    environment: str,
    *,
    subject: str,
    nik: str | None = None,
    roles: Iterable[str] = (),
    lifetime_s: int = 3600,
    profile: Mapping[str, str] | None = None,
) -> str:
    """An HS256 token signed with the development key, standing in for the single sign-on (development only)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + lifetime_s}
    *parents, leaf = settings.roles_claim.split(".")
    node = claims
    for part in parents:  # a dotted roles claim such as realm_access.roles nests
        node = node.setdefault(part, {})
    node[leaf] = list(roles)
    if nik is not None:
        claims[settings.nik_claim] = nik
    claims.update(profile or {})  # standard profile claims (name, birthdate) as a sign-on may add them
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.signing_key(environment), algorithm="HS256")
