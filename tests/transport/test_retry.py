"""Retry policies as values: retry states built by hand, nothing sleeps."""

from __future__ import annotations

import pytest
from tenacity import RetryCallState, Retrying

from mpp_bus.config import RetryConfig
from mpp_bus.errors import FatalError, RateLimitedError, RetriableError
from mpp_bus.transport import retry_policy


def state(policy: Retrying, attempt: int, exc: BaseException) -> RetryCallState:
    rs = RetryCallState(policy, fn=None, args=(), kwargs={})
    rs.attempt_number = attempt
    rs.set_exception((type(exc), exc, None))
    return rs


CONFIG = RetryConfig(attempts=5, max_seconds=120, initial_wait=0.5, max_wait=30, jitter=0.5)


def test_wait_is_exponential_with_bounded_jitter():
    policy = retry_policy(CONFIG)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0)]:
        wait = policy.wait(state(policy, attempt, RetriableError("x")))
        assert base <= wait <= min(base + 0.5, 30.0)


def test_wait_is_at_least_retry_after():
    policy = retry_policy(CONFIG)
    assert policy.wait(state(policy, 1, RateLimitedError("slow down", retry_after=20))) >= 20


def test_only_retriable_errors_are_retried():
    policy = retry_policy(CONFIG)
    assert policy.retry(state(policy, 1, RetriableError("x")))
    assert policy.retry(state(policy, 1, RateLimitedError("x", retry_after=1)))
    assert not policy.retry(state(policy, 1, FatalError("x")))
    assert not policy.retry(state(policy, 1, ValueError("x")))


def test_stops_after_attempts_and_reraises_the_last_error():
    sleeps: list[float] = []
    calls = []

    def failing() -> None:
        calls.append(1)
        raise RetriableError(f"failure {len(calls)}")

    with pytest.raises(RetriableError, match="failure 3"):
        retry_policy(RetryConfig(attempts=3, initial_wait=0, jitter=0), sleep=sleeps.append)(failing)
    assert len(calls) == 3 and len(sleeps) == 2


def test_a_retry_after_beyond_max_seconds_stops_instead_of_waiting():
    sleeps: list[float] = []

    def limited() -> None:
        raise RateLimitedError("come back in an hour", retry_after=3600)

    with pytest.raises(RateLimitedError):
        retry_policy(RetryConfig(attempts=5, max_seconds=60), sleep=sleeps.append)(limited)
    assert sleeps == []


def test_policies_are_values():
    a, b = retry_policy(CONFIG), retry_policy(CONFIG)
    assert a is not b
    assert a.copy(sleep=lambda s: None) is not a
