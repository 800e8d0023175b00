"""The citizen pages, in Indonesian: "Lacak Permohonan" (tracking) and "Cari Layanan" (catalog search).

The portal's single sign-on posts its token to ``/masuk`` (the form-post response mode), which keeps it in an
HttpOnly session cookie; every page checks it exactly as the API checks a bearer token. Pages render on the server,
so they work without JavaScript and read the same queries and views as the API.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mpp_bus.api.auth import AuthenticationError, Principal
from mpp_bus.api.catalog import detail as service_detail
from mpp_bus.api.catalog import summary
from mpp_bus.api.context import ApiContext, context
from mpp_bus.api.csrf import csrf_field, require_csrf
from mpp_bus.api.tracking import TRACKING_PURPOSE, applications_of
from mpp_bus.canonical import Channel, Status, category_label
from mpp_bus.canonical.entities import REGION_CODE
from mpp_bus.regions import provinces, regencies
from mpp_bus.store import CatalogFilter

SESSION_COOKIE = "mpp_sesi"
PAGE_SIZE = 20
WIB = timezone(timedelta(hours=7), "WIB")
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def tanggal(value: datetime | None, with_time: bool = True) -> str:
    """``5 Juli 2024 14.30 WIB``: how Indonesian pages write a moment."""
    if value is None:
        return "-"
    if not isinstance(value, datetime):  # a plain date
        return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    local = value.astimezone(WIB)
    text = f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{text} {local:%H.%M} WIB" if with_time else text


def sejak(value: datetime | None, now: datetime) -> str:
    """``3 jam yang lalu``: how long ago, in words."""
    if value is None:
        return "belum pernah"
    seconds = max(0, int((now - value).total_seconds()))
    for unit, size in (("hari", 86400), ("jam", 3600), ("menit", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} yang lalu"
    return "baru saja"


def rupiah(value: int) -> str:
    return "Gratis" if value == 0 else "Rp" + f"{value:,}".replace(",", ".")


templates.env.filters.update(tanggal=tanggal, rupiah=rupiah)
templates.env.globals.update(csrf_field=csrf_field)


def session(request: Request, ctx: ApiContext) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return ctx.tokens.principal(token)
    except AuthenticationError:
        return None


def to_sign_in(reason: str) -> RedirectResponse:
    response = RedirectResponse(f"/masuk?{urlencode({'alasan': reason})}", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


SIGN_IN_REASONS = {
    "perlu-masuk": "Silakan masuk terlebih dahulu untuk melanjutkan.",
    "sesi-berakhir": "Sesi Anda telah berakhir. Silakan masuk kembali.",
    "token-tidak-sah": "Token masuk tidak sah atau sudah kedaluwarsa. Silakan masuk kembali melalui portal.",
    "bukan-warga": "Akun ini tidak memiliki NIK, sehingga tidak dapat melacak permohonan.",
    "keluar": "Anda telah keluar.",
}


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/lacak", status.HTTP_303_SEE_OTHER)


@router.get("/masuk", response_class=HTMLResponse)
def sign_in_form(request: Request, alasan: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    return templates.TemplateResponse(request, "masuk.html", {"pesan": SIGN_IN_REASONS.get(alasan or "")})


@router.post("/masuk", dependencies=[Depends(require_csrf)])
async def sign_in(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        ctx.tokens.principal(token)
    except AuthenticationError:
        return to_sign_in("token-tidak-sah")
    response = RedirectResponse("/lacak", status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=ctx.settings.cookie_secure or ctx.environment == "production")
    return response


@router.post("/keluar", dependencies=[Depends(require_csrf)])
def sign_out() -> Response:
    return to_sign_in("keluar")


@router.get("/lacak", response_class=HTMLResponse)
def tracking_page(
    request: Request,
    ctx: Annotated[ApiContext, Depends(context)],
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    instansi: Annotated[str | None, Query(max_length=64)] = None,
    nomor: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    who = session(request, ctx)
    if who is None:
        return to_sign_in("sesi-berakhir" if request.cookies.get(SESSION_COOKIE) else "perlu-masuk")
    if not who.is_citizen:
        return to_sign_in("bukan-warga")
    views = applications_of(ctx, who.nik_hash or "")
    ctx.audit_read(who, "applications.list", f"applications:{len(views)}", subject_nik_hash=who.nik_hash,
                   purpose=TRACKING_PURPOSE + " (portal page)")
    now = ctx.clock()
    # A citizen's applications are few: filter the views the API also serves rather than ask the store again.
    agencies = sorted({(v.agency.id, v.agency.name) for v in views}, key=lambda a: a[1])
    chosen_status = status_ if status_ in {s.value for s in Status} else None
    number = (nomor or "").strip().lower()
    shown = [v for v in views if (chosen_status is None or v.status == chosen_status)
             and (not instansi or v.agency.id == instansi) and (not number or number in v.application_id.lower())]
    return templates.TemplateResponse(request, "lacak.html", {
        "who": who,
        "permohonan": shown,
        "semua": len(views),
        "status_list": list(Status),
        "instansi_list": agencies,
        "isian": {"status": chosen_status or "", "instansi": instansi or "", "nomor": nomor or ""},
        "batas_basi": ctx.settings.stale_after_hours,
        "sejak": lambda value: sejak(value, now),
        "hari_ini": now.astimezone(WIB).date(),
    })


@router.get("/layanan", response_class=HTMLResponse)
def catalog_page(
    request: Request,
    ctx: Annotated[ApiContext, Depends(context)],
    q: Annotated[str | None, Query(max_length=100)] = None,
    kategori: Annotated[str | None, Query(max_length=100)] = None,
    wilayah: Annotated[str | None, Query(max_length=100)] = None,
    kanal: Annotated[str | None, Query(max_length=20)] = None,
    halaman: Annotated[int, Query(ge=1, le=5000)] = 1,
) -> Response:
    who = session(request, ctx)  # the catalog is public; a session only changes the header
    problems = []
    region = (wilayah or "").strip() or None
    if region and not _is_region(region):
        region = _region_named(region)  # a name typed or picked from the list
        if region is None:
            problems.append("Wilayah tidak dikenal: pilih nama provinsi atau kabupaten/kota dari daftar, atau tulis "
                            "kode Kemendagri, misalnya 33.14.")
    channel = kanal if kanal in {c.value for c in Channel} else None
    where = CatalogFilter(text=(q or "").strip() or None, category=kategori or None, region=region,
                                  channel=channel)
    total, rows = ctx.store.search_services(where, limit=PAGE_SIZE, offset=(halaman - 1) * PAGE_SIZE)
    kategori_list = [(code, category_label(code), count) for code, count in ctx.store.service_categories()]
    return templates.TemplateResponse(request, "layanan.html", {
        "who": who,
        "layanan": [summary(r) for r in rows],
        "total": total,
        "halaman": halaman,
        "halaman_terakhir": max(1, -(-total // PAGE_SIZE)),
        "kategori_list": kategori_list,
        "kanal_list": list(Channel),
        "wilayah_list": _region_names(),
        "isian": {"q": q or "", "kategori": kategori or "", "wilayah": wilayah or "", "kanal": channel or ""},
        "masalah": problems,
        "tautan": lambda page: "/layanan?" + urlencode({**{k: v for k, v in {
            "q": q, "kategori": kategori, "wilayah": region, "kanal": channel}.items() if v}, "halaman": page}),
    })


@router.get("/layanan/{agency_id}/{code}", response_class=HTMLResponse)
def service_page(request: Request, ctx: Annotated[ApiContext, Depends(context)], agency_id: str,
                 code: str) -> Response:
    who = session(request, ctx)  # the catalog is public; a session only changes the header
    try:
        service = service_detail(ctx, agency_id, code)
    except HTTPException as exc:  # the API's 404 becomes the page's own message
        if exc.status_code != status.HTTP_404_NOT_FOUND:
            raise
        return templates.TemplateResponse(request, "pesan.html", {
            "who": who, "judul": "Layanan tidak ditemukan",
            "pesan": "Layanan yang Anda cari tidak tersedia atau sudah tidak diberikan lagi.",
        }, status_code=status.HTTP_404_NOT_FOUND)
    return templates.TemplateResponse(request, "layanan_detail.html", {"who": who, "s": service})


def _is_region(value: str) -> bool:
    return re.fullmatch(REGION_CODE, value) is not None


@lru_cache(maxsize=1)
def _region_names() -> tuple[tuple[str, str], ...]:
    """(name, code) of every province and regency, for the region picker; names as Kemendagri writes them."""
    return tuple(sorted([(p.name, p.code) for p in provinces()] + [(r.name, r.code) for r in regencies()]))


def _region_named(value: str) -> str | None:
    wanted = " ".join(value.lower().replace("kab.", "kabupaten").split())
    matches = [code for name, code in _region_names() if name.lower() == wanted]
    if not matches:  # "sragen" for "Kabupaten Sragen", when only one region has that name
        matches = [code for name, code in _region_names()
                   if name.lower().removeprefix("kabupaten ").removeprefix("kota ").removeprefix("provinsi ") == wanted]
    return matches[0] if len(matches) == 1 else None
