"""The adapter contract: the base class, stream and page types, status mapping tables and the registry."""

from __future__ import annotations

from mpp_bus.contract.adapter import Adapter, AdapterConfig
from mpp_bus.contract.mapping import StatusMapping
from mpp_bus.contract.registry import adapter_entry_points, adapter_type, build_adapter
from mpp_bus.contract.stream import (
    CONDITIONAL,
    STREAM_ENTITY,
    CheckResult,
    Cursor,
    Page,
    Reject,
    StreamName,
    StreamSpec,
    SyncMode,
    conditional_cursor,
)
from mpp_bus.contract.submission import (
    DocumentRef,
    FieldProblem,
    FormSchemas,
    Receipt,
    Submission,
    UploadedFile,
    form_problems,
    prefill_sources,
)

__all__ = [
    "CONDITIONAL",
    "STREAM_ENTITY",
    "Adapter",
    "AdapterConfig",
    "CheckResult",
    "Cursor",
    "DocumentRef",
    "FieldProblem",
    "FormSchemas",
    "Page",
    "Receipt",
    "Reject",
    "StatusMapping",
    "StreamName",
    "StreamSpec",
    "Submission",
    "SyncMode",
    "UploadedFile",
    "adapter_entry_points",
    "adapter_type",
    "build_adapter",
    "conditional_cursor",
    "form_problems",
    "prefill_sources",
]
