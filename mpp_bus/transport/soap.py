"""The SOAP transport: zeep clients that fetch WSDL through the agency's pooled session, parse safely, sign with
WS-Security and fail with ``mpp_bus`` errors.

    SOAP Fault, code Client.* with auth/security in it, wsse:FailedAuthentication   -> AuthError
    SOAP Fault, code Client.* (a request of our making)                              -> FatalError
    SOAP Fault, code Server.*                                                        -> RetriableError
    XML with a DTD, entity declarations or external references                       -> FatalError (refused)
    truncated or invalid XML, and the HTTP failures of ``mpp_bus.transport.http``    -> RetriableError, ...

Parsing is strict: zeep's lenient mode lets lxml "recover" a truncated body, which would silently drop records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import zeep
from lxml import etree
from lxml.etree import XMLSyntaxError
from pydantic import SecretStr
from zeep.cache import InMemoryCache
from zeep.exceptions import DTDForbidden, EntitiesForbidden, Fault, TransportError, XMLParseError
from zeep.exceptions import Error as ZeepError
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from mpp_bus.config.agencies import AgencyInstance, RetryConfig
from mpp_bus.errors import AdapterError, AuthError, FatalError, RetriableError
from mpp_bus.privacy import redact_text
from mpp_bus.transport.http import (
    MAX_RESPONSE_BYTES,
    MESSAGE_BYTES,
    error_for_status,
    read_bounded,
    translate_request_error,
)
from mpp_bus.transport.retry import retry_policy
from mpp_bus.transport.xml import SAFE_PARSER, refuse_doctype

SETTINGS = zeep.Settings(
    strict=True,
    xml_huge_tree=False,
    forbid_dtd=True,
    forbid_entities=True,
    forbid_external=True,
)
# One WSDL download per URL and process: parsing it is cheap next to fetching it from a slow agency.
WSDL_CACHE = InMemoryCache(timeout=3600)

_AUTH_FAULTS = ("auth", "security", "failedauthentication", "invalidsecuritytoken", "notauthorized")


class _AgencyTransport(Transport):
    """zeep's transport on our session, with requests errors and non-SOAP HTTP answers translated."""

    def __init__(self, *, agency: str, session: requests.Session, timeout: float) -> None:
        super().__init__(cache=WSDL_CACHE, timeout=timeout, operation_timeout=timeout, session=session)
        self.agency = agency
        self._close_session = False

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        path = urlsplit(address).path
        try:
            resp = self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout,
                                     stream=True)
            refuse_doctype(read_bounded(resp, MAX_RESPONSE_BYTES, agency=self.agency, method="POST", path=path),
                           agency=self.agency, what=f"POST {path}")
        except AdapterError:
            raise  # already typed (a test transport's NotRecorded is also a requests error)
        except requests.RequestException as exc:
            raise translate_request_error(exc, agency=self.agency, method="POST", path=path,
                                          timeout=self.operation_timeout) from exc
        # A 500 with XML carries a SOAP Fault for zeep to parse; anything else that is not 200 came from a gateway.
        if resp.status_code != 200 and not (resp.status_code == 500 and _is_xml(resp)):
            raise error_for_status(resp.status_code, resp.headers, agency=self.agency, method="POST", path=path,
                                   body=resp.content[:MESSAGE_BYTES])
        return resp

    def _load_remote_data(self, url: str) -> bytes:
        path = urlsplit(url).path
        try:
            resp = self.session.get(url, timeout=self.load_timeout, stream=True)
            refuse_doctype(read_bounded(resp, MAX_RESPONSE_BYTES, agency=self.agency, method="GET", path=path),
                           agency=self.agency, what=f"GET {path}")
        except AdapterError:
            raise  # already typed (a test transport's NotRecorded is also a requests error)
        except requests.RequestException as exc:
            raise translate_request_error(exc, agency=self.agency, method="GET", path=path,
                                          timeout=self.load_timeout) from exc
        with resp:
            if resp.status_code != 200:
                raise error_for_status(resp.status_code, resp.headers, agency=self.agency, method="GET", path=path)
            return resp.content


def _is_xml(resp: requests.Response) -> bool:
    return "xml" in resp.headers.get("Content-Type", "text/xml").lower()


