"""The outbox's Airflow assets, shared by the factory (which schedules the dispatch DAGs on them) and the watcher's
operator (which emits their events). Kept apart from both so neither imports the other."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

OUTBOX_ALIAS = "mpp_outbox_due"


def outbox_asset(agency_id: str) -> Asset:
    """Updated when submissions for this agency are due (emitted by the outbox watcher), so its dispatch DAG runs."""
    return Asset(name=f"mpp_outbox__{agency_id}", uri=f"mpp://outbox/{agency_id}", group="mpp-outbox")


def outbox_alias() -> AssetAlias:
    """The watcher's one outlet: it resolves at run time to the outbox assets of the agencies with due submissions,
    which a task cannot declare when it is parsed."""
    return AssetAlias(name=OUTBOX_ALIAS, group="mpp-outbox")
