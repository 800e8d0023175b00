"""The transport package's public names: what __all__ lists is importable, and nothing public is left out."""

from __future__ import annotations

import pkgutil

import mpp_bus.transport as transport

SUBMODULES = {m.name for m in pkgutil.iter_modules(transport.__path__)}


def test_all_is_complete_and_importable():
    public = {n for n in dir(transport) if not n.startswith("_") and n not in {"annotations", *SUBMODULES}}
    assert set(transport.__all__) == public
    assert len(transport.__all__) == len(set(transport.__all__))
