"""The tax office (Direktorat Jenderal Pajak), wired declaratively: everything specific to the agency is in
``spec.yaml`` (with ``statuses.yaml`` and ``vocabulary.yaml``); this class only names the type and ships the spec,
so the ``tax`` entry point keeps working for existing agency instances (``config: {base_url: ...}``)."""

from __future__ import annotations

from pathlib import Path

from mpp_bus.contract import StatusMapping
from mpp_bus.declarative import RestAdapter, RestConfig

HERE = Path(__file__).parent

TaxConfig = RestConfig


class TaxAdapter(RestAdapter):
    name = "tax"
    version = "2.0.0"
    wraps = "DJP-style tax services REST API v2, API key header (declarative spec)"
    spec_path = HERE / "spec.yaml"
    status_mapping = StatusMapping.load(HERE / "statuses.yaml")
