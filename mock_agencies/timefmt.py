"""Fast formatting of epoch seconds: serving 100k records/s leaves no room for datetime.strftime per field."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
WIB_OFFSET = 7 * 3600
_EPOCH = dt.date(1970, 1, 1)


@lru_cache(maxsize=8192)
def _ymd(day: int) -> tuple[str, str, str]:
    d = _EPOCH + dt.timedelta(days=day)
    return f"{d.year:04d}", f"{d.month:02d}", f"{d.day:02d}"


# Every second of a day, formatted once: two look-ups and a concatenation per timestamp afterwards.
_HMS = tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))
_HMS_Z = tuple(t + "Z" for t in _HMS)
_HM = tuple(t[:5] for t in _HMS)


@lru_cache(maxsize=8192)
def _iso_day(day: int) -> str:
    y, m, d = _ymd(day)
    return f"{y}-{m}-{d}"


@lru_cache(maxsize=8192)
def _iso_day_t(day: int) -> str:
    return _iso_day(day) + "T"


@lru_cache(maxsize=8192)
def _dash_day(day: int) -> str:
    y, m, d = _ymd(day)
    return f"{d}-{m}-{y} "


@lru_cache(maxsize=8192)
def _slash_day(day: int) -> str:
    y, m, d = _ymd(day)
    return f"{d}/{m}/{y}"


@lru_cache(maxsize=8192)
def _slash_day_sp(day: int) -> str:
    return _slash_day(day) + " "


class DayTable:
    """The text of each day (days since 1970-01-01) for hot loops: a list indexed by the day number itself, the
    cheapest look-up there is, once `cover` has filled the days a loop will ask for (2026 is day 20,454: the list
    stays near 160 kB). Indexing the object itself formats any day, for the rest."""

    def __init__(self, fmt: Callable[[int], str]) -> None:
        self.fmt = fmt
        self._texts: list[str] = []
        self._lock = threading.Lock()

    def __getitem__(self, day: int) -> str:
        return self.fmt(day)

    def cover(self, first: int, last: int) -> list[str]:
        """The list, with the text of every day from first to last in it (the list object never changes)."""
        if first < 0:
            raise ValueError("days before 1970 have no place in a day table")
        with self._lock:
            texts = self._texts
            if len(texts) <= last:
                texts.extend([""] * (last + 1 - len(texts)))
            for day in range(first, last + 1):
                if not texts[day]:
                    texts[day] = self.fmt(day)
        return texts


class TimeFormat(NamedTuple):
    """Epoch seconds as days[(t + offset) // 86400] + times[(t + offset) % 86400]."""

    offset: int
    days: DayTable
    times: tuple[str, ...]

    def __call__(self, epoch: int) -> str:
        local = epoch + self.offset
        return self.days[local // 86400] + self.times[local % 86400]


ISO_DAYS = DayTable(_iso_day)  # 2025-03-01
SLASH_DAYS = DayTable(_slash_day)  # 01/03/2025
YEARS = DayTable(lambda day: _ymd(day)[0])  # 2025
UTC_SECONDS = TimeFormat(0, DayTable(_iso_day_t), _HMS)  # 2025-03-01T08:15:00, the zone is the caller's to write
WIB_SECONDS = TimeFormat(WIB_OFFSET, DayTable(_dash_day), _HMS)  # as wib_seconds()
WIB_MINUTES = TimeFormat(WIB_OFFSET, DayTable(_slash_day_sp), _HM)  # as wib_minutes()


def rfc3339(epoch: int) -> str:
    """2025-03-01T08:15:00Z"""
    return _iso_day_t(epoch // 86400) + _HMS_Z[epoch % 86400]


def iso_date(day: int) -> str:
    """A day number since 1970-01-01 as 2025-03-01."""
    return _iso_day(day)


def wib_seconds(epoch: int) -> str:
    """DD-MM-YYYY HH:MM:SS in WIB (UTC+7), no offset written."""
    local = epoch + WIB_OFFSET
    return _dash_day(local // 86400) + _HMS[local % 86400]


def wib_minutes(epoch: int) -> str:
    """DD/MM/YYYY HH:MM in WIB."""
    local = epoch + WIB_OFFSET
    return _slash_day_sp(local // 86400) + _HM[local % 86400]


def slash_date(day: int) -> str:
    """A day number as DD/MM/YYYY."""
    return _slash_day(day)


def year_of(epoch: int) -> str:
    return _ymd(epoch // 86400)[0]


def now() -> int:
    return int(time.time())


def mock_today() -> int:
    """The day the mock timeline ends on, as days since 1970-01-01: MOCK_TODAY (YYYY-MM-DD) when set, so a test
    or a demo can pin it, else today's date in WIB."""
    pinned = os.environ.get("MOCK_TODAY", "").strip()
    if pinned:
        try:
            day = dt.date.fromisoformat(pinned)
        except ValueError as exc:
            raise ValueError(f"MOCK_TODAY must be a date written YYYY-MM-DD, not {pinned!r}") from exc
    else:
        day = dt.datetime.now(WIB).date()
    return (day - _EPOCH).days


def parse_rfc3339(text: str) -> int:
    """RFC 3339 / ISO 8601 date-time to epoch seconds; a value without an offset is taken as UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def parse_wib(text: str) -> int:
    """DD-MM-YYYY HH:MM:SS in WIB to epoch seconds."""
    value = dt.datetime.strptime(text.strip(), "%d-%m-%Y %H:%M:%S").replace(tzinfo=WIB)
    return int(value.timestamp())


def add_working_days(day: int, count: int) -> int:
    """The day number `count` working days (Monday to Friday) after `day`."""
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weeks, rest = divmod(count, 5)
    out = day + weeks * 7
    while rest:
        out += 1
        weekday = (weekday + 1) % 7
        if weekday < 5:
            rest -= 1
    if (out + 3) % 7 >= 5:  # count == 0 on a weekend, or whole weeks from a weekend day
        out += 7 - (out + 3) % 7
    return out
