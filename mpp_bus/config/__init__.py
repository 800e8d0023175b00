"""Configuration: process settings, agency instances and the connections that hold their credentials."""

from __future__ import annotations

from mpp_bus.config.agencies import AgencyInstance, BreakerConfig, RetryConfig, load_agencies, parse_agencies, select
from mpp_bus.config.connections import Connection, connection_from_airflow, connection_from_env, parse_connection
from mpp_bus.config.settings import Settings

__all__ = [
    "AgencyInstance",
    "BreakerConfig",
    "Connection",
    "RetryConfig",
    "Settings",
    "connection_from_airflow",
    "connection_from_env",
    "load_agencies",
    "parse_agencies",
    "parse_connection",
    "select",
]
