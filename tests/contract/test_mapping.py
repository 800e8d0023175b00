"""Status mapping tables: exact codes first, then the table's declared normalisation and aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpp_bus.canonical import Status
from mpp_bus.contract import StatusMapping
from mpp_bus.errors import ConfigError, SkippableError

DOC = {
    "version": 4,
    "normalise": {"trim": True, "case": "upper", "spaces": True},
    "aliases": {"Selesai diproses": "SELESAI"},
    "statuses": {"BARU": "submitted", "LUNAS": "completed", "SELESAI": "completed", "DALAM PROSES": "in_process"},
}


@pytest.mark.parametrize("code", ["LUNAS", " Lunas", "lunas ", "LUNAS\t"])
def test_codes_in_inconsistent_case_and_spacing_are_found(code: str) -> None:
    assert StatusMapping.from_document(DOC, "statuses.yaml")(code) is Status.COMPLETED


@pytest.mark.parametrize("code", ["dalam_proses", "Dalam  Proses", "DALAM-PROSES"])
def test_separators_collapse(code: str) -> None:
    assert StatusMapping.from_document(DOC, "statuses.yaml")(code) is Status.IN_PROCESS


def test_aliases_point_at_listed_codes() -> None:
    mapping = StatusMapping.from_document(DOC, "statuses.yaml")
    assert mapping("selesai DIPROSES") is Status.COMPLETED
    with pytest.raises(ConfigError, match="not among its statuses"):
        StatusMapping.from_document({**DOC, "aliases": {"X": "NOPE"}}, "statuses.yaml")


def test_without_normalisation_lookups_stay_exact() -> None:
    mapping = StatusMapping.from_document({"statuses": {"LUNAS": "completed"}}, "s.yaml")
    with pytest.raises(SkippableError) as caught:
        mapping(" Lunas")
    message = str(caught.value)
    assert "' Lunas'" in message and "s.yaml" in message and "mpp-bus quarantine retry" in message


def test_missing_lists_only_what_no_rule_covers() -> None:
    mapping = StatusMapping.from_document(DOC, "statuses.yaml")
    assert mapping.missing([" lunas", "BARU", "Ditolak", "ditolak"]) == ["Ditolak", "ditolak"]


def test_an_adapter_can_bring_its_own_cleaning() -> None:
    mapping = StatusMapping.from_document({"statuses": {"10": "submitted"}}, "s.yaml")
    cleaned = mapping.with_normaliser(lambda code: code.lstrip("0") or "0")
    assert cleaned("010") is Status.SUBMITTED


@pytest.mark.parametrize("bad", [{"case": "title"}, {"trim": True, "unknown": 1}, "yes"])
def test_bad_normalise_options_say_what_is_allowed(bad: object) -> None:
    with pytest.raises(ConfigError, match="normalise"):
        StatusMapping.from_document({**DOC, "normalise": bad}, "statuses.yaml")


def test_shipped_tables_load(tmp_path: Path) -> None:
    for path in Path("adapters").glob("*/statuses.yaml"):
        assert StatusMapping.load(path).table
