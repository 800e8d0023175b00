"""Dates, times and named value converters: how an agency writes a value, turned into what the canonical model needs.

Agencies write dates their own way (``DD/MM/YYYY``, local WIB times without an offset, RFC 3339). These helpers
read them into ``date`` and aware UTC ``datetime`` values, and write a resume time back in the agency's form.

Named converters are what a declarative field mapping uses (``as: "datetime:DD-MM-YYYY HH:mm:ss@Asia/Jakarta"``):

    str, int                       the value as text / as an integer
    date[:FORMAT]                  a calendar date (default ISO ``YYYY-MM-DD``)
    datetime[:FORMAT][@ZONE]       an aware datetime in UTC; without FORMAT, RFC 3339 (an offset is required unless
                                   ZONE is given); ZONE is an IANA name (``Asia/Jakarta``) or ``+07:00``
    nik                            a NIK, checked (a bad one is a skippable record)
    status                         an agency status code through the adapter's status mapping table
    documents, channels            lists of agency codes through the adapter's vocabulary table
    category                       an agency category code through the adapter's vocabulary table
    note                           free text (what to fix): spaces collapsed, cut to its limit, empty as null
    describe:FIELD                 a description with the requirements in FIELD that have no canonical document

FORMAT is either ``strftime`` (``%d-%m-%Y``) or the tokens ``YYYY MM DD HH mm ss`` (``DD/MM/YYYY``).
An unknown converter name fails with the list of known ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mpp_bus.errors import ConfigError, SkippableError

if TYPE_CHECKING:
    from mpp_bus.contract.mapping import StatusMapping
    from mpp_bus.transport.records import Vocabulary

_TOKENS = {"YYYY": "%Y", "MM": "%m", "DD": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_TOKEN_RE = re.compile("|".join(_TOKENS))
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


@cache
def strftime_pattern(fmt: str) -> str:
    """``DD/MM/YYYY HH:mm`` as ``%d/%m/%Y %H:%M``; a pattern with ``%`` in it is already strftime."""
    return fmt if "%" in fmt else _TOKEN_RE.sub(lambda m: _TOKENS[m.group()], fmt)


@cache
def zone(name: str) -> tzinfo:
    """A time zone from an IANA name (``Asia/Jakarta``), ``UTC`` or a fixed offset (``+07:00``)."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    offset = _OFFSET_RE.match(name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}; use an IANA name such as Asia/Jakarta or an offset "
                          f"such as +07:00") from None


# The numeric directives a fixed-width reader knows: (datetime argument position, width).
_FIXED = {"%Y": (0, 4), "%m": (1, 2), "%d": (2, 2), "%H": (3, 2), "%M": (4, 2), "%S": (5, 2)}
_DIRECTIVE = re.compile("%.")
_SEPARATORS = frozenset("-/:. T")


@cache
def _fixed_reader(pattern: str) -> tuple[re.Pattern[str], tuple[int, ...]] | None:
    """A strict reader of ``pattern`` (a regex of ASCII digits at each directive's full width, and where each group
    goes among datetime's arguments) when the pattern holds only numeric directives with a year, a month and a day,
    each once, between plain separators; None otherwise."""
    regex: list[str] = []
    places: list[int] = []
    end = 0
    for directive in _DIRECTIVE.finditer(pattern):
        if directive.group() not in _FIXED or not set(pattern[end:directive.start()]) <= _SEPARATORS:
            return None
        place, width = _FIXED[directive.group()]
        if place in places:
            return None
        regex.append(re.escape(pattern[end:directive.start()]) + f"([0-9]{{{width}}})")
        places.append(place)
        end = directive.end()
    if not set(pattern[end:]) <= _SEPARATORS or not {0, 1, 2} <= set(places):
        return None
    return re.compile("".join(regex) + re.escape(pattern[end:])), tuple(places)


def _strptime(text: str, pattern: str) -> datetime:
    """``datetime.strptime(text, pattern)``, several times faster for the agencies' usual fixed-width numeric
    formats (``DD-MM-YYYY HH:mm``): text of exactly that shape is read directly, which gives what strptime gives;
    anything else, and any value out of range, goes to strptime itself, so its errors (and their words) stay."""
    reader = _fixed_reader(pattern)
    if reader is not None:
        found = reader[0].fullmatch(text)
        if found is not None:
            parts = [0, 0, 0, 0, 0, 0]
            for place, digits in zip(reader[1], found.groups(), strict=True):
                parts[place] = int(digits)
            try:
                return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
            except ValueError:
                pass  # strptime says why, in its own words
    return datetime.strptime(text, pattern)


