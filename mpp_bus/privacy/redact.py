"""Redaction of agency payloads, messages and log lines before they are kept (quarantine, run errors, logs).

Two nets, because agencies name their fields in many ways and put personal data in free text:

- by name: a field whose name looks personal (``nama``, ``alamat``, ``nopol``, ``email`` ...) is dropped whole;
- by value: wherever text appears, NIK-like and NPWP-like digit runs (also written with spaces, dots or dashes),
  Indonesian phone numbers, e-mail addresses and vehicle number plates are masked.

False positives cost nothing (an admin sees ``[redacted plate]`` where a service code was); a leak costs much.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

# 15 or 16 digits, optionally split by one space, dot or dash between any two digits: a NIK (16), an NPWP (15,
# written 99.999.999.9-999.999, or 16 since the NIK became the NPWP), a KK number (16).
_ID_RUN = re.compile(r"(?<![\d])\d(?:[ .\-]?\d){14,15}(?![\d])")
# Indonesian phone numbers: mobiles (08xx, 628xx, +62 8xx) with optional separators, and landlines written with
# the country code (+62 21 ...) or the area code in brackets ((021) 555-1234). A bare number starting 0 is not taken:
# agency ids and amounts look like that.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+62[ .\-]?|62|0)8\d(?:[ .\-]?\d){6,10}(?!\d)"
    r"|(?<![\w+])\+62[ .\-]?\(?[1-79]\d{0,2}\)?(?:[ .\-]?\d){5,8}(?!\d)"
    r"|\(0\d{1,3}\)[ .\-]?\d{3,4}[ .\-]?\d{3,4}(?!\d)"
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Vehicle plates: a region prefix (Kepolisian codes), 1-4 digits, 1-3 letters: "B 1234 XYZ", "AD1234AB".
_PLATE_REGIONS = (
    "AA|AB|AD|AE|AG|BA|BB|BD|BE|BG|BH|BK|BL|BM|BN|BP|DA|DB|DC|DD|DE|DG|DH|DK|DL|DM|DN|DR|DS|DT|EA|EB|ED|KB|KH|KT|KU"
    "|PA|PB|A|B|D|E|F|G|H|K|L|M|N|P|R|S|T|W|Z"  # two-letter codes first, so the longest prefix is taken
)
_PLATE = re.compile(rf"\b(?:{_PLATE_REGIONS})[ \-]?\d{{1,4}}[ \-]?[A-Z]{{1,3}}\b")
_PERSONAL_KEYS = re.compile(
    r"(nik|nama|name|birth|lahir|ttl|alamat|address|phone|telp|telepon|ponsel|hp\b|handphone|whatsapp|wa\b|email"
    r"|e_mail|surel|ibu|mother|npwp|nopol|plat|plate|no_?kk|kartu_?keluarga|ktp|rekening|account_no)",
    re.I,
)
REDACTED = "[redacted]"
# A kept payload is for a person to read why a record was refused: bounded, so a hostile agency cannot fill the store.
MAX_TEXT = 1000
MAX_ITEMS = 200
MAX_DEPTH = 12


def _mask_id(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


def mask_ids(text: str) -> str:
    """``text`` with NIK- and NPWP-like numbers masked, and nothing else changed: for agency record ids, which must
    stay recognisable (and re-readable) while a NIK used as an id must not show."""
    return _ID_RUN.sub(_mask_id, text) if text else text


def redact_text(text: str) -> str:
    """``text`` with every NIK- or NPWP-like number masked (``33************01``) and phone numbers, e-mail addresses
    and vehicle plates replaced by a marker."""
    if not text:
        return text
    text = _EMAIL.sub("[redacted e-mail]", text)
    text = _ID_RUN.sub(_mask_id, text)
    text = _PHONE.sub("[redacted phone]", text)
    return _PLATE.sub("[redacted plate]", text)


def is_personal_key(key: object) -> bool:
    """Whether a field of this name holds personal data and is dropped whole from kept payloads."""
    return _PERSONAL_KEYS.search(str(key)) is not None


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON-like payload with personal fields removed and personal values masked anywhere; long texts,
    long lists and deep nesting are cut (``MAX_TEXT``, ``MAX_ITEMS``, ``MAX_DEPTH``)."""
    if _depth >= MAX_DEPTH:
        return "[cut: nested too deep]"
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {redact_text(str(k)[:MAX_TEXT]): (REDACTED if is_personal_key(k) else redact(v, _depth + 1))
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
        redacted = redact_text(text)
        return _cut(redacted) if redacted != text or len(text) > MAX_TEXT else value
    return _cut(redact_text(str(value)))


class RedactingFilter(logging.Filter):
    """A logging filter that masks personal data in every record it passes (message and arguments, rendered once).

    Put it on the handlers that write logs (``mpp-bus`` does for its console, the API for its access log), so a
    NIK, phone number or plate that reaches a log call by accident never reaches the log::

        handler.addFilter(RedactingFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            # Mask argument by argument first: formatters such as uvicorn's access log unpack ``args`` themselves.
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _cut(text: str) -> str:
    # Cut before masking could split a NIK: masking ran first, on the whole text.
    return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}[cut: {len(text) - MAX_TEXT} more characters]"
