"""``AgencyAdapter``: the adapter base class of the SDK. It does what every adapter does the same way, so an
adapter keeps only what is specific to its agency.

- ``streams()`` returns the class attribute ``stream_specs``;
- ``check()`` runs the cheap authenticated call ``probe()`` and answers in words (never raises);
- ``read(stream, cursor)`` checks the stream is offered, calls ``read_<stream>(cursor)`` and stamps any
  ``AdapterError`` with the agency and stream;
- ``close()`` closes every client registered with ``uses()``;
- ``session``: the ``requests.Session`` every client of the adapter sends through (HTTP, the OAuth2 token fetch,
  zeep's SOAP calls); passed in at construction (``from_instance(instance, connection, session=...)``, a test's fake
  or recording transport) or a fresh one.

Example::

    class TownHallAdapter(AgencyAdapter[TownHallConfig]):
        name, version, wraps = "townhall", "1.0.0", "Town hall permits REST API"
        config_model = TownHallConfig
        status_mapping = StatusMapping.load(HERE / "statuses.yaml")
        stream_specs = (StreamSpec(StreamName.CATALOG, SyncMode.FULL),)

        def __init__(self, instance, config):
            super().__init__(instance, config)
            self.http = self.uses(HttpClient.for_instance(instance, config.base_url, session=self.session,
                                                          auth=ApiKeyAuth("X-Key", config.api_key)))

        def probe(self):
            return self.http.get_json("/services", retry=NO_RETRY)

        def read_catalog(self, cursor):
            body = self.http.get_json("/services")
            yield Page(*map_items(body["services"], self.service, lambda s: s.get("code")), cursor=None)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

import requests

from mpp_bus.contract import Adapter, AdapterConfig, CheckResult, Cursor, Page, StreamName, StreamSpec
from mpp_bus.errors import AdapterError
from mpp_bus.transport.records import Vocabulary, run_check


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=AdapterConfig)
T = TypeVar("T", bound=_Closable)


class AgencyAdapter(Adapter[C]):
    """An ``Adapter`` with the shared verbs done; subclasses declare streams and write ``probe`` and
    ``read_<stream>``."""

    stream_specs: ClassVar[Sequence[StreamSpec]] = ()
    vocabulary: ClassVar[Vocabulary | None] = None

    def __init__(self, instance: Any, config: C, *, session: requests.Session | None = None) -> None:
        super().__init__(instance, config)
        self.session = session if session is not None else requests.Session()
        self._clients: list[_Closable] = []

    def uses(self, client: T) -> T:
        """Register a transport client (``HttpClient``, ``SoapClient``) so ``close()`` closes it."""
        self._clients.append(client)
        return client

    def streams(self) -> Sequence[StreamSpec]:
        return list(self.stream_specs)

    def probe(self) -> object:
        """The cheapest call that needs the credentials (use ``retry=NO_RETRY``: a person is waiting)."""
        raise NotImplementedError(f"{type(self).__name__} must define probe() or override check()")

    def check(self) -> CheckResult:
        return run_check(self.agency_id, self.probe)

    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        spec = self.stream(stream)
        reader = getattr(self, f"read_{spec.name.value}")
        try:
            yield from reader(cursor)
        except AdapterError as exc:
            raise exc.located(agency=self.agency_id, stream=spec.name.value) from exc.__cause__

    def close(self) -> None:
        for client in self._clients:
            client.close()
