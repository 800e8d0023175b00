"""Apache Airflow integration: the DAG factory, the operators and the freshness report.

- ``mpp_bus.airflow.factory.build_dags()``: one ``mpp_sync__<agency id>`` DAG per configured agency instance and
  the ``mpp_report`` DAG; what the files in ``dags/`` call.
- ``mpp_bus.airflow.operators.MppSyncOperator``: sync one stream of one agency in any DAG.
- ``mpp_bus.airflow.report``: the report DAG's work: refresh the performance snapshot, judge each agency's freshness.
- ``mpp_bus.airflow.generate``: an agencies file for every region (needs no Airflow).
- ``python -m mpp_bus.airflow pools``: the pool of every agency, for ``airflow pools import``.

Importing this package does not import Airflow; its modules that need Airflow import it themselves.
"""

from __future__ import annotations
