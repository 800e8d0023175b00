"""Transports: the dull parts every adapter needs (HTTP, SOAP, auth, pagination, retries), with agency failures
translated into ``mpp_bus.errors`` types at the boundary."""

from __future__ import annotations

from mpp_bus.transport.auth import ApiKeyAuth, BasicAuth, BearerAuth, OAuth2ClientCredentials
from mpp_bus.transport.http import (
    HttpClient,
    RawResponse,
    error_for_status,
    parse_json,
    parse_retry_after,
    translate_request_error,
)
from mpp_bus.transport.paging import CursorPaginator, Keyset, PageNumberPaginator, Paginator
from mpp_bus.transport.retry import NO_RETRY, retry_policy, wait_retry_after
from mpp_bus.transport.soap import SETTINGS, SoapClient, fault_error

__all__ = [
    "NO_RETRY",
    "SETTINGS",
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "CursorPaginator",
    "HttpClient",
    "Keyset",
    "OAuth2ClientCredentials",
    "PageNumberPaginator",
    "Paginator",
    "RawResponse",
    "SoapClient",
    "error_for_status",
    "fault_error",
    "parse_json",
    "parse_retry_after",
    "retry_policy",
    "translate_request_error",
    "wait_retry_after",
]
