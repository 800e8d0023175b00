"""Dukcapil's live identity look-up."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from adapters.dukcapil import IdentityMatch
from mpp_bus.errors import AdapterError


@pytest.fixture(scope="module")
def citizen(kit):
    return kit.admin("dukcapil", "GET", "/admin/citizens?start=3&limit=1")["citizens"][0]


def test_verify_identity_match(kit, citizen):
    match = kit.build("dukcapil").verify_identity(citizen["nik"], citizen["nama_lengkap"],
                                                     date.fromisoformat(citizen["tanggal_lahir"]))
    assert match == IdentityMatch(True, True, True) and match.matches


def test_verify_identity_reports_each_mismatch(kit, citizen):
    adapter = kit.build("dukcapil")
    born = date.fromisoformat(citizen["tanggal_lahir"])
    assert adapter.verify_identity(citizen["nik"], "Nama Lain", born) == IdentityMatch(True, False, True)
    assert adapter.verify_identity(citizen["nik"], citizen["nama_lengkap"], born + timedelta(days=1)) == \
        IdentityMatch(True, True, False)
    unknown = citizen["nik"][:12] + ("9999" if citizen["nik"][12:] != "9999" else "9998")
    assert not adapter.verify_identity(unknown, citizen["nama_lengkap"], born).nik_found


def test_verify_identity_rejects_a_non_nik_without_calling(kit):
    assert kit.build("dukcapil").verify_identity("123", "X", date(2000, 1, 1)) == IdentityMatch(False, False, False)


def test_verify_identity_errors_never_carry_the_nik_or_name(kit, citizen):
    adapter = kit.build("dukcapil", {"login": "mpp-bus", "password": "x9-wrong-secret"})
    with pytest.raises(AdapterError) as info:
        adapter.verify_identity(citizen["nik"], citizen["nama_lengkap"], date(2000, 1, 1))
    text = str(info.value)
    assert citizen["nik"] not in text and citizen["nama_lengkap"] not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
