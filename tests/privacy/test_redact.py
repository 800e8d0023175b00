"""Redaction by value as well as by name: what an agency puts in free text must not reach a kept payload or a log."""

from __future__ import annotations

import logging

import pytest

from mpp_bus.privacy import REDACTED, RedactingFilter, mask_ids, redact, redact_text


@pytest.mark.parametrize(
    "text",
    [
        "3314051708900001",
        "3314 0517 0890 0001",
        "3314.0517.0890.0001",
        "3314-0517-0890-0001",
        "09.254.294.3-407.000",  # NPWP, 15 digits
        "092542943407000",
    ],
)
def test_identity_numbers_are_masked_however_written(text: str) -> None:
    out = redact_text(f"pemohon {text} mengajukan")
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits not in "".join(ch for ch in out if ch.isdigit() or ch == "*")
    assert f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}" in out


@pytest.mark.parametrize(
    "text,marker",
    [
        ("hubungi 0812-3456-7890", "[redacted phone]"),
        ("hubungi +62 812 3456 7890", "[redacted phone]"),
        ("hubungi 6281234567890", "[redacted phone]"),
        ("kantor (021) 555-1234", "[redacted phone]"),
        ("kantor +62 21 5551234", "[redacted phone]"),
        ("surel budi.santoso@example.co.id", "[redacted e-mail]"),
        ("kendaraan B 1234 XYZ", "[redacted plate]"),
        ("kendaraan AD1234AB", "[redacted plate]"),
        ("kendaraan DK 77 AB", "[redacted plate]"),
    ],
)
def test_phones_mails_and_plates_are_replaced(text: str, marker: str) -> None:
    out = redact_text(text)
    assert marker in out
    assert out.split(" ", 1)[0] == text.split(" ", 1)[0]  # the words around stay


@pytest.mark.parametrize(
    "text",
    ["REQ-2024-01234567", "capital 6250000000", "HTTP 503 Service Unavailable", "SOAP 1.1 at 2024-07-05 14:30:00",
     "Rp 1.500.000", "OSS-3314-000123", "unknown status 'LUNAS '"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_payloads_lose_personal_fields_by_name_and_values_anywhere() -> None:
    payload = {
        "id": "PBG-1",
        "nopol": "B 1234 XYZ",
        "no_hp": "081234567890",
        "npwp": "092542943407000",
        "keterangan": "atas nama 3314051708900001, kendaraan AB 12 CD, kontak budi@example.id",
        "items": [{"email_pemohon": "x@y.id"}, "08123456789"],
        "modal": 6250000000,
    }
    out = redact(payload)
    assert out["id"] == "PBG-1" and out["modal"] == 6250000000
    assert out["nopol"] == out["no_hp"] == out["npwp"] == REDACTED
    assert out["items"][0]["email_pemohon"] == REDACTED
    assert out["items"][1] == "[redacted phone]"
    kept = out["keterangan"]
    assert "3314051708900001" not in kept and "AB 12 CD" not in kept and "budi@example.id" not in kept


def test_record_ids_keep_their_shape_with_only_identity_numbers_masked() -> None:
    assert mask_ids("B 1234 XYZ/0812345678901") == "B 1234 XYZ/0812345678901"
    assert mask_ids("3314051708900001") == "33************01"


def test_the_log_filter_masks_message_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("mpp_bus.test.redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="mpp_bus.test.redaction"):
        logger.info("citizen %s called from %s about %s", "3314 0517 0890 0001", "0812-3456-7890", "B 1234 XYZ")
    text = caplog.text
    assert "0890" not in text and "3456-7890" not in text and "B 1234 XYZ" not in text
    assert "33************01" in text
