"""Dukcapil, the population registry: SOAP 1.1 with WS-Security."""

from __future__ import annotations

from adapters.dukcapil.adapter import DukcapilAdapter, DukcapilConfig, IdentityMatch

__all__ = ["DukcapilAdapter", "DukcapilConfig", "IdentityMatch"]
