from __future__ import annotations

import pytest

from mpp_bus.privacy import NikHasher, mask, nik_problem, redact, redact_text

VALID = [
    "3314051708900001",  # man born 17-08-1990 in Sragen
    "3314055708900002",  # woman: day + 40
    "1101012902000003",  # 29 Feb 2000
]


@pytest.mark.parametrize("nik", VALID)
def test_valid_niks(nik: str) -> None:
    assert nik_problem(nik) is None


@pytest.mark.parametrize(
    "nik,why",
    [
        ("331405170890001", "16 digits"),
        ("33140517089000011", "16 digits"),
        ("33140517089O0001", "16 digits"),
        ("٣٣١٤٠٥١٧٠٨٩٠٠٠٠١", "16 digits"),  # Arabic-Indic digits are digits to str.isdigit
        ("0014051708900001", "zero province"),
        ("3314051713900001", "calendar date"),
        ("3314053208900001", "calendar date"),
        ("3314057208900001", "calendar date"),  # 72 - 40 = 32
        ("3314052902010001", "calendar date"),  # 29 Feb in a non-leap year either century
        ("3314051708900000", "0000"),
        (3314051708900001, "string"),
    ],
)
def test_invalid_niks_say_why_without_the_value(nik: object, why: str) -> None:
    problem = nik_problem(nik)
    assert problem and why in problem
    assert str(nik) not in problem


def test_hash_is_keyed_and_stable() -> None:
    a, b = NikHasher(b"k" * 32), NikHasher(b"j" * 32)
    assert a.hash(VALID[0]) == a.hash(VALID[0]) != b.hash(VALID[0])
    assert len(a.hash(VALID[0])) == 64 and VALID[0] not in a.hash(VALID[0])


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="MPP_NIK_HMAC_SECRET"):
        NikHasher(b"short")


def test_mask_shows_only_four_digits() -> None:
    assert mask(VALID[0]) == "33************01"


def test_redact_removes_personal_fields_and_masks_nik_runs_anywhere() -> None:
    payload = {
        "id": "A-1",
        "nik_pemohon": VALID[0],
        "NamaLengkap": "Siti Aminah",
        "note": f"pemohon {VALID[1]} datang",
        "nested": [{"ref": int(VALID[2])}],
        "amount": 15000,
    }
    out = redact(payload)
    text = str(out)
    assert all(n not in text for n in VALID) and "Siti" not in text
    assert out["id"] == "A-1" and out["amount"] == 15000
    assert redact_text("x 1234567890123456 y") == "x 12************56 y"
