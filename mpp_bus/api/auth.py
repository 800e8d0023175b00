"""Bearer tokens from the portal's single sign-on: checked, then reduced to a ``Principal`` without the clear NIK.

A token is a JWT (HS256 in development, RS256 in production) whose ``sub`` names the caller, whose NIK claim says
which citizen signed in, and whose roles claim grants admin or identity-verifier rights::

    {"sub": "citizen-8812", "nik": "3314014507900001", "roles": [], "exp": 1767225600}

The clear NIK is hashed the moment the token is read and goes no further.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from mpp_bus.api.settings import ApiSettings
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
    """Checks tokens against the configured algorithm and key; never accepts another algorithm."""

    def __init__(self, settings: ApiSettings, environment: str, hasher: NikHasher) -> None:
        self.settings = settings
        self.key = settings.verification_key(environment)
        self.hasher = hasher

    def principal(self, token: str) -> Principal:
        claims = self._decode(token)
        nik = claims.get(self.settings.nik_claim)
        nik_hash = nik_masked = None
        if nik is not None:
            if nik_problem(nik):
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

    def _decode(self, token: str) -> dict[str, Any]:
        options: jwt.types.Options = {"require": ["exp", "sub"], "verify_aud": self.settings.jwt_audience is not None}
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.settings.jwt_algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired; sign in again") from None
        except jwt.InvalidTokenError as exc:
            # PyJWT's messages name claims and algorithms, never claim values.
            raise AuthenticationError(f"the token is not valid: {exc}") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthenticationError("the token's 'sub' claim must be a non-empty string")
        return claims


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
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.signing_key(environment), algorithm="HS256")
