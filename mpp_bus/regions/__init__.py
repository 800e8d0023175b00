"""Kemendagri region codes: the 38 provinces and 514 regencies and cities, from a shipped copy of the official tables.

The tables are open data under the ODbL (see ``data/LICENSE.md`` and ``data/SOURCE.md``)::

    >>> regency("33.14").name
    'Kabupaten Sragen'
    >>> len(regencies())
    514
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from mpp_bus.errors import ConfigError

__all__ = ["Province", "Regency", "province", "provinces", "regencies", "regency"]


@dataclass(frozen=True)
class Province:
    code: str  # "33"
    name: str


@dataclass(frozen=True)
class Regency:
    code: str  # "33.14"
    province_code: str
    name: str  # "Kabupaten Sragen" or "Kota Bandung"

    @property
    def is_city(self) -> bool:
        return self.name.startswith("Kota ")


def _rows(name: str) -> list[dict[str, str]]:
    text = files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def provinces() -> tuple[Province, ...]:
    return tuple(Province(r["code"], r["name"]) for r in _rows("provinces.csv"))


@cache
def regencies() -> tuple[Regency, ...]:
    return tuple(Regency(r["code"], r["province_code"], r["name"]) for r in _rows("regencies.csv"))


def province(code: str) -> Province:
    for p in provinces():
        if p.code == code:
            return p
    raise ConfigError(f"unknown province code {code!r}; codes are two digits, e.g. 33 (Jawa Tengah)")


def regency(code: str) -> Regency:
    for r in regencies():
        if r.code == code:
            return r
    raise ConfigError(f"unknown regency code {code!r}; codes look like 33.14 (Kabupaten Sragen)")
