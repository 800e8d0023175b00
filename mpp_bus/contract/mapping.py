"""Status mapping tables: an agency's own status codes onto canonical statuses, kept as data beside the adapter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from mpp_bus.canonical.status import Status
from mpp_bus.errors import ConfigError, SkippableError


@dataclass(frozen=True)
class StatusMapping:
    """A versioned table ``agency code -> canonical status``, loaded from YAML:

    .. code-block:: yaml

        version: 3
        statuses:
          BARU: submitted
          VERIFIKASI: verified
    """

    version: int
    table: Mapping[str, Status]
    source: str = "<inline>"

    @classmethod
    def load(cls, path: Path) -> StatusMapping:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            table = {str(code): Status(value) for code, value in (doc.get("statuses") or {}).items()}
            return cls(version=int(doc.get("version", 1)), table=table, source=path.name)
        except (OSError, ValueError, TypeError, yaml.YAMLError) as exc:
            raise ConfigError(f"status mapping {path}: {exc}. Each entry must be `<agency code>: <canonical status>` "
                              f"with a status among {', '.join(s.value for s in Status)}.") from exc

    def __call__(self, code: object) -> Status:
        """The canonical status for an agency code; an unknown code is a skippable (quarantined) record."""
        try:
            return self.table[str(code)]
        except KeyError:
            raise SkippableError(
                f"unknown agency status code {str(code)[:40]!r}: add it to the mapping table {self.source} "
                f"(version {self.version}) and re-run"
            ) from None

    def missing(self, codes: Iterable[object]) -> list[str]:
        """The agency codes this table does not cover (for the conformance kit)."""
        return sorted({str(c) for c in codes} - set(self.table))
