"""Personal data protection: NIK validation, keyed hashing, masking and payload redaction."""

from __future__ import annotations

from mpp_bus.privacy.nik import NikHasher, mask, nik_problem
from mpp_bus.privacy.redact import REDACTED, RedactingFilter, is_personal_key, mask_ids, redact, redact_text
from mpp_bus.privacy.seal import Sealer, SealError

__all__ = [
    "REDACTED",
    "NikHasher",
    "RedactingFilter",
    "SealError",
    "Sealer",
    "is_personal_key",
    "mask",
    "mask_ids",
    "nik_problem",
    "redact",
    "redact_text",
]
