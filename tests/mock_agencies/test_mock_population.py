from __future__ import annotations

import datetime as dt

import pytest

from mock_agencies.catalogs import DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, LICENSING_LIFECYCLE, OSS_SERVICES
from mock_agencies.datasets import SHARED_CITIZENS, Dataset
from mock_agencies.population import Population, regions
from mock_agencies.timefmt import add_working_days


def check_nik(nik: str) -> None:
    """Raise AssertionError unless nik is a valid NIK for a known district."""
    assert len(nik) == 16 and nik.isdigit()
    district = f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}"
    assert district in {code for code, _ in regions().districts}
    day = int(nik[6:8])
    day = day - 40 if day > 40 else day
    year = int(nik[10:12])
    dt.date(1900 + year if year > 25 else 2000 + year, int(nik[8:10]), day)  # raises on an impossible date
    assert nik[12:] != "0000"


def test_niks_are_valid_unique_and_match_the_citizen() -> None:
    population = Population(11, 3000)
    assert len(set(population.niks)) == 3000
    for i in range(0, 3000, 7):
        citizen = population.citizen(i)
        check_nik(citizen.nik)
        assert citizen.nik[:6] == citizen.district_code.replace(".", "")
        day = citizen.birth_date.day + (40 if citizen.sex == "P" else 0)
        assert citizen.nik[6:12] == f"{day:02d}{citizen.birth_date:%m%y}"
        assert population.by_nik[citizen.nik] == i
    assert {population.citizen(i).sex for i in range(50)} == {"L", "P"}


def test_population_and_datasets_are_deterministic() -> None:
    a, b = Population(5, 200), Population(5, 200)
    assert a.niks == b.niks and a.citizen(17) == b.citizen(17)
    assert Population(6, 200).niks != a.niks
    da = Dataset("dukcapil", 5, 100, a, DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, "DKP")
    db = Dataset("dukcapil", 5, 100, b, DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, "DKP")
    assert list(da.iter_all()) == list(db.iter_all())


def test_shared_citizens_have_applications_in_every_dataset() -> None:
    population = Population(5, 1000)
    duk = Dataset("dukcapil", 5, 500, population, DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, "DKP")
    oss = Dataset("oss", 5, 500, population, LICENSING_LIFECYCLE, OSS_SERVICES, "OSS-")
    assert SHARED_CITIZENS <= 500
    assert duk.record(42).nik == oss.record(42).nik == population.niks[42]


def test_base_records_are_ordered_and_consistent() -> None:
    population = Population(5, 100)
    data = Dataset("oss", 5, 300, population, LICENSING_LIFECYCLE, OSS_SERVICES, "OSS-")
    records = list(data.iter_all())
    assert all(x.updated_at < y.updated_at for x, y in zip(records, records[1:], strict=False))
    for r in records:
        assert r.submitted_at <= r.status_at <= r.updated_at < dt.datetime.now().timestamp()
        assert (r.document_number is not None) == (r.status in LICENSING_LIFECYCLE.issued)
        assert r.status in LICENSING_LIFECYCLE.statuses


def test_paging_by_key_and_offset_around_the_overlay() -> None:
    population = Population(5, 100)
    data = Dataset("oss", 5, 250, population, LICENSING_LIFECYCLE, OSS_SERVICES, "OSS-")
    advanced = set(data.advance(40, clock=lambda: 2_000_000_000))
    advanced |= set(data.advance(10, clock=lambda: 2_000_000_001))  # some twice: they move again
    seen, key = [], (0, None)
    while page := data.page(key, 17):
        seen.extend(page)
        key = (page[-1].updated_at, page[-1].id)
    assert sorted(r.id for r in seen) == sorted(data.id_of(i) for i in range(250))
    assert [(r.updated_at, r.id) for r in seen] == sorted((r.updated_at, r.id) for r in seen)
    assert {r.id for r in seen[-len(advanced):]} == advanced
    by_offset = [r for p in range(0, 250, 23) for r in data.page((0, None), 23, p)]
    assert by_offset == seen
    since = seen[100].updated_at
    assert data.count_since(since) == len([r for r in seen if r.updated_at >= since])


def test_advance_moves_forward_and_never_leaves_a_terminal_state() -> None:
    population = Population(5, 100)
    data = Dataset("dukcapil", 5, 200, population, DUKCAPIL_LIFECYCLE, DUKCAPIL_SERVICES, "DKP")
    for _ in range(30):
        before = {i: data.record(i) for i in range(200)}
        for record_id in data.advance(20):
            i = data.index_of(record_id)
            assert i is not None
            after = data.record(i)
            assert after.status in DUKCAPIL_LIFECYCLE.transitions[before[i].status]
            assert after.updated_at > before[i].updated_at


@pytest.mark.parametrize(("day", "count", "expected"), [
    ("2025-01-06", 5, "2025-01-13"),  # Monday + 5 working days
    ("2025-01-10", 1, "2025-01-13"),  # Friday + 1
    ("2025-01-11", 1, "2025-01-13"),  # Saturday + 1
    ("2025-01-08", 0, "2025-01-08"),
])
def test_add_working_days(day: str, count: int, expected: str) -> None:
    epoch_day = (dt.date.fromisoformat(day) - dt.date(1970, 1, 1)).days
    result = dt.date(1970, 1, 1) + dt.timedelta(days=add_working_days(epoch_day, count))
    assert result.isoformat() == expected
