"""Process-wide settings, from environment variables prefixed ``MPP_``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mpp_bus.errors import ConfigError

# Only for development and tests: a fixed key makes hashes reproducible there and is refused anywhere else.
_DEVELOPMENT_SECRET = b"mpp-bus-development-only-nik-key"


class Settings(BaseSettings):
    """Settings of one bus process.

    Example::

        MPP_ENVIRONMENT=production MPP_DATABASE_URL=postgresql+psycopg://bus@db/portal \\
        MPP_NIK_HMAC_SECRET=... mpp-bus sync --all
    """

    model_config = SettingsConfigDict(env_prefix="MPP_", extra="ignore")

    # Fails closed: development keys and defaults apply only when MPP_ENVIRONMENT=development is set explicitly.
    environment: Literal["development", "test", "production"] = "production"
    database_url: str = "sqlite:///var/mpp-bus.db"
    agencies_file: Path = Path("agencies.yaml")
    nik_hmac_secret: SecretStr | None = None
    log_level: str = "INFO"

    def nik_secret(self) -> bytes:
        """The HMAC key for NIKs: required outside development, with an error that says how to set it."""
        if self.nik_hmac_secret is not None:
            secret = self.nik_hmac_secret.get_secret_value().encode("utf-8")
            if len(secret) < 16:
                raise ConfigError(
                    "MPP_NIK_HMAC_SECRET is shorter than 16 bytes; use a random value of 32 bytes or more"
                )
            return secret
        if self.environment != "development":
            raise ConfigError(
                f"MPP_NIK_HMAC_SECRET is required outside development (MPP_ENVIRONMENT={self.environment}): "
                "set it to a random value of at least 32 bytes (for example "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) and keep it in your secret store; "
                "changing it later makes stored NIK hashes unreachable"
            )
        warnings.warn(
            "MPP_NIK_HMAC_SECRET is not set: using the development key (never do this with real data)", stacklevel=2
        )
        return _DEVELOPMENT_SECRET
