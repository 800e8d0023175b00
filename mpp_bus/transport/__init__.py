"""The adapter SDK: the dull parts every adapter needs, with agency failures translated into ``mpp_bus.errors``
types at the boundary.

- clients: ``HttpClient`` (JSON, XML and CSV over HTTP, pooled, timeouts, retries; ``parse_xml`` is the one
  hardened XML parser, ``parse_csv`` reads a CSV export) and ``SoapClient`` (zeep; WSDL cached, strict
  and safe parsing, WS-Security UsernameToken);
- auth: ``ApiKeyAuth``, ``BasicAuth``, ``BearerAuth``, ``OAuth2ClientCredentials``, or ``auth_strategy(name, ...)``;
- paging: ``PageNumberPaginator``, ``OffsetPaginator``, ``CursorPaginator``, ``LinkHeaderPaginator``,
  ``NextUrlPaginator``, ``OffsetLinkPaginator`` (loop detection in the base; ``positional`` says whether a token
  counts records), or ``paginator(name, ...)``; ``Keyset`` for incremental reads, ``SinceFilter`` for how the
  agency's "changed since" filter behaves (inclusive or exclusive, second, minute or day);
- incremental reads: ``keyset_read`` (the one keyset read loop: the adapter says how to fetch a page and map an item);
- records: ``AgencyAdapter`` (the base class), ``KeysetPage``, ``map_items``, ``Vocabulary``, ``note``,
  ``checked_nik``, ``checked_times``, ``checked_record_times``, ``describe``, ``reject``, ``run_check``;
- values: ``parse_date``, ``parse_datetime``, ``format_datetime`` and the named ``converter(...)``;
- retries: ``retry_policy`` from an agency's ``RetryConfig``; ``NO_RETRY`` for a person waiting.
"""

from __future__ import annotations

import typing as _typing

from mpp_bus.transport.auth import (
    AUTH_TYPES,
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    OAuth2ClientCredentials,
    auth_strategy,
)
from mpp_bus.transport.base import AgencyAdapter
from mpp_bus.transport.convert import (
    CONVERTERS,
    Converter,
    converter,
    format_datetime,
    parse_date,
    parse_datetime,
    zone,
)
from mpp_bus.transport.http import (
    HttpClient,
    RawResponse,
    error_for_status,
    parse_csv,
    parse_json,
    parse_retry_after,
    translate_request_error,
)
from mpp_bus.transport.incremental import keyset_read
from mpp_bus.transport.paging import (
    PAGINATORS,
    CursorPaginator,
    Keyset,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageResponse,
    Paginator,
    SinceFilter,
    dig,
    paginator,
)
from mpp_bus.transport.records import (
    RECORD_ERRORS,
    KeysetPage,
    Vocabulary,
    checked_nik,
    checked_record_times,
    checked_times,
    describe,
    map_items,
    note,
    reject,
    run_check,
)
from mpp_bus.transport.retry import NO_RETRY, retry_policy, wait_retry_after

if _typing.TYPE_CHECKING:
    from mpp_bus.transport.soap import SETTINGS, SoapClient, fault_error
    from mpp_bus.transport.xml import parse_xml

# The SOAP names are loaded on first use: they bring zeep, lxml and httpx (about 13 MiB), which a process that
# only talks REST, such as the sync of a REST agency, never needs.
_SOAP_NAMES = ("SETTINGS", "SoapClient", "fault_error")
_XML_NAMES = ("parse_xml",)  # lxml alone, for the same reason


def __getattr__(name: str) -> object:
    if name in _SOAP_NAMES:
        from mpp_bus.transport import soap  # zeep is imported here, not above: see _SOAP_NAMES

        return getattr(soap, name)
    if name in _XML_NAMES:
        from mpp_bus.transport import xml

        return getattr(xml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOAP_NAMES, *_XML_NAMES})

__all__ = [
    "AUTH_TYPES",
    "CONVERTERS",
    "NO_RETRY",
    "PAGINATORS",
    "RECORD_ERRORS",
    "SETTINGS",
    "AgencyAdapter",
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "Converter",
    "CursorPaginator",
    "HttpClient",
    "Keyset",
    "KeysetPage",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "OAuth2ClientCredentials",
    "OffsetLinkPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageResponse",
    "Paginator",
    "RawResponse",
    "SinceFilter",
    "SoapClient",
    "Vocabulary",
    "auth_strategy",
    "checked_nik",
    "checked_record_times",
    "checked_times",
    "converter",
    "describe",
    "dig",
    "error_for_status",
    "fault_error",
    "format_datetime",
    "keyset_read",
    "map_items",
    "note",
    "paginator",
    "parse_csv",
    "parse_date",
    "parse_datetime",
    "parse_json",
    "parse_retry_after",
    "parse_xml",
    "reject",
    "retry_policy",
    "run_check",
    "translate_request_error",
    "wait_retry_after",
    "zone",
]
