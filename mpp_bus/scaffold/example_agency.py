"""The example agency a new adapter is generated against: a small regional REST API as a plain function.

``mpp-bus new-adapter`` records this agency's responses (through ``FunctionTransport``, no network) as the new
package's fixture, so the package passes its own tests as generated. Its data are synthetic and deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mpp_bus.testing.transport import Reply, Request

API_KEY = "example-key"
START = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)
STATUSES = ["BARU", "VERIFIKASI", "PERBAIKAN", "DIPROSES", "DISETUJUI", "DITOLAK", "SELESAI", "BATAL"]
SERVICES = [
    {"code": "IMB-01", "name": "Persetujuan Bangunan Gedung", "description": "Izin mendirikan bangunan.",
     "category": "perizinan", "requirements": ["KTP", "KK", "DENAH_LOKASI"], "output": "PBG", "sla_days": 14,
     "fee": 150000, "legal_basis": "Perda 3/2023", "channels": ["loket", "online"]},
    {"code": "SIUP-02", "name": "Izin Usaha Mikro", "description": "Izin usaha mikro dan kecil.",
     "category": "perizinan", "requirements": ["KTP", "NIB"], "output": "IUMK", "sla_days": 3, "fee": 0,
     "legal_basis": "Perbup 12/2022", "channels": ["online"]},
    {"code": "REK-03", "name": "Izin Reklame", "description": "Izin pemasangan reklame.", "category": "perizinan",
     "requirements": ["KTP", "SURAT_PERMOHONAN"], "output": "SIR", "sla_days": 5, "fee": 50000,
     "legal_basis": "Perda 7/2021", "channels": ["loket"]},
]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _nik(i: int) -> str:
    # Kota Surakarta (33.72), district 01; birth dates spread over the 1980s; women have 40 added to the day.
    day = 1 + i % 28 + (40 if i % 2 else 0)
    return f"337201{day:02d}{1 + i % 12:02d}{80 + i % 10:02d}{1 + i:04d}"


def applications(count: int = 36) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        submitted = START + timedelta(hours=5 * i)
        updated = submitted + timedelta(hours=2 + i % 3)  # a few share one update time: the keyset must cope
        status = STATUSES[i % len(STATUSES)]
        out.append({"number": f"REG-{i + 1:05d}", "service": SERVICES[i % len(SERVICES)]["code"], "nik": _nik(i),
                    "status": status, "submitted_at": _iso(submitted), "status_at": _iso(updated),
                    "updated_at": _iso(updated.replace(minute=0)),
                    "due_date": (submitted.date() + timedelta(days=14)).isoformat(),
                    "document": f"DOC/{i + 1:05d}" if status == "SELESAI" else None})
    return sorted(out, key=lambda a: (a["updated_at"], a["number"]))


def handle(request: Request, data: list[dict[str, Any]] | None = None) -> Reply:
    """The whole example API."""
    if request.headers.get("X-Api-Key") != API_KEY:
        return Reply(401, {"error": "invalid api key"})
    if request.path == "/api/services":
        return Reply(200, {"items": SERVICES})
    if request.path != "/api/applications":
        return Reply(404, {"error": "not found"})
    rows = data if data is not None else applications()
    limit = int(request.query.get("limit", "100"))
    if request.query.get("after"):
        updated, _, number = request.query["after"].partition("|")
        rows = [a for a in rows if (a["updated_at"], a["number"]) > (updated, number)]
    elif request.query.get("changed_since"):
        since = datetime.fromisoformat(request.query["changed_since"])
        rows = [a for a in rows if datetime.fromisoformat(a["updated_at"]) >= since]
    page = rows[:limit]
    more = len(rows) > limit
    return Reply(200, {"items": page, "next": f"{page[-1]['updated_at']}|{page[-1]['number']}" if more else None})


