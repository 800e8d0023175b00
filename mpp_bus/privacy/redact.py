"""Redaction of agency payloads before they are kept (quarantine, logs, debugging)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Any run of 16 digits is treated as a NIK wherever it appears; false positives cost nothing, a leak costs much.
_NIK_RUN = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PERSONAL_KEYS = re.compile(r"(nik|nama|name|birth|lahir|alamat|address|phone|telp|email|ibu|mother)", re.I)
REDACTED = "[redacted]"
# A kept payload is for a person to read why a record was refused: bounded, so a hostile agency cannot fill the store.
MAX_TEXT = 1000
MAX_ITEMS = 200
MAX_DEPTH = 12


def redact_text(text: str) -> str:
    """Replace every 16-digit run in ``text`` by a masked form."""
    return _NIK_RUN.sub(lambda m: f"{m.group()[:2]}{'*' * 12}{m.group()[-2:]}", text)


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON-like payload with personal fields removed and NIK-like numbers masked anywhere; long texts,
    long lists and deep nesting are cut (``MAX_TEXT``, ``MAX_ITEMS``, ``MAX_DEPTH``)."""
    if _depth >= MAX_DEPTH:
        return "[cut: nested too deep]"
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {str(k)[:MAX_TEXT]: (REDACTED if _PERSONAL_KEYS.search(str(k)) else redact(v, _depth + 1))
               for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["[cut]"] = f"{len(items) - MAX_ITEMS} more fields"
        return out
    if isinstance(value, (list, tuple)):
        kept = [redact(v, _depth + 1) for v in value[:MAX_ITEMS]]
        return kept + ([f"[cut: {len(value) - MAX_ITEMS} more items]"] if len(value) > MAX_ITEMS else [])
    if isinstance(value, str):
        return _cut(redact_text(value))
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value) if value.bit_length() < 4000 else "[cut: a very large number]"
        return _cut(redact_text(text)) if _NIK_RUN.search(text) or len(text) > MAX_TEXT else value
    return _cut(redact_text(str(value)))


def _cut(text: str) -> str:
    # Cut before masking could split a NIK: masking ran first, on the whole text.
    return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}[cut: {len(text) - MAX_TEXT} more characters]"
