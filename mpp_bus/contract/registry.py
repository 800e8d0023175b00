"""Adapter types are found through the entry-point group ``mpp_bus.adapters``, so third parties ship their own."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from mpp_bus.config.agencies import AgencyInstance
from mpp_bus.config.connections import Connection
from mpp_bus.contract.adapter import Adapter
from mpp_bus.errors import ConfigError

GROUP = "mpp_bus.adapters"


@cache
def adapter_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def adapter_type(name: str) -> type[Adapter[Any]]:
    """The adapter class registered as ``name``; an unknown name fails with the list of known ones."""
    eps = adapter_entry_points()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "(none: is the package installed?)"
        raise ConfigError(f"unknown adapter type {name!r}; installed adapter types: {known}")
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise ConfigError(f"entry point {name!r} ({eps[name].value}) is not an mpp_bus Adapter subclass")
    return cls


def build_adapter(instance: AgencyInstance, connection: Connection | None = None,
                  **options: Any) -> Adapter[Any]:
    """The adapter for one configured agency instance (``options``, such as ``session=``, go to its constructor)."""
    return adapter_type(instance.adapter).from_instance(instance, connection, **options)
