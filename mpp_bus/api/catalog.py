"""The service catalog: search by text, category, region and channel; a service's requirements and locations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from mpp_bus.api.context import Context
from mpp_bus.api.models import AgencyRef, Labelled, Page, Region, ServiceDetail, ServiceSummary
from mpp_bus.canonical import Channel, Document, category_label
from mpp_bus.canonical.entities import REGION_CODE
from mpp_bus.errors import ConfigError
from mpp_bus.regions import province, regency
from mpp_bus.store import CatalogFilter, CatalogService

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


@router.get("/services", summary="Search the service catalog")
def search(
    ctx: Context,
    q: Annotated[str | None, Query(max_length=100, description="Words in the name, description, category or "
                                                               "agency.")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, Query(pattern=REGION_CODE, description="Kemendagri code, e.g. 33.14: services "
                                                                         "offered there.")] = None,
    channel: Channel | None = None,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Page[ServiceSummary]:
    """Services on offer (withdrawn ones excluded): best match first when ``q`` is given (word order, small typos
    and old names such as IMB for PBG are tolerated), otherwise ordered by agency and code. The catalog is public
    information: no sign-in is needed."""
    where = CatalogFilter(text=(q or "").strip() or None, category=category, region=region,
                                  channel=channel.value if channel else None, agency_id=agency)
    total, rows = ctx.store.search_services(where, limit=limit, offset=offset)
    return Page[ServiceSummary](total=total, limit=limit, offset=offset, items=[summary(r) for r in rows])


@router.get("/categories", summary="Categories of the services on offer")
def list_categories(ctx: Context) -> list[Labelled]:
    """The category vocabulary's codes in use, each with its Indonesian label and how many services it holds."""
    return [Labelled(code=code, label=f"{category_label(code)} ({count})")
            for code, count in ctx.store.service_categories()]


@router.get("/services/{agency_id}/{code}", summary="One service: requirements, fee, SLA and where it is offered",
            responses={404: {"description": "No such service on offer."}})
def detail(ctx: Context, agency_id: str, code: str) -> ServiceDetail:
    row = ctx.store.service_detail(agency_id, code)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"agency {agency_id} offers no service {code!r}")
    return ServiceDetail(
        **summary(row).model_dump(),
        description=row.description,
        requirements=[document(code) for code in row.requirements],
        output_document=row.output_document,
        legal_basis=row.legal_basis,
        locations=[region_of(code) for code in row.locations],
        source_updated_at=row.source_updated_at,
        synced_at=row.synced_at,
    )


def summary(row: CatalogService) -> ServiceSummary:
    return ServiceSummary(
        agency=AgencyRef(id=row.agency_id, name=row.agency_name, level=row.agency_level,
                         region_code=row.agency_region_code),
        code=row.code,
        name=row.name,
        category=row.category,
        category_label=category_label(row.category),
        sla_working_days=row.sla_working_days,
        fee_idr=row.fee_idr,
        channels=[channel_of(c) for c in row.channels],
    )


def document(code: str) -> Labelled:
    try:
        return Labelled(code=code, label=Document(code).label)
    except ValueError:
        return Labelled(code=code, label=code)


def channel_of(code: str) -> Labelled:
    try:
        return Labelled(code=code, label=Channel(code).label)
    except ValueError:
        return Labelled(code=code, label=code)


def region_of(code: str) -> Region:
    try:
        name = province(code).name if "." not in code else regency(code).name if code.count(".") == 1 else None
    except ConfigError:
        name = None
    return Region(code=code, name=name)
