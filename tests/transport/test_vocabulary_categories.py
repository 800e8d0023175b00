"""Agency categories onto the canonical ones: a table of data per adapter; an unknown code names that table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mock_agencies.catalogs import (
    DUKCAPIL_SERVICES,
    OSS_SERVICES,
    PROVINSI_SERVICES,
    TAX_SERVICES,
    regional_services,
)
from mpp_bus.canonical import Category, category_label
from mpp_bus.errors import ConfigError, SkippableError
from mpp_bus.transport import Vocabulary, converter, note

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"


def test_an_agency_category_maps_and_an_unknown_one_is_skippable_naming_the_table():
    vocab = Vocabulary.from_document({"version": 4, "categories": {"health": "kesehatan"}}, "vocabulary.yaml")
    assert vocab.category_of("health") == "kesehatan"
    assert converter("category", vocabulary=vocab).read("health", {}) == "kesehatan"
    with pytest.raises(SkippableError, match=r"unknown category 'tourism': add it under `categories` in "
                                             r"vocabulary.yaml \(version 4\)"):
        vocab.category_of("tourism")
    with pytest.raises(ConfigError, match="wisata"):
        Vocabulary.from_document({"categories": {"tourism": "wisata"}}, "vocabulary.yaml")


def test_every_category_a_mock_agency_serves_is_in_its_adapters_table():
    catalogs = {"dukcapil": DUKCAPIL_SERVICES, "tax": TAX_SERVICES, "jateng": PROVINSI_SERVICES,
                "licensing": OSS_SERVICES + regional_services("dpmptsp-3314", "KABUPATEN SRAGEN")}
    for adapter, services in catalogs.items():
        table = yaml.safe_load((ADAPTERS / adapter / "vocabulary.yaml").read_text("utf-8"))["categories"]
        assert {s.category for s in services} <= set(table), adapter
        assert {Category(v) for v in table.values()}  # every target is canonical


def test_labels_are_indonesian_and_old_codes_show_as_they_are():
    assert category_label("perizinan_usaha") == "Perizinan berusaha"
    assert category_label("Perizinan") == "Perizinan"  # stored before the vocabulary, until the next catalog sync
    assert all(c.label and "_" not in c.label for c in Category)


def test_a_note_is_free_text_collapsed_and_cut():
    assert note(None) is None and note("  ") is None
    assert note(" Lengkapi\n  surat permohonan. ") == "Lengkapi surat permohonan."
    assert len(note("x" * 5000) or "") == 1000
