"""Shared fixtures: store URLs for SQLite (a temporary file) and PostgreSQL (a throw-away database), and the network
guard every test runs under."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mpp_bus.testing.guard import loopback_only

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[list[str]]:
    """Every test may reach only loopback: a connection or DNS look-up beyond it raises ``NetworkBlocked`` before
    anything is sent, and fails the test even when the code under test swallowed the error. Yields the refusals."""
    with loopback_only() as refused:
        yield refused
    if refused:
        pytest.fail(f"the test tried to reach beyond loopback: {'; '.join(refused)}", pytrace=False)


@pytest.fixture(autouse=True)
def explicit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bus defaults to production (fail closed); tests run in development unless they say otherwise, and the
    child processes they start inherit it."""
    if "MPP_ENVIRONMENT" not in os.environ:
        monkeypatch.setenv("MPP_ENVIRONMENT", "development")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'mpp-bus.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A uniquely named database on ``MPP_TEST_POSTGRES_URL``, dropped afterwards.

    Skipped when the server cannot be reached, except under CI (``CI`` set), where that is a failure.
    """
    server = make_url(os.environ.get("MPP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"mpp_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL at {server.render_as_string(hide_password=True)} is unreachable: {type(exc).__name__}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """Each test using it runs against both databases."""
    return request.getfixturevalue(f"{request.param}_url")
