"""Dates and times in the agencies' fixed-width numeric formats are read directly instead of through strptime: the
same value for every text strptime reads, and strptime's own error for every text it refuses."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from mpp_bus.transport.convert import _fixed_reader, _strptime, parse_date, parse_datetime, strftime_pattern

PATTERNS = ["DD-MM-YYYY HH:mm", "DD-MM-YYYY HH:mm:ss", "DD/MM/YYYY HH:mm", "DD/MM/YYYY", "DD-MM-YYYY",
            "YYYY-MM-DD HH:mm:ss", "%d/%m/%Y %H:%M:%S", "%Y%m%d", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M"]


def _outcome(read: object, text: str, pattern: str) -> tuple[str, object]:
    try:
        return "value", read(text, pattern)  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc)


def _texts(pattern: str, rng: random.Random) -> list[str]:
    """Texts in the pattern's shape: valid ones, and the same with characters swapped for digits, spaces, letters
    or other digits (out of range days, hours 24 to 99, 29 February, Arabic-Indic digits, doubled spaces...)."""
    out = []
    for _ in range(400):
        moment = datetime(1900, 1, 1) + timedelta(seconds=rng.randrange(200 * 365 * 86400))
        text = moment.strftime(pattern)
        out.append(text)
        chars = list(text)
        for _ in range(rng.choice((1, 1, 2))):
            chars[rng.randrange(len(chars))] = rng.choice("0123456789" * 4 + " -/:xT\u0661")
        out.append("".join(chars))
        if rng.random() < 0.2:
            out.append(text + rng.choice(("0", " ", "Z")))
            out.append(text[1:])
            out.append(text.replace(" ", "  "))
    out += ["29/02/2024 10:00".replace("/", pattern[2]) if len(pattern) > 2 else "", "31-04-2025 00:00",
            "00-01-2025 00:00", "01-13-2025 00:00", "01-01-0000 00:00", "29-02-2023 24:00"]
    return out


@pytest.mark.parametrize("spec", PATTERNS)
def test_the_fixed_reader_gives_what_strptime_gives(spec: str) -> None:
    pattern = strftime_pattern(spec)
    assert _fixed_reader(pattern) is not None, "the agencies' formats take the fast path"
    rng = random.Random(spec)
    for text in _texts(pattern, rng):
        assert _outcome(_strptime, text, pattern) == _outcome(datetime.strptime, text, pattern), text


@pytest.mark.parametrize("pattern", ["%d %b %Y", "%H:%M", "%d-%m-%Y %I:%M %p", "%Y-%m-%d %H:%M %z", "%d-%m-%Y%%",
                                     "%d-%m-%Y, %H:%M", "%d-%m-%Y %d"])
def test_other_patterns_are_left_to_strptime(pattern: str) -> None:
    assert _fixed_reader(pattern) is None


def test_the_converters_read_as_before() -> None:
    assert parse_datetime("01-03-2025 08:15", "DD-MM-YYYY HH:mm", "Asia/Jakarta").isoformat() == \
        "2025-03-01T01:15:00+00:00"
    assert parse_date("20/03/2025", "DD/MM/YYYY").isoformat() == "2025-03-20"
    with pytest.raises(ValueError, match="day is out of range for month"):
        parse_date("30/02/2025", "DD/MM/YYYY")
    # Shapes the fixed reader does not take are strptime's, as before: single digits pass, extra data does not.
    assert parse_datetime("1-3-2025 8:15", "DD-MM-YYYY HH:mm", "Asia/Jakarta").isoformat() == \
        "2025-03-01T01:15:00+00:00"
    with pytest.raises(ValueError, match="unconverted data remains"):
        parse_datetime("01-03-2025 08:15:00", "DD-MM-YYYY HH:mm", "Asia/Jakarta")
