"""The tax office, DJP style: REST with an API key header, page numbers, integer statuses and WIB local times."""

from __future__ import annotations

from adapters.tax.adapter import TaxAdapter, TaxConfig

__all__ = ["TaxAdapter", "TaxConfig"]
