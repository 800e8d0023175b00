"""The synthetic population every mock agency shares: regions, hashing, citizens and their NIKs.

Everything here is a pure function of (seed, index) so that two starts with one seed serve the same data and no
dataset ever has to be held in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MASK64 = 0xFFFFFFFFFFFFFFFF


def mix64(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from any parts; unlike hash() it does not change between processes."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# --- regions -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Regions:
    provinces: dict[str, str]  # "33" -> name
    regencies: dict[str, str]  # "33.14" -> name
    districts: tuple[tuple[str, str], ...]  # ("33.14.05", name), in file order


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("mock_agencies").joinpath("data", "idn-area", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def regions() -> Regions:
    return Regions(
        provinces={r["code"]: r["name"] for r in _read_csv("provinces.csv")},
        regencies={r["code"]: r["name"] for r in _read_csv("regencies.csv")},
        districts=tuple((r["code"], r["name"]) for r in _read_csv("districts.csv")),
    )


# --- names ---------------------------------------------------------------------------------------------------------

MALE_NAMES = (
    "Budi", "Agus", "Eko", "Joko", "Bambang", "Slamet", "Hendra", "Rudi", "Dedi", "Andi", "Ahmad", "Muhammad",
    "Rizki", "Fajar", "Dimas", "Yusuf", "Arif", "Bayu", "Hadi", "Teguh", "Wahyu", "Agung", "Rahmat", "Imam",
    "Putu", "Made", "Ketut", "Komang", "Gede", "Yohanes", "Petrus", "Fransiskus", "Irfan", "Reza", "Taufik",
    "Sutrisno", "Suparman", "Darmawan", "Hasan", "Ilham",
)
FEMALE_NAMES = (
    "Siti", "Sri", "Dewi", "Ayu", "Wulan", "Rina", "Fitri", "Lestari", "Nur", "Indah", "Ratna", "Yuni", "Putri",
    "Ani", "Endang", "Kartini", "Rahayu", "Maya", "Intan", "Nurul", "Aisyah", "Fatimah", "Dian", "Novi", "Kadek",
    "Ni Luh", "Maria", "Theresia", "Agustina", "Wati", "Susanti", "Ningsih", "Anisa", "Dwi", "Tri", "Rosa",
    "Melati", "Kurniasih", "Handayani", "Puspita",
)
SECOND_NAMES = (
    "Santoso", "Wijaya", "Saputra", "Hidayat", "Pratama", "Kusuma", "Setiawan", "Nugroho", "Susanto", "Wibowo",
    "Purnomo", "Gunawan", "Hartono", "Siregar", "Nasution", "Harahap", "Lubis", "Simanjuntak", "Sitompul",
    "Pangaribuan", "Tanjung", "Sinaga", "Rahman", "Hakim", "Firmansyah", "Kurniawan", "Permana", "Ramadhan",
    "Utami", "Anggraini", "Wulandari", "Safitri", "Maharani", "Pertiwi", "Lestari", "Suryani", "Kartika",
    "Mahendra", "Syahputra", "Halim",
)

BIRTH_START = dt.date(1950, 1, 1)
BIRTH_DAYS = (dt.date(2007, 12, 31) - BIRTH_START).days


@dataclass(frozen=True)
class Citizen:
    index: int
    nik: str
    full_name: str
    birth_date: dt.date
    sex: str  # "L" (laki-laki) or "P" (perempuan)
    district_code: str  # "33.14.05"

    def public_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "nik": self.nik,
            "nama_lengkap": self.full_name,
            "tanggal_lahir": self.birth_date.isoformat(),
            "jenis_kelamin": self.sex,
            "kode_wilayah": self.district_code,
        }


def nik_for(district_code: str, birth: dt.date, sex: str, serial: int) -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{district_code.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


class Population:
    """Citizens 0..count-1, each a pure function of (seed, index), with a NIK -> index map for look-ups."""

    def __init__(self, seed: int, count: int) -> None:
        if count < 1:
            raise ValueError("the population needs at least one citizen")
        self.seed = seed
        self.count = count
        self._base = stable_seed(seed, "citizens")
        self._districts = regions().districts
        self.niks: list[str] = []
        self.by_nik: dict[str, int] = {}
        for i in range(count):
            nik = self._nik(i, self._draw(i)[3])
            # A clash of district, birth date and serial is rare; the next free serial keeps NIKs unique.
            while nik in self.by_nik:
                nik = nik[:12] + f"{int(nik[12:]) % 9999 + 1:04d}"
            self.niks.append(nik)
            self.by_nik[nik] = i

    def _draw(self, i: int) -> tuple[str, dt.date, str, int]:
        h = mix64(self._base ^ (i * 0x9E3779B97F4A7C15 & MASK64))
        district = self._districts[h % len(self._districts)][0]
        birth = BIRTH_START + dt.timedelta(days=(h >> 16) % BIRTH_DAYS)
        sex = "P" if (h >> 40) & 1 else "L"
        serial = (h >> 41) % 9999 + 1
        return district, birth, sex, serial

    def _nik(self, i: int, serial: int) -> str:
        district, birth, sex, _ = self._draw(i)
        return nik_for(district, birth, sex, serial)

    def citizen(self, i: int) -> Citizen:
        district, birth, sex, _ = self._draw(i)
        h = mix64(self._base ^ 0x5555 ^ (i * 0xD1B54A32D192ED03 & MASK64))
        first = (FEMALE_NAMES if sex == "P" else MALE_NAMES)[h % 40]
        parts = [first, SECOND_NAMES[(h >> 8) % 40]]
        if (h >> 16) % 3 == 0:
            parts.insert(1, SECOND_NAMES[(h >> 24) % 40])
        if (h >> 32) % 7 == 0:  # many Indonesians go by a single name
            parts = [first]
        return Citizen(i, self.niks[i], " ".join(parts), birth, sex, district)
