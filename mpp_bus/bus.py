"""The assembled bus: settings, agency instances, the store and the engine, as the CLI and Airflow both use them.

Nothing in a DAG file or a CLI command does work that is not here, so both run the very same sync::

    bus = Bus.from_settings(Settings())
    result = bus.sync("dpmptsp-3314", "applications")
    print(result.stored, result.quarantined)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from mpp_bus.config import AgencyInstance, Connection, Settings, connection_from_env, load_agencies, select
from mpp_bus.contract import Adapter, CheckResult, StreamName, adapter_type, build_adapter
from mpp_bus.engine import RunProgress, RunResult, SyncEngine
from mpp_bus.engine.breaker import CircuitBreaker
from mpp_bus.engine.dispatch import Dispatcher, DispatchResult
from mpp_bus.engine.outbox import Outbox
from mpp_bus.engine.uploads import UploadStore
from mpp_bus.errors import ConfigError
from mpp_bus.privacy import NikHasher, Sealer
from mpp_bus.store import Store, create_store
from mpp_bus.store.breakers import StoreBreakerStates

log = logging.getLogger("mpp_bus.bus")

ConnectionLookup = Callable[[str], Connection | None]


@dataclass
class Bus:
    """One bus: where agencies are configured, where the store is, and how credentials are found."""

    settings: Settings
    instances: Sequence[AgencyInstance]
    connections: ConnectionLookup = field(default=connection_from_env)

    @classmethod
    def from_settings(cls, settings: Settings, connections: ConnectionLookup = connection_from_env) -> Bus:
        return cls(settings, load_agencies(settings.agencies_file), connections)

    @cached_property
    def store(self) -> Store:
        return create_store(self.settings.database_url)

    @cached_property
    def engine(self) -> SyncEngine:
        return SyncEngine(self.store, NikHasher(self.settings.nik_secret()))

    @cached_property
    def outbox(self) -> Outbox:
        """Where the portal's API accepts submissions (one transaction, keyed by the client's idempotency key)."""
        return Outbox(self.store, NikHasher(self.settings.nik_secret()), Sealer(self.settings.outbox_key_bytes()))

    @cached_property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, NikHasher(self.settings.nik_secret()), Sealer(self.settings.outbox_key_bytes()),
                          max_attempts=self.settings.outbox_max_attempts,
                          max_age=timedelta(hours=self.settings.outbox_max_hours),
                          files=self.uploads.read if self.uploads is not None else None)

    @cached_property
    def uploads(self) -> UploadStore | None:
        """Where the API keeps the files citizens attach, and the dispatcher reads them back (``MPP_UPLOAD_DIR``;
        None when it is not set)."""
        folder = self.settings.upload_dir
        return None if folder is None else UploadStore(folder, max_bytes=self.settings.upload_max_bytes)

    def instance(self, agency_id: str) -> AgencyInstance:
        return select(self.instances, [agency_id])[0]

    def breaker(self, agency_id: str) -> CircuitBreaker:
        """The agency's circuit breaker, its state kept in the store (shared by CLI runs and Airflow tasks)."""
        return CircuitBreaker(agency_id, self.instance(agency_id).breaker, StoreBreakerStates(self.store.engine))

    def selected(self, agency_ids: Sequence[str]) -> list[AgencyInstance]:
        return select(self.instances, agency_ids)

    @contextmanager
    def adapter(self, agency_id: str) -> Iterator[Adapter[Any]]:
        instance = self.instance(agency_id)
        adapter = build_adapter(instance, self.connections(instance.connection_id))
        try:
            yield adapter
        finally:
            adapter.close()

    def check(self, agency_id: str) -> CheckResult:
        try:
            with self.adapter(agency_id) as adapter:
                return adapter.check()
        except ConfigError as exc:
            return CheckResult(ok=False, message=str(exc), details={"error_class": "ConfigError", "retriable": False})

    def streams_of(self, agency_id: str) -> list[StreamName]:
        with self.adapter(agency_id) as adapter:
            return [spec.name for spec in adapter.streams()]

    def sync(
        self,
        agency_id: str,
        stream: StreamName | str,
        *,
        full_refresh: bool = False,
        progress: Callable[[RunProgress], None] | None = None,
    ) -> RunResult:
        """Sync one stream of one agency into the store and return what the run did."""
        with self.adapter(agency_id) as adapter:
            return self.engine.sync(adapter, StreamName(stream), full_refresh=full_refresh, progress=progress,
                                    breaker=self.breaker(agency_id))

    def submitting(self, agency_ids: Sequence[str] = ()) -> list[AgencyInstance]:
        """The selected (default: every enabled) agencies whose adapter accepts submissions. An agency whose adapter
        type cannot be loaded is left out with a warning naming it: one bad entry in the agencies file must not stop
        the deliveries to every other agency."""
        found = []
        for instance in self.selected(agency_ids):
            try:
                submits = adapter_type(instance.adapter).submits()
            except ConfigError as exc:
                log.warning("agency %s: %s; its submissions wait until the agencies file is fixed", instance.id, exc)
                continue
            if submits:
                found.append(instance)
        return found

    def dispatch(self, agency_id: str, *, limit: int | None = None) -> DispatchResult:
        """Deliver the agency's waiting submissions through its adapter, under its breaker and dispatch lock."""
        with self.adapter(agency_id) as adapter:
            return self.dispatcher.dispatch(adapter, breaker=self.breaker(agency_id), limit=limit)
