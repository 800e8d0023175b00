"""Settings of the read API, from environment variables prefixed ``MPP_API_``.

Production takes the single sign-on's RS256 tokens, checked through its JWKS (found by OpenID Connect discovery),
and signs citizens in to the pages as the provider's relying party::

    MPP_ENVIRONMENT=production MPP_API_JWT_ALGORITHM=RS256 MPP_API_OIDC_ISSUER=https://sso.example \\
    MPP_API_JWT_AUDIENCE=mpp-bus-api MPP_API_OIDC_CLIENT_ID=mpp-portal MPP_API_OIDC_CLIENT_SECRET=... \\
    MPP_API_OIDC_REDIRECT_URI=https://portal.example/auth/callback mpp-bus api serve

Development may sign tokens with a shared HS256 secret; the published development key is accepted only when
``MPP_ENVIRONMENT=development`` is set explicitly.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mpp_bus.errors import ConfigError

# Only for development and tests; refused when MPP_ENVIRONMENT=production.
_DEVELOPMENT_JWT_SECRET = "mpp-bus-development-only-jwt-key-do-not-use"

# Why personal data may be read, as a caller states it in X-Purpose: a closed list, so the audit log says something
# an auditor can count, and free text cannot carry personal data into it.
DEFAULT_PURPOSES = (
    "tracking",
    "cek status",
    "sign-up verification",
    "admin support",
    "audit review",
    "complaint handling",
)


def development_sso_environment(host: str, port: int, sso_url: str = "http://127.0.0.1:8704") -> dict[str, str]:
    """``MPP_API_*`` values that point a development API at the mock SSO MPP Digital (``mpp-bus mock-agencies``),
    with the client registration the mock ships for development; ``mpp-bus api serve`` fills in only those unset."""
    portal = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    return {"MPP_API_OIDC_ISSUER": sso_url, "MPP_API_OIDC_CLIENT_ID": "mpp-portal",
            "MPP_API_OIDC_CLIENT_SECRET": "portal-rahasia", "MPP_API_OIDC_REDIRECT_URI": f"{portal}/auth/callback",
            "MPP_API_OIDC_POST_LOGOUT_REDIRECT_URI": f"{portal}/", "MPP_API_JWT_ALGORITHM": "RS256",
            "MPP_API_JWT_AUDIENCE": "mpp-bus-api"}


class ApiSettings(BaseSettings):
    """How the API authenticates callers, whom it lets do what, and how it limits identity look-ups."""

    model_config = SettingsConfigDict(env_prefix="MPP_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = Field(default=None, description="PEM of the single sign-on's RS256 public key.")
    jwt_public_key_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30

    nik_claim: str = "nik"
    roles_claim: str = Field(default="roles", description="Claim holding the roles; a dotted path such as "
                                                          "realm_access.roles reaches into nested claims.")
    admin_role: str = "admin"
    verifier_role: str = "identity_verifier"

    dukcapil_agency: str = "dukcapil"
    verify_limit_per_nik: Annotated[int, Field(ge=1)] = 5
    verify_limit_per_caller: Annotated[int, Field(ge=1)] = 600
    verify_window_seconds: Annotated[int, Field(ge=1)] = 3600

    # Tokens living longer than this are refused whatever their signature: a stolen token must expire.
    jwt_max_lifetime_seconds: Annotated[int, Field(ge=60, le=86400)] = 3600
    jwks_url: str | None = Field(default=None, description="The single sign-on's JWKS; default: the jwks_uri of "
                                                           "OIDC discovery at MPP_API_OIDC_ISSUER.")
    jwks_min_refresh_seconds: Annotated[float, Field(ge=0)] = 30.0
    jwks_cache_seconds: Annotated[float, Field(gt=0)] = 3600.0

    # The citizen pages as the single sign-on's OpenID Connect relying party.
    oidc_issuer: str | None = None
    oidc_client_id: str = "mpp-portal"
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = Field(default=None, description="This portal's /auth/callback as registered "
                                                                    "at the provider.")
    oidc_post_logout_redirect_uri: str | None = None
    oidc_scope: str = "openid profile nik"
    oidc_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    session_idle_seconds: Annotated[int, Field(ge=60)] = 30 * 60
    session_absolute_seconds: Annotated[int, Field(ge=60)] = 8 * 3600
    sign_in_seconds: Annotated[int, Field(ge=30)] = 600  # from "Masuk" to the provider's callback

    docs_enabled: bool | None = Field(default=None, description="Serve /docs, /redoc and /openapi.json; default: "
                                                                "everywhere but production.")

    stale_after_hours: Annotated[float, Field(gt=0)] = 24.0
    cookie_secure: bool = Field(default=False, description="Mark the session cookie Secure in development too "
                                                           "(it always is elsewhere).")

    def docs_on(self, environment: str) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else environment != "production"

    # Identity look-ups: ``verify_limit_per_nik`` counts per caller and NIK (one caller's guesses never lock out the
    # owner signing up through another), ``verify_limit_per_caller`` per caller, and the global per-NIK limit is
    # high and short-windowed: it only slows a crowd of callers down.
    verify_limit_per_nik_global: Annotated[int, Field(ge=1)] = 20
    verify_global_window_seconds: Annotated[int, Field(ge=1)] = 300

    purposes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PURPOSES),
        description="The purposes a caller may state in X-Purpose (compared without case); anything else is "
                    "refused. MPP_API_PURPOSES takes a JSON list.")
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    report_cache_seconds: Annotated[int, Field(ge=0)] = 60
    report_live_per_minute: Annotated[int, Field(ge=1)] = 6

    def signing_key(self, environment: str) -> str:
        """The HS256 shared secret (development and tests only)."""
        if environment == "production":
            raise ConfigError("HS256 tokens are for development only: set MPP_API_JWT_ALGORITHM=RS256 and "
                              "MPP_API_OIDC_ISSUER (or MPP_API_JWKS_URL, or MPP_API_JWT_PUBLIC_KEY_FILE) to the "
                              "single sign-on")
        if self.jwt_secret is not None:
            secret = self.jwt_secret.get_secret_value()
            if len(secret) < 32:
                raise ConfigError("MPP_API_JWT_SECRET is shorter than 32 characters; use a random value")
            return secret
        if environment != "development":
            # fail closed: the published key must never open anything outside an explicit development set-up
            raise ConfigError(f"MPP_API_JWT_SECRET is not set (MPP_ENVIRONMENT={environment}); the development key "
                              "is accepted only with MPP_ENVIRONMENT=development")
        warnings.warn("MPP_API_JWT_SECRET is not set: using the development key (never with real users)",
                      stacklevel=2)
        return _DEVELOPMENT_JWT_SECRET

    def verification_key(self, environment: str) -> str | None:
        """The key that checks token signatures, refusing HS256 in production; None: keys come from the JWKS."""
        if self.jwt_algorithm == "HS256":
            return self.signing_key(environment)
        if self.jwt_public_key:
            return self.jwt_public_key
        if self.jwt_public_key_file:
            try:
                return self.jwt_public_key_file.read_text(encoding="ascii")
            except OSError as exc:
                raise ConfigError(f"cannot read MPP_API_JWT_PUBLIC_KEY_FILE {self.jwt_public_key_file} "
                                  f"({exc.strerror})") from None
        if self.jwks_url or self.oidc_issuer:
            return None
        raise ConfigError("MPP_API_JWT_ALGORITHM=RS256 needs the single sign-on's public key: set "
                          "MPP_API_OIDC_ISSUER (its JWKS), MPP_API_JWKS_URL, MPP_API_JWT_PUBLIC_KEY_FILE (a PEM "
                          "file) or MPP_API_JWT_PUBLIC_KEY")
