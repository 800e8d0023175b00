"""The admin's one view in the Airflow UI: an *MPP agencies* page listing every agency instance with its last success,
lag, breaker state, open quarantine count, newest error and a link to its DAG.

It is an Airflow 3 plugin (entry point ``airflow.plugins``): a FastAPI app mounted on the API server at
``/mpp-bus`` and an external view that puts the page in the UI's navigation. The data comes from the store's own
health query (``Store.agency_summaries`` and ``breaker_states``), the same the admin API and ``mpp-bus agencies``
show; no NIK or name of a citizen is on it. The page needs a signed-in Airflow user.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/mpp-bus"


def _fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render_page(instances: Sequence[Any], summaries: Sequence[Any], breakers: dict[str, Any],
                now: datetime | None = None, dag_link: str = "../dags/") -> str:
    """The page's HTML from configured instances and the store's health (plain values, escaped)."""
    now = now or datetime.now(UTC)
    by_id = {s.agency_id: s for s in summaries}
    rows = []
    for instance in instances:
        summary = by_id.get(instance.id)
        last = summary.last_success_at if summary else None
        lag = (now - last).total_seconds() if last else None
        breaker = breakers.get(instance.id)
        state = str(getattr(getattr(breaker, "state", None), "value", "closed"))
        quarantined = summary.quarantined if summary else 0
        failing = bool(summary and summary.last_failure_at and (last is None or summary.last_failure_at > last))
        error = (summary.last_error or "") if failing and summary else ""
        dag = f"mpp_sync__{instance.id}"
        cls = "bad" if failing or state != "closed" else ("warn" if quarantined else "ok")
        rows.append(
            f'<tr class="{cls}" data-agency="{html.escape(instance.id)}"><td>{html.escape(instance.name)}<br>'
            f"<small>{html.escape(instance.id)}</small></td>"
            f"<td>{html.escape(last.isoformat(timespec='minutes') if last else 'never')}</td>"
            f"<td>{_fmt_age(lag)}</td><td>{html.escape(state)}</td><td>{quarantined}</td>"
            f"<td>{html.escape(error[:300])}</td>"
            f'<td><a href="{dag_link}{dag}" target="_top">{dag}</a></td></tr>'
        )
    body = "\n".join(rows) or '<tr><td colspan="7">No agency instances configured.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MPP agencies</title>
<style>body{{font-family:sans-serif;margin:1rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}}
tr.bad{{background:#fde8e8}}tr.warn{{background:#fff6dd}}</style></head>
<body><h1>MPP agencies</h1>
<p>{len(instances)} agency instances; health from the portal store (the same as <code>/api/v1/admin/health</code>).
Red: the newest run or check failed, or the breaker is not closed. Yellow: records in quarantine
(<code>mpp-bus quarantine list</code>).</p>
<table id="mpp-agencies"><thead><tr><th>Agency</th><th>Last success</th><th>Lag</th><th>Breaker</th>
<th>Quarantined</th><th>Newest error</th><th>DAG</th></tr></thead><tbody>
{body}
</tbody></table></body></html>"""


def create_app() -> Any:
    """The FastAPI app the API server mounts at ``/mpp-bus``."""
    from fastapi import Depends, FastAPI
    from fastapi.responses import HTMLResponse

    try:  # Airflow's own session check: the page is for signed-in users only.
        from airflow.api_fastapi.core_api.security import requires_authenticated

        guards = [Depends(requires_authenticated())]
    except ImportError:  # pragma: no cover - an Airflow without it
        guards = []

    app = FastAPI(title="mpp-bus agencies", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/agencies", response_class=HTMLResponse, dependencies=guards)
    def agencies_page() -> str:
        from mpp_bus.airflow.operators import build_bus

        bus = build_bus()
        try:
            return render_page(bus.instances, bus.store.agency_summaries(), bus.store.breaker_states())
        finally:
            bus.store.dispose()

    return app


class MppBusPlugin(AirflowPlugin):
    name = "mpp_bus"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "mpp-bus agencies"}]
    external_views = [{"name": "MPP agencies", "href": f"{URL_PREFIX}/agencies", "url_route": "mpp-agencies",
                       "destination": "nav", "category": "browse"}]
