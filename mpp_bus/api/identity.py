"""Identity verification for the portal's sign-up, through the Dukcapil adapter's live look-up.

Dukcapil's data is verified, never copied: the answer is three booleans. Each caller may try each NIK only a few
times per window (so nobody can guess a name or birth date by trial), each caller a bounded number of times (so the
registry is not flooded), and all callers together a NIK a higher number of times per short window; see
``mpp_bus.api.limits`` for why a stranger cannot lock the owner out. The limits are counters in the store, taken by
atomic upserts, so they hold across API processes. Every attempt, refused ones included, is in the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from mpp_bus.api.audit import Outcome
from mpp_bus.api.context import ApiContext, Context, IdentityLookup, Purpose, Verifier
from mpp_bus.api.limits import too_many
from mpp_bus.api.models import IdentityAnswer, IdentityQuery
from mpp_bus.errors import AdapterError, CircuitOpenError, ConfigError, RetriableError
from mpp_bus.store import Refusal

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])

ACTION = "identity.verify"
SIGNUP_PURPOSE = "identity verification at portal sign-up"


@router.post(
    "/verify",
    summary="Check a NIK, name and birth date against the population registry",
    responses={
        400: {"description": "X-Purpose is not one of the configured purposes."},
        422: {"description": "The body is not valid (a NIK is 16 ASCII digits)."},
        429: {"description": "Too many attempts for this NIK or by this caller; retry after the window."},
        502: {"description": "The registry refused the look-up."},
        503: {"description": "The registry is unreachable or not configured; retry later."},
    },
)
def verify(body: IdentityQuery, ctx: Context, who: Verifier, purpose: Purpose = None) -> IdentityAnswer:
    """Answers whether the three belong together; never returns the registry's data itself."""
    nik_hash = ctx.tokens.hasher.hash(body.nik)

    def audit(outcome: Outcome) -> None:
        ctx.audit_read(who, ACTION, "dukcapil:verify_identity", subject_nik_hash=nik_hash,
                       purpose=purpose or SIGNUP_PURPOSE, outcome=outcome)

    taken = ctx.limits.take_identity_attempt(who.subject, nik_hash, now=ctx.clock())
    if isinstance(taken, Refusal):
        audit(Outcome.RATE_LIMITED)
        raise too_many("too many identity look-ups; try again later", taken.retry_after)
    try:
        match = _lookup(ctx)(body.nik, body.name, body.birth_date)
    except HTTPException:
        ctx.limits.counters.give_back(taken)
        audit(Outcome.FAILED)
        raise
    except (RetriableError, CircuitOpenError) as exc:
        # No answer, so nothing learnt: an outage never counts against the citizen or the caller.
        ctx.limits.counters.give_back(taken)
        audit(Outcome.FAILED)
        # RateLimitedError carries the registry's Retry-After, CircuitOpenError the breaker's wait.
        retry_after = getattr(exc, "retry_after", None) or getattr(exc, "retry_in", None) or 30
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the population registry is unavailable; try again later",
                            headers={"Retry-After": str(int(retry_after))}) from None
    except (AdapterError, ConfigError):
        ctx.limits.counters.give_back(taken)
        audit(Outcome.FAILED)
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the population registry refused the look-up") from None
    audit(Outcome.ALLOWED)
    return IdentityAnswer(
        nik_found=match.nik_found,
        name_matches=match.name_matches,
        birth_date_matches=match.birth_date_matches,
        matches=match.nik_found and match.name_matches and match.birth_date_matches,
    )


def _lookup(ctx: ApiContext) -> IdentityLookup:
    if ctx.identity is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "identity verification is not configured")
    return ctx.identity

