"""Declarative REST adapters: an agency whose API is plain REST JSON is wired by configuration alone.

The adapter type ``rest`` (``RestAdapter``) reads a spec (base URL, auth, streams with path, parameters, paginator,
record path, field mapping with named converters, status mapping table, incremental cursor field) from the agency
instance's config or from a YAML file; see ``mpp_bus.declarative.spec`` for the format.
"""

from __future__ import annotations

from mpp_bus.declarative.adapter import RestAdapter, RestConfig
from mpp_bus.declarative.spec import RestSpec, load_spec, read_spec_file

__all__ = ["RestAdapter", "RestConfig", "RestSpec", "load_spec", "read_spec_file"]
