"""The NIK (Nomor Induk Kependudukan): validation, keyed hashing and masking.

The NIK is personal data (UU 27/2022). The store keeps only ``hash`` (HMAC-SHA256 with a configured secret, for
look-ups) and ``mask`` (for display). Nothing here ever puts a NIK into an exception message.
"""

from __future__ import annotations

import hashlib
import re

NIK_LENGTH = 16
_BLOCK = 64  # sha256's block size, for HMAC


def nik_problem(value: object) -> str | None:
    """Why ``value`` is not a valid NIK, or None when it is. The reason never repeats the value."""
    # This runs for every application of every sync: the common valid case is a regex match and two set look-ups.
    if not isinstance(value, str) or _SHAPE.match(value) is None:
        return "NIK must be exactly 16 digits" if isinstance(value, str) else "NIK must be a string of 16 digits"
    if value[0:2] == "00" or value[2:4] == "00" or value[4:6] == "00":
        return "NIK region code (digits 1-6) has a zero province, regency or district"
    day_month = value[6:10]
    if day_month not in _DAY_MONTHS or (day_month in _LEAP_DAYS and int(value[10:12]) % 4):
        return "NIK birth date (digits 7-12) is not a calendar date"
    if value[12:16] == "0000":
        return "NIK serial (digits 13-16) is 0000"
    return None


# ASCII digits only (\d would also take other scripts' digits); fullmatch semantics through \Z.
_SHAPE = re.compile(r"[0-9]{16}\Z")
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Every DDMM a NIK may hold: women have 40 added to the day of birth.
_DAY_MONTHS = frozenset(
    f"{day + offset:02d}{month:02d}"
    for month in range(1, 13)
    for day in range(1, _DAYS_IN_MONTH[month] + 1)
    for offset in (0, 40)
)
# 29 February needs a leap year. The two-digit year is ambiguous; 19yy or 20yy is a leap year exactly when yy is a
# multiple of 4 (2000 was one), so a date valid in either century is accepted.
_LEAP_DAYS = frozenset(("2902", "6902"))


def mask(nik: str) -> str:
    """Display form: the first two and last two digits, e.g. ``33************01``."""
    return f"{nik[:2]}{'*' * (NIK_LENGTH - 4)}{nik[-2:]}"


class NikHasher:
    """Keyed hashing of NIKs so the store can find a citizen's applications without keeping the NIK."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the NIK HMAC secret must be at least 16 bytes; set MPP_NIK_HMAC_SECRET")
        # HMAC-SHA256 (RFC 2104) from its two keyed sha256 states, prepared once: copying them per NIK is several
        # times cheaper than hmac.HMAC.copy() or hmac.digest(), which re-derive or wrap the key on every call.
        key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hash(self, nik: str) -> str:
        inner = self._inner.copy()
        inner.update(nik.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()