class SoapClient:
    """A SOAP service of one agency. The WSDL is loaded on the first call, so building a client never fails.

    Example::

        soap = SoapClient.for_instance(instance, config.wsdl_url, username=config.username,
                                       password=config.password)
        layanan = soap.call("GetServiceCatalog")
    """

    def __init__(
        self,
        wsdl_url: str,
        *,
        agency: str,
        timeout: float = 30.0,
        retry: RetryConfig | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.wsdl_url = wsdl_url
        self.agency = agency
        self.timeout = timeout
        self.retry = retry or RetryConfig()
        self.session = session or requests.Session()
        self._username = username
        self._password = password if isinstance(password, SecretStr) or password is None else SecretStr(password)
        self._sleep = sleep
        self._client: zeep.Client | None = None

    @classmethod
    def for_instance(cls, instance: AgencyInstance, wsdl_url: str, **kwargs: Any) -> SoapClient:
        kwargs.setdefault("timeout", instance.timeout_seconds)
        kwargs.setdefault("retry", instance.retry)
        return cls(wsdl_url, agency=instance.id, **kwargs)

    @property
    def client(self) -> zeep.Client:
        """The zeep client (loads and parses the WSDL the first time)."""
        if self._client is None:
            wsse = None
            if self._username is not None and self._password is not None:
                wsse = UsernameToken(self._username, self._password.get_secret_value())  # PasswordText
            transport = _AgencyTransport(agency=self.agency, session=self.session, timeout=self.timeout)
            self._client = self._translated("WSDL", lambda: zeep.Client(self.wsdl_url, wsse=wsse,
                                                                        transport=transport, settings=SETTINGS))
        return self._client

    def call(self, operation: str, *, retry: RetryConfig | None = None, **kwargs: Any) -> Any:
        """Call one operation (retried per the policy) and return zeep's result objects."""
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        return policy(self._call_once, operation, kwargs)

    def _call_once(self, operation: str, kwargs: dict[str, Any]) -> Any:
        method = getattr(self.client.service, operation)
        return self._translated(operation, lambda: method(**kwargs))

    def call_xml(self, operation: str, *, retry: RetryConfig | None = None, **kwargs: Any) -> etree._Element:
        """Call one operation like ``call`` but return the response element (``<OpResponse>``) parsed by lxml.

        zeep still writes and signs the request; its reading of the answer into objects costs about 55 us a record,
        ten times the parsing, so a bulk read walks the elements itself. Parsing is as safe as zeep's (no DTD, no
        entities, no network) and a SOAP Fault raises the same errors as ``call``."""
        policy = retry_policy(retry or self.retry, sleep=self._sleep)
        element: etree._Element = policy(self._call_xml_once, operation, kwargs)
        return element

    def _call_xml_once(self, operation: str, kwargs: dict[str, Any]) -> etree._Element:
        client = self.client
        method = getattr(client.service, operation)

        def call() -> etree._Element:
            with client.settings(raw_response=True):
                response = method(**kwargs)
            return response_element(response.content)

        element: etree._Element = self._translated(operation, call)
        return element

    def _translated(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except AdapterError as exc:
            exc.located(agency=self.agency)
            raise
        except Fault as exc:
            raise fault_error(exc, agency=self.agency, operation=what) from exc
        except (DTDForbidden, EntitiesForbidden) as exc:
            raise FatalError(f"{what}: the agency's XML declares a DTD or entities, which the bus refuses to parse; "
                             f"report it to the agency", agency=self.agency) from exc
        except (XMLSyntaxError, XMLParseError, TransportError) as exc:
            raise RetriableError(f"{what}: the agency's response is not valid SOAP XML (truncated?); retry",
                                 agency=self.agency) from exc
        except ZeepError as exc:
            raise FatalError(f"{what}: the SOAP call failed ({type(exc).__name__}); check the WSDL URL and the "
                             f"adapter against the agency's WSDL", agency=self.agency) from exc
        except requests.RequestException as exc:
            raise translate_request_error(exc, agency=self.agency, method="POST", path=urlsplit(self.wsdl_url).path,
                                          timeout=self.timeout) from exc

    def close(self) -> None:
        self.session.close()


def response_element(content: bytes) -> etree._Element:
    """The first element of a SOAP response's Body; a DTD is refused and a Fault raised as zeep's ``Fault``."""
    root = etree.fromstring(content, parser=SAFE_PARSER)
    if root.getroottree().docinfo.doctype:
        raise DTDForbidden(root.getroottree().docinfo.doctype, None, None)
    body = next((child for child in root if etree.QName(child).localname == "Body"), None)
    first = None if body is None else next((child for child in body if isinstance(child.tag, str)), None)
    if first is None:
        raise XMLParseError("the SOAP response has no Body element")
    if etree.QName(first).localname == "Fault":
        raise Fault(message=first.findtext("faultstring") or "", code=first.findtext("faultcode"))
    return first


def fault_error(fault: Fault, *, agency: str, operation: str) -> AdapterError:
    """The ``mpp_bus`` error for a SOAP Fault, by its code. The agency's text is redacted and cut short."""
    code = str(fault.code or "")
    local = code.rsplit(":", 1)[-1]
    text = redact_text(str(fault.message or ""))[:200]
    where = f"{operation}: SOAP fault {local or '(no code)'}: {text}"
    lowered = local.lower()
    if any(word in lowered for word in _AUTH_FAULTS):
        return AuthError(f"{where}; check the WS-Security username and password in the agency's connection",
                         agency=agency)
    if lowered.startswith("server") or lowered.startswith("receiver"):
        return RetriableError(f"{where}; the agency failed on its side, retry later", agency=agency)
    return FatalError(f"{where}; the request was refused: check the adapter and its config", agency=agency)
