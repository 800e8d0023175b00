"""Credentials from connections: an Airflow Connection, or the same thing in the environment.

Airflow resolves ``AIRFLOW_CONN_<ID>`` itself; outside Airflow (the CLI) the bus reads that variable the same way,
so one place holds a credential whichever way the bus runs. Both the JSON form and the URI form are accepted::

    AIRFLOW_CONN_MPP_LICENSING='{"conn_type": "http", "login": "mpp-bus", "password": "...", "extra": {}}'
    AIRFLOW_CONN_MPP_LICENSING='http://mpp-bus:secret@/?scope=read'
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mpp_bus.errors import ConfigError

Connection = dict[str, Any]


def env_var(connection_id: str) -> str:
    return f"AIRFLOW_CONN_{connection_id.upper()}"


def connection_from_env(connection_id: str, environ: Mapping[str, str] | None = None) -> Connection | None:
    """The connection ``connection_id`` from the environment, or None when it is not set."""
    raw = (environ if environ is not None else os.environ).get(env_var(connection_id))
    if not raw:
        return None
    return parse_connection(raw, connection_id)


def parse_connection(raw: str, connection_id: str) -> Connection:
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(
                f"{env_var(connection_id)} is not valid JSON; use Airflow's connection JSON form"
            ) from None
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        return {**{k: doc.get(k) for k in ("conn_type", "host", "login", "password", "schema", "port")}, "extra": extra}
    parts = urlsplit(raw)
    return {
        "conn_type": parts.scheme or None,
        "host": parts.hostname,
        "login": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "schema": parts.path.lstrip("/") or None,
        "port": parts.port,
        "extra": dict(parse_qsl(parts.query)),
    }


def connection_from_airflow(connection_id: str) -> Connection | None:
    """The connection from Airflow (metastore, secrets backend or environment); None when Airflow lacks it."""
    from airflow.sdk import BaseHook  # imported here: the CLI must not need Airflow

    try:
        conn = BaseHook.get_connection(connection_id)
    except Exception:  # Airflow raises its own not-found type that differs between versions
        return None
    return {
        "conn_type": conn.conn_type,
        "host": conn.host,
        "login": conn.login,
        "password": conn.password,
        "schema": conn.schema,
        "port": conn.port,
        "extra": conn.extra_dejson,
    }
