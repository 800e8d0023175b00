"""What every request handler needs, built once per app, and the FastAPI dependencies that hand it out.

Handlers ask for a role, not for a token::

    @router.get("/things")
    def things(who: Principal = Depends(require_admin), ctx: ApiContext = Depends(context)) -> ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mpp_bus.api.audit import AuditEntry, AuditLog, Outcome
from mpp_bus.api.auth import AuthenticationError, Principal, TokenVerifier
from mpp_bus.api.limits import ApiLimits
from mpp_bus.api.oidc import OidcProvider
from mpp_bus.api.purposes import allowed_purpose
from mpp_bus.api.session import SessionManager
from mpp_bus.api.settings import ApiSettings
from mpp_bus.engine.outbox import Outbox
from mpp_bus.engine.uploads import UploadStore
from mpp_bus.privacy import redact_text
from mpp_bus.store import Store


class IdentityMatch(Protocol):
    nik_found: bool
    name_matches: bool
    birth_date_matches: bool


IdentityLookup = Callable[[str, str, date], IdentityMatch]
FormLookup = Callable[[str, str], "dict[str, Any] | None"]
"""The JSON Schema of the form a service (agency id, service code) takes, from its adapter; None when it takes none."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiContext:
    """The store, the token verifier, the audit log and the identity look-up of one app."""

    settings: ApiSettings
    environment: str
    store: Store
    tokens: TokenVerifier
    audit: AuditLog
    identity: IdentityLookup | None = None
    # The write direction: where submissions are accepted, uploads kept, and forms found (None: not offered).
    outbox: Outbox | None = None
    uploads: UploadStore | None = None
    forms: FormLookup | None = None
    clock: Callable[[], datetime] = field(default=_utcnow)
    oidc: OidcProvider | None = None  # the single sign-on the citizen pages sign in with; None: not configured

    @property
    def sessions(self) -> SessionManager:
        """The citizen pages' server-side sessions, on this app's store and clock."""
        return SessionManager(self.store, self.settings, self.environment, self.clock)

    @cached_property
    def limits(self) -> ApiLimits:
        return ApiLimits(self.store, self.settings)

    def audit_read(self, who: Principal, action: str, resource: str, *, subject_nik_hash: str | None,
                   purpose: str, outcome: Outcome = Outcome.ALLOWED) -> None:
        # The resource is built from the URL: a NIK typed into a path must not reach the audit table.
        self.audit.record(
            AuditEntry(who.subject, role_of(who, self.settings), action, redact_text(resource), subject_nik_hash,
                       purpose, outcome),
            at=self.clock(),
        )


def role_of(who: Principal, settings: ApiSettings) -> str:
    for role in (settings.admin_role, settings.verifier_role):
        if role in who.roles:
            return role
    return "citizen" if who.is_citizen else "user"


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


bearer = HTTPBearer(auto_error=False, bearerFormat="JWT",
                    description="A token from the portal's single sign-on; citizens carry their NIK as a claim.")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message,
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Principal:
    """The authenticated caller; 401 without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        return ctx.tokens.principal(credentials.credentials)
    except AuthenticationError as exc:
        raise _unauthorized(str(exc)) from None


def require_citizen(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_citizen:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs a citizen's token carrying a NIK claim")
    return who


def require_admin(who: Annotated[Principal, Depends(principal)],
                  ctx: Annotated[ApiContext, Depends(context)]) -> Principal:
    if ctx.settings.admin_role not in who.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this endpoint needs the {ctx.settings.admin_role!r} role")
    return who


def require_verifier(who: Annotated[Principal, Depends(principal)],
                     ctx: Annotated[ApiContext, Depends(context)]) -> Principal:
    if ctx.settings.verifier_role not in who.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this endpoint needs the {ctx.settings.verifier_role!r} role")
    return who


def purpose(
    ctx: Annotated[ApiContext, Depends(context)],
    x_purpose: Annotated[str | None, Header(max_length=200, description="Why the caller reads personal data, one "
                                                                        "of the configured purposes (MPP_API_"
                                                                        "PURPOSES); kept in the audit log. An "
                                                                        "unknown purpose answers 400.")] = None,
) -> str | None:
    return None if x_purpose is None else allowed_purpose(x_purpose, ctx.settings.purposes)


Context = Annotated[ApiContext, Depends(context)]
Caller = Annotated[Principal, Depends(principal)]
Citizen = Annotated[Principal, Depends(require_citizen)]
Admin = Annotated[Principal, Depends(require_admin)]
Verifier = Annotated[Principal, Depends(require_verifier)]
Purpose = Annotated[str | None, Depends(purpose)]
