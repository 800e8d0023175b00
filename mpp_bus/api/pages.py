"""The citizen pages, in Indonesian: "Lacak Permohonan" (tracking) and "Cari Layanan" (catalog search).

Citizens sign in with the national single sign-on ("Masuk dengan SSO MPP Digital"): the pages are its OpenID Connect
relying party (``oidc``) and keep a server-side session (``session``) behind an opaque HttpOnly cookie. Pages that
show personal data are never cached, so Back after "Keluar" shows nothing. Pages render on the server, so they work
without JavaScript and read the same queries and views as the API.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mpp_bus.api.auth import AuthenticationError, Principal
from mpp_bus.api.catalog import detail as service_detail
from mpp_bus.api.catalog import summary
from mpp_bus.api.context import ApiContext, context
from mpp_bus.api.csrf import csrf_field, require_csrf
from mpp_bus.api.oidc import OidcError
from mpp_bus.api.session import SESSION_COOKIE, SIGN_IN_COOKIE, safe_return_path
from mpp_bus.api.submissions import submission_view
from mpp_bus.api.tracking import TRACKING_PURPOSE, applications_of
from mpp_bus.canonical import Channel, Status, category_label
from mpp_bus.canonical.entities import REGION_CODE
from mpp_bus.regions import provinces, regencies
from mpp_bus.store import CatalogFilter

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


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def private(response: Response) -> Response:
    """Personal pages are never kept by the browser or a proxy: Back after "Keluar" must show nothing."""
    response.headers.update(NO_STORE)
    return response


def session(request: Request, ctx: ApiContext) -> Principal | None:
    return ctx.sessions.principal(request.cookies.get(SESSION_COOKIE))


def to_sign_in(reason: str, back_to: str | None = None) -> RedirectResponse:
    query = {"alasan": reason, **({"lanjut": back_to} if back_to else {})}
    response = RedirectResponse(f"/masuk?{urlencode(query)}", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    private(response)
    return response


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


SIGN_IN_REASONS = {
    "perlu-masuk": "Silakan masuk terlebih dahulu untuk melanjutkan.",
    "sesi-berakhir": "Sesi Anda telah berakhir. Silakan masuk kembali.",
    "gagal-masuk": "Proses masuk tidak dapat diselesaikan atau sudah kedaluwarsa. Silakan coba lagi.",
    "sso-tidak-tersedia": "Layanan SSO MPP Digital sedang tidak dapat dihubungi. Silakan coba lagi nanti.",
    "bukan-warga": "Akun ini tidak memiliki NIK, sehingga tidak dapat melacak permohonan.",
    "keluar": "Anda telah keluar.",
}


# Chromium keeps even no-store pages in its back/forward cache and shows them on Back without asking the server; a
# page restored that way asks again, and after "Keluar" the server answers with the sign-in page.
SESSION_SCRIPT = """addEventListener("pageshow", function (event) { if (event.persisted) { location.reload(); } });
"""


@router.get("/aset/sesi.js")
def session_script() -> Response:
    return Response(SESSION_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/lacak", status.HTTP_303_SEE_OTHER)


@router.get("/masuk", response_class=HTMLResponse)
def sign_in_page(request: Request, alasan: Annotated[str | None, Query(max_length=40)] = None,
                 lanjut: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return private(templates.TemplateResponse(request, "masuk.html", {
        "pesan": SIGN_IN_REASONS.get(alasan or ""), "lanjut": safe_return_path(lanjut)}))


@router.get("/auth/masuk")
def sign_in_start(request: Request, ctx: Annotated[ApiContext, Depends(context)],
                  lanjut: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """Off to the single sign-on: state, nonce and the PKCE verifier stay server-side, bound to this browser."""
    if ctx.oidc is None:
        return to_sign_in("sso-tidak-tersedia")
    try:
        start = ctx.oidc.begin()
    except OidcError:
        return to_sign_in("sso-tidak-tersedia")
    sessions = ctx.sessions
    cookie = sessions.begin_sign_in({"state": start.state, "nonce": start.nonce, "verifier": start.verifier,
                                     "lanjut": safe_return_path(lanjut)})
    response = private(RedirectResponse(start.url, status.HTTP_303_SEE_OTHER))
    sessions.set_cookie(response, SIGN_IN_COOKIE, cookie, max_age=ctx.settings.sign_in_seconds)
    return response


@router.get("/auth/callback")
def sign_in_callback(request: Request, ctx: Annotated[ApiContext, Depends(context)],
                     code: Annotated[str | None, Query(max_length=2000)] = None,
                     state: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """Back from the single sign-on: the state must be this browser's, the ID token valid, then a session."""
    sessions = ctx.sessions
    pending = sessions.finish_sign_in(request.cookies.get(SIGN_IN_COOKIE))  # single use, whatever happens next
    if ctx.oidc is None or pending is None or not code or not _same_state(state, pending.get("state")):
        return _failed_sign_in("gagal-masuk")
    try:
        tokens = ctx.oidc.exchange(code, str(pending["verifier"]))
        claims = ctx.oidc.id_token_claims(tokens.id_token, str(pending["nonce"]))
        who = ctx.tokens.principal_of(claims)
    except (OidcError, AuthenticationError):
        return _failed_sign_in("gagal-masuk")
    response = private(RedirectResponse(safe_return_path(str(pending.get("lanjut") or "")),
                                        status.HTTP_303_SEE_OTHER))
    sessions.set_cookie(response, SESSION_COOKIE, sessions.create(who, tokens.id_token))
    sessions.clear_cookie(response, SIGN_IN_COOKIE)
    return response


