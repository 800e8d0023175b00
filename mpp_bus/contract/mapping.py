"""Status mapping tables: an agency's own status codes onto canonical statuses, kept as data beside the adapter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from mpp_bus.canonical.status import Status
from mpp_bus.errors import ConfigError, SkippableError

_SPACES = re.compile(r"[\s_\-]+")


@dataclass(frozen=True)
class Normalise:
    """How an agency's raw code is cleaned before it is looked up: agencies send ``" Lunas"``, ``"lunas"`` and
    ``"LUNAS"`` for one status. Declared in the table, so the cleaning is versioned with the codes it serves."""

    trim: bool = False
    case: Literal["upper", "lower", "keep"] = "keep"
    spaces: bool = False  # runs of spaces, underscores and dashes become one space

    @classmethod
    def parse(cls, value: Any, source: str) -> Normalise:
        if value is None or value is False:
            return cls()
        if value is True:  # the common wish in one word
            return cls(trim=True, case="upper", spaces=True)
        if not isinstance(value, Mapping) or set(value) - {"trim", "case", "spaces"}:
            raise ConfigError(f"{source}: `normalise` is true or a mapping of trim (bool), case (upper, lower or "
                              "keep) and spaces (bool)")
        case = value.get("case", "keep")
        if case not in ("upper", "lower", "keep"):
            raise ConfigError(f"{source}: normalise.case is {str(case)[:20]!r}; use upper, lower or keep")
        return cls(trim=bool(value.get("trim", False)), case=case, spaces=bool(value.get("spaces", False)))

    @property
    def active(self) -> bool:
        return self.trim or self.case != "keep" or self.spaces

    def __call__(self, code: str) -> str:
        if self.spaces:
            code = _SPACES.sub(" ", code)
        if self.trim:
            code = code.strip()
        if self.case == "upper":
            return code.upper()
        return code.lower() if self.case == "lower" else code


@dataclass(frozen=True)
class StatusMapping:
    """A versioned table ``agency code -> canonical status``, loaded from YAML:

    .. code-block:: yaml

        version: 3
        normalise: {trim: true, case: upper, spaces: true}   # optional: " lunas" finds LUNAS
        aliases: {SELESAI DIPROSES: SELESAI}                 # optional: other spellings of a listed code
        statuses:
          BARU: submitted
          VERIFIKASI: verified

    An exact match is tried first (the common case costs one look-up); only a miss is normalised.
    """

    version: int
    table: Mapping[str, Status]
    source: str = "<inline>"
    normalise: Callable[[str], str] = field(default_factory=Normalise)
    aliases: Mapping[str, str] = field(default_factory=dict)
    _cleaned: dict[str, Status] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Keys of the table and aliases, cleaned the same way as the codes that arrive.
        for code, status in self.table.items():
            self._cleaned[self.normalise(code)] = status
        for alias, code in self.aliases.items():
            if code not in self.table:
                raise ConfigError(f"status mapping {self.source}: alias {alias!r} points at {code!r}, which is not "
                                  "among its statuses")
            self._cleaned[self.normalise(alias)] = self.table[code]

    @classmethod
    def load(cls, path: Path) -> StatusMapping:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"status mapping {path}: {exc}") from exc
        return cls.from_document(doc, path.name)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], source: str) -> StatusMapping:
        """The table from an already parsed document (a ``statuses.yaml`` or a declarative spec's section)."""
        try:
            table = {str(code): Status(value) for code, value in (doc.get("statuses") or {}).items()}
            aliases = {str(k): str(v) for k, v in (doc.get("aliases") or {}).items()}
            version = int(doc.get("version", 1))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"status mapping {source}: {exc}. Each entry must be `<agency code>: <canonical "
                              f"status>` with a status among {', '.join(s.value for s in Status)}.") from exc
        return cls(version, table, source, Normalise.parse(doc.get("normalise"), source), aliases)

    def __call__(self, code: object) -> Status:
        """The canonical status for an agency code; an unknown code is a skippable (quarantined) record."""
        text = str(code)
        found = self.table.get(text)
        if found is None:
            found = self._cleaned.get(self.normalise(text))
        if found is None:
            raise SkippableError(
                f"unknown agency status code {text[:40]!r}: add it to the mapping table {self.source} (version "
                f"{self.version}, under `statuses:` or `aliases:`), then recover the quarantined records with "
                "`mpp-bus quarantine retry --reason 'unknown agency status code'`"
            ) from None
        return found

    def get(self, code: object) -> Status | None:
        """The canonical status, or None when the code is not covered."""
        text = str(code)
        return self.table.get(text) or self._cleaned.get(self.normalise(text))

    def missing(self, codes: Iterable[object]) -> list[str]:
        """The agency codes this table does not cover, after normalisation (for the conformance kit)."""
        return sorted({str(c) for c in codes if self.get(c) is None})

    def with_normaliser(self, normalise: Callable[[str], str]) -> StatusMapping:
        """The same table looked up through an adapter's own cleaning (a hook for codes no option describes)."""
        return StatusMapping(self.version, self.table, self.source, normalise, self.aliases)
