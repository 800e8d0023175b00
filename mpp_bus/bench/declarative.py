"""CPU per record of a declarative applications read: item by item (a dict per record, then the engine's
validation of the page) against one pydantic-core pass into canonical records (``mpp_bus.declarative.onepass``).

    python -m mpp_bus.bench.declarative --records 20000 --repeat 3
    python -m mpp_bus.bench.declarative --records 20000 --bad-every 1000    # one bad record in every 1,000

It reads the applications stream of the shipped specs, Jawa Tengah (``adapters/jateng``: XML, a positional Link
header, an exclusive "changed after" filter by the minute) and the tax office (``adapters/tax``: JSON, page numbers),
from a fake agency in this process that answers each request from a cache of rendered bodies (filled by an untimed
first read), so no network, mock process or store is involved: the figures are the adapter's reading, parsing,
mapping and validation (the item-by-item route pays the engine's ``validate_page`` too, as a sync would). Each
route's read is repeated ``--repeat`` times, the two taking turns, and the best is reported, in microseconds of this
process's CPU per record. ``--bad-every K`` gives every K-th record a status code the mapping table does not
know: a page holding one is read item by item on both routes (so each bad record is rejected with its reason),
after a failed one-pass try.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from mpp_bus.canonical import Application
from mpp_bus.canonical.records import CanonicalRecords
from mpp_bus.config import AgencyInstance
from mpp_bus.contract import StreamName
from mpp_bus.declarative import RestAdapter
from mpp_bus.engine.validation import validate_page
from mpp_bus.testing import FunctionTransport, Reply, session_for

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
START = datetime(2025, 1, 1, tzinfo=UTC)
WIB = timedelta(hours=7)
JATENG_STATUSES = ("DIAJUKAN", " verifikasi", "Dalam  Proses ", "izin_terbit", "DISETUJUI")
TAX_STATUSES = (10, 20, 30, 40, 60)


def _wib(moment: datetime, fmt: str) -> str:
    return (moment + WIB).strftime(fmt)


def _nik(i: int) -> str:
    return f"337401150390{i % 9999 + 1:04d}"


class Agency:
    """The records of one fake agency and how it answers a page request; ``bodies`` caches each answer."""

    def __init__(self, records: int, bad_every: int) -> None:
        self.records, self.bad_every = records, bad_every
        self.bodies: dict[str, Reply] = {}

    def updated(self, i: int) -> datetime:
        return START + timedelta(seconds=10 * i)  # six records a minute: the Jawa Tengah filter compares minutes

    def bad(self, i: int) -> bool:
        return self.bad_every > 0 and i % self.bad_every == self.bad_every - 1

    def __call__(self, request: Any) -> Reply:
        key = request.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
        if key not in self.bodies:
            self.bodies[key] = self.answer(request)
        return self.bodies[key]

    def answer(self, request: Any) -> Reply:
        raise NotImplementedError


class Jateng(Agency):
    """``GET /api/v1/permohonan?diubah_setelah=DD-MM-YYYY HH:MM&offset=N&limit=M``, as the spec describes it."""

    def answer(self, request: Any) -> Reply:
        q = request.query
        after = q.get("diubah_setelah")
        first = 0
        if after:  # exclusive, by whole minutes
            since = datetime.strptime(after, "%d-%m-%Y %H:%M").replace(tzinfo=UTC) - WIB + timedelta(minutes=1)
            first = next((i for i in range(self.records) if self.updated(i) >= since), self.records)
        offset, limit = first + int(q.get("offset", "0")), int(q.get("limit", "100"))
        items = "".join(self.item(i) for i in range(offset, min(offset + limit, self.records)))
        headers = {"Content-Type": "application/xml"}
        if offset + limit < self.records:
            following = f"limit={limit}&offset={offset + limit - first}"
            if after:
                following += "&diubah_setelah=" + after.replace(" ", "%20")
            headers["Link"] = f'<http://jateng{request.path}?{following}>; rel="next"'
        return Reply(200, f'<?xml version="1.0"?>\n<daftar_permohonan>{items}</daftar_permohonan>', headers)

    def item(self, i: int) -> str:
        updated = self.updated(i)
        status = "DITANGGUHKAN" if self.bad(i) else JATENG_STATUSES[i % len(JATENG_STATUSES)]
        izin = f"<no_izin>JTG/IZN/{i}</no_izin>" if i % 3 == 0 else ""
        return (f"<permohonan no={quoteattr(f'JTG/{i:08d}')} layanan=\"IMB-01\"><pemohon nik=\"{_nik(i)}\"/>"
                f"<status>{escape(status)}</status>"
                f"<tgl_status>{_wib(updated - timedelta(hours=1), '%d-%m-%Y %H:%M')}</tgl_status>"
                f"<tgl_ajuan>{_wib(updated - timedelta(days=3), '%d-%m-%Y %H:%M')}</tgl_ajuan>"
                f"<jatuh_tempo>{_wib(updated + timedelta(days=14), '%d-%m-%Y')}</jatuh_tempo>{izin}"
                f"<diubah>{_wib(updated, '%d-%m-%Y %H:%M')}</diubah></permohonan>")


class Tax(Agency):
    """``GET /v2/permohonan?sejak=DD-MM-YYYY HH:MM:SS&halaman=N&per_halaman=M``, as the spec describes it."""

    def answer(self, request: Any) -> Reply:
        q = request.query
        first = 0
        if q.get("sejak"):  # inclusive, to the second
            since = datetime.strptime(q["sejak"], "%d-%m-%Y %H:%M:%S").replace(tzinfo=UTC) - WIB
            first = next((i for i in range(self.records) if self.updated(i) >= since), self.records)
        page, size = int(q.get("halaman", "1")), int(q.get("per_halaman", "100"))
        start = first + (page - 1) * size
        pages = max(1, -(-(self.records - first) // size))
        rows = [self.item(i) for i in range(start, min(start + size, self.records))]
        return Reply(200, {"hasil": rows, "halaman": page, "total_halaman": pages})

    def item(self, i: int) -> dict[str, Any]:
        updated = self.updated(i)
        status = 99 if self.bad(i) else TAX_STATUSES[i % len(TAX_STATUSES)]
        return {"no_permohonan": f"PMH-{i:09d}", "kode_layanan": "NPWP-01", "npwp_or_nik": _nik(i),
                "kode_status": status, "tgl_status": _wib(updated - timedelta(hours=1), "%d/%m/%Y %H:%M"),
                "tgl_pengajuan": _wib(updated - timedelta(days=3), "%d/%m/%Y %H:%M"),
                "jatuh_tempo": _wib(updated + timedelta(days=14), "%d/%m/%Y"),
                "no_dokumen": f"NPWP/{i}" if status == 60 else None,
                "catatan_perbaikan": None, "terakhir_diubah": _wib(updated, "%d-%m-%Y %H:%M:%S")}


SPECS: dict[str, tuple[type[Agency], Path, int, dict[str, str]]] = {
    "jateng": (Jateng, ADAPTERS / "jateng" / "spec.yaml", 500, {"login": "mpp-bus", "password": "bench"}),
    "tax": (Tax, ADAPTERS / "tax" / "spec.yaml", 1000, {"password": "bench"}),
}


def read_once(name: str, agency: Agency, one_pass: bool) -> tuple[int, int, int]:
    """One whole read: (records, rejects, pages read in one pass). Item by item, each page is validated as the
    engine does it."""
    _, spec, page_size, connection = SPECS[name]
    instance = AgencyInstance.model_validate({"id": f"bench-{name}", "adapter": "rest", "name": name,
                                              "level": "provinsi", "page_size": page_size,
                                              "config": {"base_url": f"http://{name}", "spec_file": str(spec)}})
    adapter = RestAdapter.from_instance(instance, connection, session=session_for(FunctionTransport(agency)))
    if not one_pass:
        adapter.compiled[StreamName.APPLICATIONS].one_pass = None
    records = rejects = fast = 0
    with adapter:
        for page in adapter.read(StreamName.APPLICATIONS, None):
            if isinstance(page.records, CanonicalRecords):
                fast += 1
                records += len(page.records)
            else:
                good, bad = validate_page(Application, page.records, "application_id")
                records += len(good)
                rejects += len(bad)
            rejects += len(page.rejects)
    return records, rejects, fast


def measure(name: str, records: int, bad_every: int, repeat: int) -> dict[str, Any]:
    """Both routes over the same agency, taking turns (a machine that gets busier or quieter weighs on both), the
    best of ``repeat`` timed reads each."""
    agency = SPECS[name][0](records, bad_every)
    routes = {"item_by_item": False, "one_pass": True}
    counts = {route: read_once(name, agency, one_pass) for route, one_pass in routes.items()}  # untimed: the cache
    if counts["item_by_item"][:2] != counts["one_pass"][:2]:
        raise RuntimeError(f"{name}: the routes stored or rejected different counts: {counts}")
    best = {route: (float("inf"), float("inf")) for route in routes}
    for _ in range(repeat):
        for route, one_pass in routes.items():
            cpu, wall = time.process_time(), time.perf_counter()
            if read_once(name, agency, one_pass) != counts[route]:
                raise RuntimeError(f"{name}: two reads of the same data differ")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[route] = (min(best[route][0], cpu), min(best[route][1], wall))
    out: dict[str, Any] = {"spec": name, "records": records, "bad_every": bad_every}
    for route in routes:
        stored, rejected, fast = counts[route]
        out[route] = {"stored": stored, "rejected": rejected, "one_pass_pages": fast,
                      "cpu_us_per_record": round(best[route][0] / records * 1e6, 1),
                      "wall_us_per_record": round(best[route][1] / records * 1e6, 1)}
    out["speedup"] = round(out["item_by_item"]["cpu_us_per_record"] / out["one_pass"]["cpu_us_per_record"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mpp_bus.bench.declarative",
                                description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--specs", default="jateng,tax", help="comma-separated, of " + ", ".join(SPECS))
    p.add_argument("--bad-every", type=int, default=0, help="every K-th record has an unknown status (0: none)")
    p.add_argument("--repeat", type=int, default=3, help="timed reads per route; the best is reported")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.specs.split(",") if n.strip()]
    unknown = [n for n in names if n not in SPECS]
    if unknown or args.records < 1 or args.repeat < 1 or args.bad_every < 0:
        p.error(f"known specs: {', '.join(SPECS)}; records and repeat at least 1, bad-every at least 0")
    figures = [measure(n, args.records, args.bad_every, args.repeat) for n in names]
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'spec':8} {'route':13} {'stored':>8} {'rejected':>8} {'one-pass pages':>14} {'CPU us/rec':>10} "
          f"{'wall us/rec':>11}")
    for f in figures:
        for route in ("item_by_item", "one_pass"):
            r = f[route]
            print(f"{f['spec']:8} {route:13} {r['stored']:>8} {r['rejected']:>8} {r['one_pass_pages']:>14} "
                  f"{r['cpu_us_per_record']:>10} {r['wall_us_per_record']:>11}")
        print(f"{f['spec']:8} speed-up (CPU, item by item / one pass): {f['speedup']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
