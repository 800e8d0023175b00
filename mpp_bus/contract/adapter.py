"""The adapter contract: what an integrator writes for one agency system.

An adapter type describes an agency system: identity, a typed config, the streams it offers, a status mapping table,
and a few verbs. It maps the agency's payloads onto canonical records and never touches the store.

Example (a complete, if tiny, adapter)::

    class Config(AdapterConfig):
        base_url: str
        api_key: SecretStr
        connection_fields = {"password": "api_key"}

    class TownHallAdapter(Adapter[Config]):
        name = "townhall"
        version = "1.0.0"
        wraps = "Town hall permits REST API"
        config_model = Config
        status_mapping = StatusMapping.load(Path(__file__).with_name("statuses.yaml"))

        def check(self) -> CheckResult: ...
        def streams(self) -> list[StreamSpec]:
            return [StreamSpec(StreamName.APPLICATIONS, SyncMode.INCREMENTAL, "updated_at")]
        def read(self, stream, cursor):
            for payload in ...:            # one agency page at a time
                yield Page(records=[...], cursor={"since": ...})

Register it in the distribution's ``pyproject.toml``::

    [project.entry-points."mpp_bus.adapters"]
    townhall = "townhall_adapter:TownHallAdapter"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from mpp_bus.config.agencies import AgencyInstance
from mpp_bus.config.connections import Connection, env_var
from mpp_bus.contract.mapping import StatusMapping
from mpp_bus.contract.stream import CheckResult, Cursor, Page, StreamName, StreamSpec
from mpp_bus.contract.submission import FormSchemas, Receipt, Submission
from mpp_bus.errors import ConfigError, FatalError


class AdapterConfig(BaseModel):
    """Base of an adapter's typed config. Secrets are ``SecretStr`` and come from the agency's connection.

    ``connection_fields`` maps a connection attribute (``login``, ``password``, ``host``, ``schema``, ``port``) to a
    config field; every key of the connection's ``extra`` fills the config field of the same name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    connection_fields: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def build(cls, instance: AgencyInstance, connection: Connection | None) -> Self:
        values: dict[str, Any] = dict(instance.config)
        if connection:
            values.update({k: v for k, v in (connection.get("extra") or {}).items() if k in cls.model_fields})
            for attr, field in cls.connection_fields.items():
                if connection.get(attr) not in (None, ""):
                    values[field] = connection[attr]
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(_config_problem(instance, cls, exc)) from None


def _config_problem(instance: AgencyInstance, model: type[AdapterConfig], exc: ValidationError) -> str:
    secret_fields = {n for n, f in model.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)}
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(config)"
        if field in secret_fields and err["type"] == "missing":
            problems.append(
                f"credential `{field}` is missing: set it in the Airflow Connection `{instance.connection_id}` "
                f"or in the environment variable {env_var(instance.connection_id)}"
            )
        else:
            problems.append(f"config field `{field}`: {err['msg']}")
    return f"agency {instance.id} (adapter {instance.adapter}): " + "; ".join(problems)


C = TypeVar("C", bound=AdapterConfig)


class Adapter(ABC, Generic[C]):
    """Base class of every adapter type. Subclasses declare identity and config, and implement three verbs."""

    name: ClassVar[str]
    version: ClassVar[str]
    wraps: ClassVar[str]
    config_model: ClassVar[type[AdapterConfig]]
    status_mapping: ClassVar[StatusMapping | None] = None
    # The write direction (optional): the forms of the services that accept electronic applications, and whether
    # the agency de-duplicates a resend by itself (see mpp_bus.contract.submission).
    forms: ClassVar[FormSchemas | None] = None
    resend_safe: ClassVar[bool] = True

    def __init__(self, instance: AgencyInstance, config: C) -> None:
        self.instance = instance
        self.config = config

    @classmethod
    def from_instance(cls, instance: AgencyInstance, connection: Connection | None = None, **options: Any) -> Self:
        """Build the adapter for one configured agency, its config filled from the connection; ``options`` go to
        the adapter's constructor (an SDK adapter takes ``session=``, the transport its clients send through)."""
        config = cls.config_model.build(instance, connection)
        return cls(instance, config, **options)  # type: ignore[arg-type]  # config_model builds ConfigT

    @property
    def agency_id(self) -> str:
        return self.instance.id

    @abstractmethod
    def check(self) -> CheckResult:
        """Can we reach the agency and are the credentials good. Answers; does not raise for an unreachable agency."""

    @abstractmethod
    def streams(self) -> Sequence[StreamSpec]:
        """The canonical streams this agency offers and how each syncs."""

    @abstractmethod
    def read(self, stream: StreamName, cursor: Cursor | None) -> Iterator[Page]:
        """Yield pages of canonical records, each with the cursor to resume after it.

        ``cursor`` is None for a first (or full) sync. Raise ``RetriableError``/``FatalError`` for transport
        failures; put records that cannot be mapped into ``Page.rejects`` with a reason.
        """

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams():
            if spec.name == name:
                return spec
        offered = ", ".join(s.name for s in self.streams())
        raise ConfigError(f"agency {self.agency_id} does not offer stream {name!r}; it offers: {offered}")

    # --- the write direction (optional) ----------------------------------------------------------------------------

    @classmethod
    def submits(cls) -> bool:
        """Whether this adapter type implements the write direction (``submit`` and at least one form)."""
        return cls.submit is not Adapter.submit and cls.forms is not None and bool(cls.forms.codes())

    def accepts_submissions(self, service_code: str | None = None) -> bool:
        """Whether this adapter can submit applications at all, or for one service (it has a form for it)."""
        if not self.submits() or self.forms is None:
            return False
        return service_code is None or service_code in self.forms

    def form_schema(self, service_code: str) -> dict[str, Any] | None:
        """The JSON Schema of the form a service needs, or None when it takes no electronic application."""
        return self.forms.get(service_code) if self.forms is not None and self.accepts_submissions() else None

    def catalog_form_fields(self, service_code: str) -> dict[str, Any]:
        """The catalog fields that say whether a service takes electronic applications, and with which form."""
        schema = self.form_schema(service_code)
        return {"accepts_submissions": schema is not None, "form_schema": schema.get("$id") if schema else None}

    def submit(self, submission: Submission) -> Receipt:
        """Deliver one application to the agency and return its receipt.

        Raise ``SubmissionRefused`` (with the agency's reason) when the agency refuses it, ``RetriableError`` when it
        could not answer, ``FatalError`` otherwise. Never put the NIK or form values in an error message."""
        raise FatalError(f"adapter {self.name} does not submit applications", agency=self.agency_id)

    def find_submission(self, submission: Submission) -> Receipt | None:
        """Look a submission up at the agency by its client reference (``submission.reference``): its receipt if
        the agency holds it, else None. Required when ``resend_safe`` is False: the dispatcher calls it before any
        resend."""
        raise FatalError(f"adapter {self.name} cannot look submissions up by reference", agency=self.agency_id)

    def close(self) -> None:
        """Release sessions and connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.close()
