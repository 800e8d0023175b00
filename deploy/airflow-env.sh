# Environment shared by the Airflow scripts: sourced, not run. Everything can be overridden from the caller.
# shellcheck shell=bash
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
BIN="${BIN:-$ROOT/.venv/bin}"
export PATH="$BIN:$PATH"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/var/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/dags}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:${AIRFLOW__API__PORT}/execution/}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/passwords.json}"
# Airflow's metadata lives in PostgreSQL (database mpp_airflow, created by airflow-setup.sh when missing): on SQLite
# the scheduler dies with "database is locked" as soon as a few dozen agencies run at once. AIRFLOW_METADATA=sqlite
# keeps it in $AIRFLOW_HOME/airflow.db for a quick look without PostgreSQL.
AIRFLOW_METADATA="${AIRFLOW_METADATA:-postgres}"
if [ "$AIRFLOW_METADATA" != "sqlite" ]; then
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-${AIRFLOW_PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}/${AIRFLOW_META_DB:-mpp_airflow}}"
  # psycopg 3 also serves Airflow's async engine (otherwise Airflow looks for asyncpg).
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC:-$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}"
fi
# A demo on a small machine: a few task processes, not one per core times 16 (32 idle workers, about 1.9 GB).
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-8}"
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="${AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG:-4}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
# One DAG file builds every agency's DAGs: re-parsing it every 30 s (Airflow's default) kept most of a core busy at
# 600 agencies with nothing changed (a parse 6-9 s, storing the serialized DAGs 20-40 s more). Every 5 minutes instead; a change to the DAG file itself is parsed at once, a change
# to the agencies file within 5 minutes (or at once with `touch dags/mpp_sync.py`). Keep in step with PARSE_INTERVAL
# in mpp_bus/airflow/sweep.py.
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="${AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL:-300}"
export AIRFLOW__CELERY__WORKER_CONCURRENCY="${AIRFLOW__CELERY__WORKER_CONCURRENCY:-4}"
export MPP_AGENCIES_FILE="${MPP_AGENCIES_FILE:-$ROOT/agencies.yaml}"
export MPP_DATABASE_URL="${MPP_DATABASE_URL:-sqlite:///$ROOT/var/mpp-bus.db}"
export MPP_ENVIRONMENT="${MPP_ENVIRONMENT:-development}"
# The ports agencies.yaml points at.
MOCK_PORTS="--dukcapil-port 8701 --licensing-port 8702 --tax-port 8703"
