"""Sealing personal data at rest: AES-256-GCM over a JSON value, bound to the row it belongs to.

The outbox keeps a citizen's clear NIK and form only until the agency has them; while it waits they are sealed here.
The associated data (the submission's reference) ties a sealed value to its row, so a value copied onto another row
does not open.

Example::

    sealer = Sealer(settings.outbox_key_bytes())
    blob = sealer.seal({"nik": "3314...", "form": {...}}, context="MPP-1f3a...")
    sealer.open(blob, context="MPP-1f3a...")
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
VERSION = b"\x01"


class SealError(ValueError):
    """A sealed value does not open: another key, another row, or tampered with."""


class Sealer:
    """AES-256-GCM with a random 96-bit nonce per value; ``digest`` is a keyed hash of a value (to compare two
    requests without keeping either in clear)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the sealing key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self._digest_key = hashlib.sha256(b"mpp-bus digest|" + key).digest()

    def seal(self, value: Any, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        return VERSION + nonce + self._aead.encrypt(nonce, plain, context.encode())

    def open(self, blob: bytes, *, context: str) -> Any:
        if blob[:1] != VERSION or len(blob) < 1 + NONCE_BYTES + 16:
            raise SealError("not a sealed value of this version")
        try:
            plain = self._aead.decrypt(blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise SealError("the sealed value does not open with this key for this row (wrong MPP_OUTBOX_KEY?)") \
                from None
        return json.loads(plain)

    def digest(self, value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()
        return hmac.new(self._digest_key, text, hashlib.sha256).hexdigest()
