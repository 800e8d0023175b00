"""Agency instances: which agencies the bus syncs, with which adapter type and limits.

An adapter type (the code) can serve many instances (the configuration): every regency's licensing office runs the
same system. Instances come from a YAML file (``MPP_AGENCIES_FILE``, default ``agencies.yaml``)::

    defaults:                # merged into every instance
      schedule: "@hourly"
    agencies:
      - id: dpmptsp-3314
        adapter: licensing
        name: DPMPTSP Kabupaten Sragen
        level: kabupaten_kota
        region_code: "33.14"
        connection_id: mpp_licensing     # Airflow Connection (or AIRFLOW_CONN_MPP_LICENSING) holding credentials
        config: {base_url: "http://127.0.0.1:8702", tenant: dpmptsp-3314}

Secrets never go in this file: they come from the connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mpp_bus.canonical.entities import REGION_CODE, Agency, Level
from mpp_bus.errors import ConfigError


class RetryConfig(BaseModel):
    """Retries of retriable transport errors: exponential backoff with jitter, bounded in attempts and time."""

    model_config = ConfigDict(extra="forbid")
    attempts: Annotated[int, Field(ge=1, le=20)] = 5
    max_seconds: Annotated[float, Field(gt=0)] = 120.0
    initial_wait: Annotated[float, Field(ge=0)] = 0.5
    max_wait: Annotated[float, Field(ge=0)] = 30.0
    jitter: Annotated[float, Field(ge=0)] = 0.5


class BreakerConfig(BaseModel):
    """The per-agency circuit breaker."""

    model_config = ConfigDict(extra="forbid")
    failure_threshold: Annotated[int, Field(ge=1)] = 5
    reset_seconds: Annotated[float, Field(gt=0)] = 60.0


class AgencyInstance(BaseModel):
    """One configured agency: identity, adapter type, connection, schedule and limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    adapter: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    level: Level
    region_code: Annotated[str | None, Field(pattern=REGION_CODE)] = None
    connection_id: str = ""
    schedule: str | None = "@hourly"
    enabled: bool = True
    pool_slots: Annotated[int, Field(ge=1, le=64)] = 1
    queue: str | None = None
    page_size: Annotated[int, Field(ge=1, le=10_000)] = 1000
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_connection(self) -> AgencyInstance:
        if not self.connection_id:
            object.__setattr__(self, "connection_id", "mpp_" + re.sub(r"[^a-z0-9]", "_", self.id))
        return self

    @property
    def agency(self) -> Agency:
        return Agency(id=self.id, name=self.name, level=self.level, region_code=self.region_code)


def load_agencies(path: Path) -> list[AgencyInstance]:
    """Read and validate an agencies file; errors name the file, the instance and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the agencies file {path} ({exc.strerror}); set MPP_AGENCIES_FILE or pass --agencies"
        ) from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader keeps parsing 600 instances cheap
    try:
        doc = yaml.load(text, Loader=loader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse_agencies(doc, source=str(path))


def parse_agencies(doc: Mapping[str, Any], *, source: str = "<config>") -> list[AgencyInstance]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("agencies"), list):
        raise ConfigError(f"{source}: expected a mapping with an `agencies:` list")
    defaults = doc.get("defaults") or {}
    instances: list[AgencyInstance] = []
    seen: set[str] = set()
    for index, raw in enumerate(doc["agencies"]):
        label = raw.get("id", f"#{index + 1}") if isinstance(raw, Mapping) else f"#{index + 1}"
        try:
            instance = AgencyInstance.model_validate({**defaults, **raw})
        except ValidationError as exc:
            raise ConfigError(f"{source}: agency {label}: {_fields(exc)}") from None
        except TypeError:
            raise ConfigError(f"{source}: agency {label}: each entry must be a mapping") from None
        if instance.id in seen:
            raise ConfigError(f"{source}: agency id {instance.id!r} appears twice; ids must be unique")
        seen.add(instance.id)
        instances.append(instance)
    return instances


def _fields(exc: ValidationError) -> str:
    # include_input=False: a config value may be a secret pasted by mistake; never echo it.
    return "; ".join(
        f"field `{'.'.join(str(p) for p in err['loc']) or '(entry)'}`: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    )


def select(instances: Sequence[AgencyInstance], ids: Sequence[str]) -> list[AgencyInstance]:
    """The instances named by ``ids`` (all enabled ones when empty); an unknown id lists the known ones."""
    if not ids:
        return [i for i in instances if i.enabled]
    by_id = {i.id: i for i in instances}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        known = ", ".join(sorted(by_id)[:20]) + (" ..." if len(by_id) > 20 else "")
        raise ConfigError(f"unknown agency {', '.join(unknown)}; configured agencies: {known}")
    return [by_id[i] for i in ids]