def _same_state(sent: str | None, kept: object) -> bool:
    return bool(sent) and isinstance(kept, str) and hmac.compare_digest((sent or "").encode(), kept.encode())


def _failed_sign_in(reason: str) -> Response:
    response = to_sign_in(reason)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


@router.post("/keluar", dependencies=[Depends(require_csrf)])
def sign_out(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> Response:
    """End the session here (deleted from the store) and at the single sign-on (RP-initiated logout)."""
    id_token = ctx.sessions.end(request.cookies.get(SESSION_COOKIE))
    target = ctx.oidc.end_session_url(id_token) if ctx.oidc is not None and id_token else None
    response = to_sign_in("keluar")
    # Back must not bring a personal page back from the browser's memory (its back/forward cache keeps even
    # no-store pages in some versions): clear this site's caches
    response.headers["Clear-Site-Data"] = '"cache"'
    if target:
        response.headers["location"] = target
    return response


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
        return to_sign_in("sesi-berakhir" if request.cookies.get(SESSION_COOKIE) else "perlu-masuk", _here(request))
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
    return private(templates.TemplateResponse(request, "lacak.html", {
        "who": who,
        "permohonan": shown,
        "semua": len(views),
        "status_list": list(Status),
        "instansi_list": agencies,
        "isian": {"status": chosen_status or "", "instansi": instansi or "", "nomor": nomor or ""},
        "batas_basi": ctx.settings.stale_after_hours,
        "sejak": lambda value: sejak(value, now),
        "hari_ini": now.astimezone(WIB).date(),
        "pengajuan": [submission_view(r) for r in ctx.store.citizen_submissions(who.nik_hash or "")],
    }))


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
    return private(templates.TemplateResponse(request, "layanan.html", {
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
    }))


@router.get("/layanan/{agency_id}/{code}", response_class=HTMLResponse)
def service_page(request: Request, ctx: Annotated[ApiContext, Depends(context)], agency_id: str,
                 code: str) -> Response:
    who = session(request, ctx)  # the catalog is public; a session only changes the header
    try:
        service = service_detail(ctx, agency_id, code)
    except HTTPException as exc:  # the API's 404 becomes the page's own message
        if exc.status_code != status.HTTP_404_NOT_FOUND:
            raise
        return private(templates.TemplateResponse(request, "pesan.html", {
            "who": who, "judul": "Layanan tidak ditemukan",
            "pesan": "Layanan yang Anda cari tidak tersedia atau sudah tidak diberikan lagi.",
        }, status_code=status.HTTP_404_NOT_FOUND))
    takes = ctx.outbox is not None and ctx.forms is not None and ctx.forms(agency_id, code) is not None
    return private(templates.TemplateResponse(request, "layanan_detail.html", {"who": who, "s": service,
                                                                               "bisa_diajukan": takes}))


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
