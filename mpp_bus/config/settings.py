"""Process-wide settings, from environment variables prefixed ``MPP_``."""

from __future__ import annotations

import base64
import binascii
import warnings
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mpp_bus.errors import ConfigError

# Only for development and tests: a fixed key makes hashes reproducible there and is refused anywhere else.
_DEVELOPMENT_SECRET = b"mpp-bus-development-only-nik-key"
_DEVELOPMENT_OUTBOX_KEY = b"mpp-bus-development-outbox-key!!"


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
    # The outbox (applications on their way to agencies): the AES-GCM key of its personal data at rest, and when a
    # submission that keeps failing is given up as dead.
    outbox_key: SecretStr | None = None
    outbox_max_attempts: int = 25
    outbox_max_hours: float = 72.0
    # Files citizens attach to their applications, kept by content hash (folder created 0700). Unset: the portal takes
    # no uploads and the dispatcher holds back submissions that carry some (citizens' documents on disk are chosen).
    upload_dir: Path | None = None
    upload_max_bytes: int = 5 * 1024 * 1024

    def outbox_key_bytes(self) -> bytes:
        """The 32-byte AES key of the outbox: required outside development, with an error that says how to make one."""
        how = ("make one with `python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'` and "
               "keep it in your secret store; losing it makes the submissions waiting in the outbox unreadable")
        if self.outbox_key is not None:
            try:
                key = base64.b64decode(self.outbox_key.get_secret_value(), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigError(f"MPP_OUTBOX_KEY is not base64: {how}") from None
            if len(key) != 32:
                raise ConfigError(f"MPP_OUTBOX_KEY must be 32 bytes, base64-encoded (it is {len(key)}): {how}")
            return key
        if self.environment != "development":
            raise ConfigError(f"MPP_OUTBOX_KEY is required outside development (MPP_ENVIRONMENT={self.environment}): "
                              f"{how}")
        warnings.warn("MPP_OUTBOX_KEY is not set: using the development key (never do this with real data)",
                      stacklevel=2)
        return _DEVELOPMENT_OUTBOX_KEY

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
