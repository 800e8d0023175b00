"""Personal data protection: NIK validation, keyed hashing, masking and payload redaction."""

from __future__ import annotations

from mpp_bus.privacy.nik import NikHasher, mask, nik_problem
from mpp_bus.privacy.redact import REDACTED, redact, redact_text

__all__ = ["REDACTED", "NikHasher", "mask", "nik_problem", "redact", "redact_text"]
