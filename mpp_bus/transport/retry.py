"""Retry policies as values: tenacity ``Retrying`` objects built from an agency's ``RetryConfig``.

Only ``RetriableError`` is retried. The wait is exponential with jitter, but never shorter than the ``retry_after``
an agency asked for; a wait that would overrun ``max_seconds`` stops the retries instead, and the last error is
re-raised as it was (the engine and Airflow's task retries sit on top).

Example::

    policy = retry_policy(instance.retry)
    data = policy(client.get_json, "/v2/layanan")
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from mpp_bus.config.agencies import RetryConfig
from mpp_bus.errors import RateLimitedError, RetriableError


class wait_retry_after(wait_base):  # noqa: N801 - named like tenacity's own strategies
    """Wait as ``base`` says, but at least as long as the agency's ``Retry-After``."""

    def __init__(self, base: wait_base) -> None:
        self.base = base

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = float(self.base(retry_state))
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            wait = max(wait, float(exc.retry_after))
        return wait


def retry_policy(config: RetryConfig, *, sleep: Callable[[float], None] = time.sleep) -> Retrying:
    """The retry policy of one agency. Inject ``sleep`` in tests so nothing really waits."""
    return Retrying(
        retry=retry_if_exception_type(RetriableError),
        stop=stop_after_attempt(config.attempts) | stop_before_delay(config.max_seconds),
        wait=wait_retry_after(
            wait_exponential_jitter(multiplier=config.initial_wait, max=config.max_wait, jitter=config.jitter)
        ),
        sleep=sleep,
        reraise=True,
    )


NO_RETRY = RetryConfig(attempts=1)
"""A config that tries once: for ``check()`` and look-ups a person is waiting for."""
