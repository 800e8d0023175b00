"""The portal's read API and citizen pages (FastAPI).

Serve it with ``mpp-bus api serve``; its OpenAPI document is committed as ``docs/openapi.json``
(``mpp-bus api openapi check`` fails when it drifts). For tests and embedding::

    store = create_store("sqlite:///var/portal.db", upgrade=True)
    app = create_app(build_context(store, ApiSettings(), environment="development"))
"""

from __future__ import annotations

from mpp_bus.api.app import app_from_env, build_context, bus_identity_lookup, create_app, openapi_document
from mpp_bus.api.audit import AuditLog, Outcome
from mpp_bus.api.auth import AuthenticationError, Principal, TokenVerifier, issue_token
from mpp_bus.api.context import ApiContext
from mpp_bus.api.settings import ApiSettings

__all__ = [
    "ApiContext",
    "ApiSettings",
    "AuditLog",
    "AuthenticationError",
    "Outcome",
    "Principal",
    "TokenVerifier",
    "app_from_env",
    "build_context",
    "bus_identity_lookup",
    "create_app",
    "issue_token",
    "openapi_document",
]
