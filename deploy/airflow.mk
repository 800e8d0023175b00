# Airflow targets, included by the root Makefile. See deploy/README.md.
.PHONY: airflow airflow-setup airflow-agency-down airflow-agency-up airflow-celery-up airflow-celery-down \
        airflow-bench-parse airflow-dags-test

AGENCY ?= tax
MOCK_ADMIN_PORT_dukcapil := 8701
MOCK_ADMIN_PORT_licensing := 8702
MOCK_ADMIN_PORT_tax := 8703

## airflow: start Airflow standalone with the mock agencies, DAGs, pools and Connections (UI on :8080)
airflow: install
	deploy/airflow-standalone.sh

## airflow-setup: only prepare var/airflow (metadata DB, store, pools, Connections)
airflow-setup: install
	deploy/airflow-setup.sh

## airflow-agency-down AGENCY=tax|licensing|dukcapil: put a running mock agency into maintenance (503)
airflow-agency-down:
	curl -fsS -X POST -H 'X-Admin-Token: mock-admin' -H 'Content-Type: application/json' \
	  -d '{"profile": "maintenance", "rate": 1.0}' http://127.0.0.1:$(MOCK_ADMIN_PORT_$(AGENCY))/admin/faults; echo

## airflow-agency-up AGENCY=...: bring it back
airflow-agency-up:
	curl -fsS -X POST -H 'X-Admin-Token: mock-admin' -H 'Content-Type: application/json' \
	  -d '{"profile": "none"}' http://127.0.0.1:$(MOCK_ADMIN_PORT_$(AGENCY))/admin/faults; echo

## airflow-celery-up / airflow-celery-down: the CeleryExecutor cluster (Redis, PostgreSQL, two workers)
airflow-celery-up: install
	deploy/celery-cluster.sh up

airflow-celery-down:
	deploy/celery-cluster.sh down

## airflow-bench-parse: time one parse of dags/ with a generated config of 600 agency instances
airflow-bench-parse: install
	$(BIN)/python -m mpp_bus.airflow bench-parse --count 600

## airflow-dags-test DAG=mpp_sync__oss: `airflow dags test` one DAG against the running mock agencies
DAG ?= mpp_sync__oss
airflow-dags-test: install
	. deploy/airflow-env.sh && airflow dags test $(DAG)
