"""Redaction of agency payloads before they are kept (quarantine, logs, debugging)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Any run of 16 digits is treated as a NIK wherever it appears; false positives cost nothing, a leak costs much.
_NIK_RUN = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PERSONAL_KEYS = re.compile(r"(nik|nama|name|birth|lahir|alamat|address|phone|telp|email|ibu|mother)", re.I)
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    """Replace every 16-digit run in ``text`` by a masked form."""
    return _NIK_RUN.sub(lambda m: f"{m.group()[:2]}{'*' * 12}{m.group()[-2:]}", text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like payload with personal fields removed and NIK-like numbers masked anywhere."""
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if _PERSONAL_KEYS.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value)
        return redact_text(text) if _NIK_RUN.search(text) else value
    return redact_text(str(value))
