"""Open alerts per agency (``agency_alerts``): the store decides, atomically, whether an alert is new.

A notifier asks ``raise_alert`` before it sends anything; only the first caller for an agency and kind since the
alert last resolved gets True, so retries of a failing task and every report run while an agency stays stale send
nothing more. ``resolve_alert`` closes it when the agency is healthy again; the next failure alerts anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from mpp_bus.store.tables import agency_alerts


@dataclass(frozen=True)
class AlertRecord:
    """One alert of one agency: open while ``resolved_at`` is None."""

    agency_id: str
    kind: str
    opened_at: datetime
    notified_at: datetime | None
    resolved_at: datetime | None
    message: str | None


def raise_alert(engine: Engine, agency_id: str, kind: str, message: str, *, now: datetime) -> bool:
    """Open the alert; True when it was not open already (the caller sends the notification), False otherwise."""
    reopened = (
        update(agency_alerts)
        .where(agency_alerts.c.agency_id == agency_id, agency_alerts.c.kind == kind,
               agency_alerts.c.resolved_at.is_not(None))
        .values(opened_at=now, notified_at=now, resolved_at=None, message=message)
    )
    with engine.begin() as conn:
        if conn.execute(reopened).rowcount:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(agency_alerts.insert().values(agency_id=agency_id, kind=kind, opened_at=now, notified_at=now,
                                                       resolved_at=None, message=message))
    except IntegrityError:  # already open (maybe by a concurrent task): keep its latest message, send nothing
        with engine.begin() as conn:
            conn.execute(update(agency_alerts)
                         .where(agency_alerts.c.agency_id == agency_id, agency_alerts.c.kind == kind)
                         .values(message=message))
        return False
    return True


def resolve_alert(engine: Engine, agency_id: str, kind: str, *, now: datetime) -> bool:
    """Close the alert if open; True when it was."""
    with engine.begin() as conn:
        result = conn.execute(
            update(agency_alerts)
            .where(agency_alerts.c.agency_id == agency_id, agency_alerts.c.kind == kind,
                   agency_alerts.c.resolved_at.is_(None))
            .values(resolved_at=now)
        )
    return bool(result.rowcount)


def alerts(engine: Engine, *, open_only: bool = True) -> list[AlertRecord]:
    stmt = select(agency_alerts).order_by(agency_alerts.c.agency_id, agency_alerts.c.kind)
    if open_only:
        stmt = stmt.where(agency_alerts.c.resolved_at.is_(None))
    with engine.connect() as conn:
        return [AlertRecord(r.agency_id, r.kind, r.opened_at, r.notified_at, r.resolved_at, r.message)
                for r in conn.execute(stmt)]
