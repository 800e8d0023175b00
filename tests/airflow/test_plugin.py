"""The admin's page in the Airflow UI: every configured instance with last success, lag, breaker, quarantine and a
link to its DAG, from the store's health query."""

from __future__ import annotations

from mpp_bus.airflow.plugin import MppBusPlugin, render_page
from mpp_bus.airflow.report import Freshness  # noqa: F401 - the page and the report read the same health
from mpp_bus.config import AgencyInstance
from mpp_bus.store import create_store
from tests.api.seed import seed


def test_page_lists_every_instance_from_the_store_health(db_url) -> None:
    store = create_store(db_url, upgrade=True)
    try:
        seed(store)
        instances = [
            AgencyInstance(id="dpmptsp-3314", adapter="licensing", name="DPMPTSP Kabupaten Sragen",
                           level="kabupaten_kota", region_code="33.14"),
            AgencyInstance(id="baru", adapter="licensing", name="Never <synced>", level="pusat"),
        ]
        page = render_page(instances, store.agency_summaries(), store.breaker_states())
    finally:
        store.dispose()
    assert 'data-agency="dpmptsp-3314"' in page and "DPMPTSP Kabupaten Sragen" in page
    assert "mpp_sync__dpmptsp-3314" in page and "Never &lt;synced&gt;" in page
    assert page.count("<tr class=") == 2


def test_plugin_registers_an_app_and_a_nav_view() -> None:
    assert MppBusPlugin.fastapi_apps[0]["url_prefix"] == "/mpp-bus"
    view = MppBusPlugin.external_views[0]
    assert view["url_route"] and view["href"] == "/mpp-bus/agencies"
