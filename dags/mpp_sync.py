"""One sync DAG per agency instance in the agencies file (MPP_AGENCIES_FILE), and the report DAG.

Kept thin on purpose: the DAGs are built by mpp_bus.airflow.factory, which does no network or database I/O.
"""

from __future__ import annotations

from mpp_bus.airflow.factory import build_dags

globals().update(build_dags())
