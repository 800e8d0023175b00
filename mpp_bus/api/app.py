"""The read API and citizen pages as one FastAPI app.

Build it from the environment (what ``mpp-bus api serve`` does)::

    app = app_from_env()                          # MPP_* and MPP_API_* settings, the agencies file, the store

or from parts, as tests do::

    store = create_store("sqlite:///var/portal.db", upgrade=True)
    app = create_app(build_context(store, ApiSettings(), environment="test", hasher=NikHasher(secret)))
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from mpp_bus import __version__
from mpp_bus.api import admin, apply_pages, catalog, identity, pages, performance, submissions, tracking
from mpp_bus.api.audit import AuditLog
from mpp_bus.api.auth import TokenVerifier
from mpp_bus.api.context import ApiContext, FormLookup, IdentityLookup, IdentityMatch
from mpp_bus.api.csrf import CsrfCookieMiddleware
from mpp_bus.api.jwks import JwksKeys
from mpp_bus.api.logs import redact_server_logs
from mpp_bus.api.oidc import OidcProvider
from mpp_bus.api.security import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    content_security_policy,
    inline_hashes,
    install_error_pages,
)
from mpp_bus.api.settings import ApiSettings
from mpp_bus.api.submissions import UPLOAD_PATH
from mpp_bus.bus import Bus
from mpp_bus.config import Settings
from mpp_bus.contract import Adapter, build_adapter
from mpp_bus.engine.outbox import Outbox
from mpp_bus.engine.uploads import UploadStore
from mpp_bus.errors import ConfigError
from mpp_bus.privacy import NikHasher
from mpp_bus.store import Store, create_store

DESCRIPTION = """\
The read side of the MPP Digital integration bus: the unified service catalog, a citizen's applications across
agencies with their status history, SLA due dates and freshness, agency health for admins, performance reports, and
the identity look-up for the portal's sign-up.

Every call carries a bearer token (JWT) from the portal's single sign-on. A citizen's token holds their NIK as a
claim and reads only that citizen's applications; admin endpoints need the admin role; the identity look-up needs the
identity-verifier role. Every read of personal data is written to an audit log (who, what, when, purpose) without the
clear NIK; callers may state their purpose in the `X-Purpose` header.
"""


def build_context(store: Store, settings: ApiSettings, *, environment: str, hasher: NikHasher | None = None,
                  identity: IdentityLookup | None = None, outbox: Outbox | None = None,
                  uploads: UploadStore | None = None, forms: FormLookup | None = None) -> ApiContext:
    """Assemble what the handlers need; without ``outbox`` and ``forms`` the portal takes no applications."""
    hasher = hasher or NikHasher(Settings(environment=environment).nik_secret())  # type: ignore[arg-type]  # validated by Settings
    audit = AuditLog(store)
    oidc = OidcProvider(settings) if settings.oidc_issuer else None
    keys = oidc.keys if oidc is not None else None
    if keys is None and settings.jwks_url:
        jwks_url = settings.jwks_url
        keys = JwksKeys(lambda: jwks_url, min_refresh_seconds=settings.jwks_min_refresh_seconds,
                        cache_seconds=settings.jwks_cache_seconds, timeout=settings.oidc_timeout_seconds)
    return ApiContext(settings=settings, environment=environment, store=store,
                      tokens=TokenVerifier(settings, environment, hasher, keys=keys), audit=audit, identity=identity,
                      oidc=oidc, outbox=outbox, uploads=uploads, forms=forms)


def create_app(ctx: ApiContext) -> FastAPI:
    # the API's map helps attackers as much as integrators: off in production unless MPP_API_DOCS_ENABLED says so
    docs = ctx.settings.docs_on(ctx.environment)
    app = FastAPI(
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        title="mpp-bus portal API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "catalog", "description": "The unified service catalog (informasi pelayanan)."},
            {"name": "tracking", "description": "A citizen's own applications (penelusuran dokumen)."},
            {"name": "reports", "description": "Performance per agency and service (pelaporan kinerja)."},
            {"name": "identity", "description": "Identity verification for the portal's sign-up."},
            {"name": "submissions", "description": "A citizen's applications carried to the agency (pengajuan "
                                                    "permohonan), with the requirements already held."},
            {"name": "admin", "description": "Operations: sync runs, quarantine, agency health, audit log."},
        ],
    )
    app.state.context = ctx
    for module in (catalog, tracking, submissions, performance, identity, admin, apply_pages, pages):
        app.include_router(module.router)
    install_error_pages(app)
    # The last added runs first: headers go on every response, the 413s and the CSRF cookie's included.
    app.add_middleware(CsrfCookieMiddleware,
                       secure=ctx.settings.cookie_secure or ctx.environment == "production")
    uploads_limit = ctx.uploads.max_bytes if ctx.uploads is not None else ctx.settings.max_body_bytes
    app.add_middleware(BodyLimitMiddleware, max_bytes=ctx.settings.max_body_bytes,
                       by_prefix={UPLOAD_PATH: max(uploads_limit, ctx.settings.max_body_bytes)})
    # "Keluar" is a form whose answer redirects to the single sign-on's logout: its origin must be a form target
    sso = urlsplit(ctx.settings.oidc_issuer or "")
    app.add_middleware(SecurityHeadersMiddleware, policy=content_security_policy(
        inline_hashes(), [f"{sso.scheme}://{sso.netloc}"] if sso.netloc else []))
    return app


def bus_identity_lookup(bus: Bus, agency_id: str) -> IdentityLookup:
    """The identity look-up through the configured Dukcapil instance's adapter, opened for each call."""

    def lookup(nik: str, name: str, birth_date: date) -> IdentityMatch:
        with bus.adapter(agency_id) as adapter:
            verify = getattr(adapter, "verify_identity", None)
            if verify is None:
                raise ConfigError(f"agency {agency_id} (adapter {adapter.name}) offers no identity look-up; set "
                                  "MPP_API_DUKCAPIL_AGENCY to the Dukcapil instance")
            match: IdentityMatch = verify(nik, name, birth_date)
            return match

    return lookup


def bus_form_lookup(bus: Bus) -> FormLookup:
    """The form schemas of the services, from each agency's adapter (kept as data with it), opened once per agency."""
    cache: dict[str, Adapter[Any]] = {}

    def lookup(agency_id: str, service_code: str) -> dict[str, Any] | None:
        if agency_id not in cache:
            try:
                instance = bus.instance(agency_id)
            except ConfigError:
                return None
            cache[agency_id] = build_adapter(instance, bus.connections(instance.connection_id))
        return cache[agency_id].form_schema(service_code)

    return lookup


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory``: settings from the environment, the store migrated to its latest schema."""
    redact_server_logs()
    settings, api_settings = Settings(), ApiSettings()
    bus = Bus.from_settings(settings)
    bus.store.upgrade()
    ctx = build_context(bus.store, api_settings, environment=settings.environment,
                        hasher=NikHasher(settings.nik_secret()),
                        identity=bus_identity_lookup(bus, api_settings.dukcapil_agency),
                        outbox=bus.outbox, uploads=bus.uploads, forms=bus_form_lookup(bus))
    return create_app(ctx)


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI document as committed in ``docs/openapi.json`` (stable key order, trailing newline)."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def reference_app() -> FastAPI:
    """An app whose OpenAPI document does not depend on the environment or a real store."""
    store = create_store("sqlite://")
    settings = ApiSettings(jwt_secret="x" * 32)  # type: ignore[arg-type]  # pydantic makes the SecretStr
    return create_app(build_context(store, settings, environment="test", hasher=NikHasher(b"0" * 32)))