def parse_date(text: str, fmt: str | None = None) -> date:
    """A calendar date (no time zone): ISO by default, or in ``fmt``."""
    if fmt is None:
        return date.fromisoformat(text)
    return _strptime(text, strftime_pattern(fmt)).date()


def parse_datetime(text: str, fmt: str | None = None, tz: str | None = None) -> datetime:
    """An aware UTC datetime. Without ``fmt`` the text is RFC 3339; a time with no offset is read in ``tz``, and
    without ``tz`` it is a skippable record (a time whose zone we would have to guess)."""
    value = datetime.fromisoformat(text) if fmt is None else _strptime(text, strftime_pattern(fmt))
    if value.tzinfo is None:
        if tz is None:
            raise SkippableError("a time without a UTC offset; the API promises RFC 3339")
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(UTC)


def format_datetime(moment: datetime, fmt: str | None = None, tz: str | None = None) -> str:
    """An aware datetime as the agency writes it: in ``tz`` and ``fmt``, or RFC 3339 UTC with ``Z``."""
    if fmt is None:
        return moment.astimezone(zone(tz) if tz else UTC).isoformat().replace("+00:00", "Z")
    return moment.astimezone(zone(tz) if tz else UTC).strftime(strftime_pattern(fmt))


# --- named converters ------------------------------------------------------------------------------------------------

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Converter:
    """A named conversion of one source value (``read``), and for times, its way back (``write``)."""

    spec: str
    read: Callable[[Any, Record], Any]
    write: Callable[[Any], str] = str


def _split(spec: str) -> tuple[str, str | None, str | None]:
    """``datetime:FORMAT@ZONE`` as ``("datetime", FORMAT, ZONE)``."""
    name, _, rest = spec.partition(":")
    fmt, zone_name = rest, None
    if "@" in rest:
        fmt, _, zone_name = rest.rpartition("@")
    elif "@" in name:
        name, _, zone_name = name.partition("@")
    return name.strip(), (fmt.strip() or None), (zone_name.strip() if zone_name else None)


CONVERTERS = ("str", "int", "date", "datetime", "nik", "note", "status", "documents", "channels", "category",
              "describe")


def converter(spec: str, *, statuses: StatusMapping | None = None, vocabulary: Vocabulary | None = None) -> Converter:
    """The converter named by ``spec`` (see the module docstring); tables come from the adapter."""
    from mpp_bus.transport.records import checked_nik, describe, note  # records imports this module for helpers

    name, fmt, tz = _split(spec)
    if name not in CONVERTERS:
        raise ConfigError(f"unknown converter {spec!r}; known converters: {', '.join(CONVERTERS)}")
    if name == "str":
        return Converter(spec, lambda v, r: str(v))
    if name == "int":
        return Converter(spec, lambda v, r: int(v))
    if name == "date":
        return Converter(spec, lambda v, r: parse_date(str(v), fmt),
                         lambda d: d.isoformat() if fmt is None else d.strftime(strftime_pattern(fmt)))
    if name == "datetime":
        return Converter(spec, lambda v, r: parse_datetime(str(v), fmt, tz), lambda m: format_datetime(m, fmt, tz))
    if name == "nik":
        return Converter(spec, lambda v, r: checked_nik(v))
    if name == "note":
        return Converter(spec, lambda v, r: note(v))
    if name == "status":
        if statuses is None:
            raise ConfigError("converter 'status' needs a status mapping table (`statuses`)")
        return Converter(spec, lambda v, r: statuses(v).value)
    if vocabulary is None:
        raise ConfigError(f"converter {name!r} needs a vocabulary table (`vocabulary`)")
    if name == "documents":
        return Converter(spec, lambda v, r: vocabulary.requirements(v or [])[0])
    if name == "channels":
        return Converter(spec, lambda v, r: vocabulary.channels_of(v or []))
    if name == "category":
        return Converter(spec, lambda v, r: vocabulary.category_of(v))
    if not fmt:
        raise ConfigError("converter 'describe' needs the requirements field: `describe:<field>`")
    return Converter(spec, lambda v, r: describe(str(v or ""), vocabulary.requirements(r.get(fmt) or [])[1]))
