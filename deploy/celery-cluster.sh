#!/usr/bin/env bash
# A CeleryExecutor cluster on one machine: Redis as the broker, PostgreSQL as Airflow's metadata database and as
# the portal store, an API server, a scheduler, a DAG processor and two Celery workers. See deploy/README.md.
#
#   deploy/celery-cluster.sh up      start everything in the background (PIDs in $AIRFLOW_HOME/pids)
#   deploy/celery-cluster.sh down    stop what `up` started, by PID
#
# Every setting below can be overridden from the environment (the test runs it on free ports and fresh databases).
set -euo pipefail
source "$(dirname "$0")/airflow-env.sh"

export AIRFLOW_HOME="${CELERY_AIRFLOW_HOME:-$ROOT/var/airflow-celery}"
PG="${PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}"
META_DB="${META_DB:-airflow_meta}"
STORE_DB="${STORE_DB:-mpp_portal}"
REDIS_PORT="${REDIS_PORT:-6380}"
API_PORT="${API_PORT:-8081}"
WORKERS="${WORKERS:-2}"
WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-2}"
PIDS="$AIRFLOW_HOME/pids"
LOGS="$AIRFLOW_HOME/process-logs"

export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$PG/$META_DB"
# psycopg 3 also serves Airflow's async engine (otherwise Airflow looks for asyncpg).
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="$PG/$META_DB"
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+${PG}/$META_DB"
export AIRFLOW__CELERY__WORKER_CONCURRENCY="$WORKER_CONCURRENCY"
export AIRFLOW__API__PORT="$API_PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export MPP_DATABASE_URL="${MPP_DATABASE_URL_OVERRIDE:-$PG/$STORE_DB}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"

start() {  # name, command...: run in its own session so `down` can stop it and its children by PID
  local name=$1; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! >"$PIDS/$name.pid"
}

up() {
  mkdir -p "$PIDS" "$LOGS"
  # One JWT secret for every process: workers authenticate to the API server's execution API with it.
  if [ ! -s "$AIRFLOW_HOME/jwt_secret" ]; then
    python -c "import secrets; print(secrets.token_urlsafe(32))" >"$AIRFLOW_HOME/jwt_secret"
  fi
  AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$AIRFLOW_HOME/jwt_secret")"
  export AIRFLOW__API_AUTH__JWT_SECRET

  for db in "$META_DB" "$STORE_DB"; do
    python - "$PG" "$db" <<'PY'
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1] + "/postgres", isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": sys.argv[2]}).scalar():
        conn.execute(text(f'CREATE DATABASE "{sys.argv[2]}"'))
PY
  done

  start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
  "$(dirname "$0")/airflow-setup.sh"
  start api-server airflow api-server --port "$API_PORT"
  start scheduler airflow scheduler
  start dag-processor airflow dag-processor
  # By default the workers serve every queue the agencies file names (regional instances carry `queue:` per island
  # group): a queue nobody serves would leave its agencies queued forever.
  local named
  named="$(python - "$MPP_AGENCIES_FILE" <<'PY'
import sys
from pathlib import Path
from mpp_bus.config import load_agencies
print(",".join(sorted({"default"} | {i.queue for i in load_agencies(Path(sys.argv[1])) if i.queue})))
PY
)"
  CELERY_QUEUES="${CELERY_QUEUES:-$named}"
  local q
  for q in ${named//,/ }; do
    case ",$CELERY_QUEUES," in
      *",$q,"*) ;;
      *) echo "WARNING: queue '$q' is named in $MPP_AGENCIES_FILE but no worker serves it (CELERY_QUEUES=$CELERY_QUEUES); its agencies will wait forever" >&2 ;;
    esac
  done
  for n in $(seq 1 "$WORKERS"); do
    # Only the first worker serves its logs on the default port; the others would collide on one machine.
    skip=(); [ "$n" -gt 1 ] && skip=(-s)
    start "worker$n" airflow celery worker -H "worker$n@%h" -q "$CELERY_QUEUES" "${skip[@]}"
  done

  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$API_PORT/api/v2/monitor/health" >/dev/null 2>&1; then
      echo "celery cluster up: UI http://127.0.0.1:$API_PORT, $WORKERS workers, logs in $LOGS"
      return 0
    fi
    sleep 1
  done
  echo "the API server did not come up; see $LOGS/api-server.log" >&2
  return 1
}

down() {
  [ -d "$PIDS" ] || return 0
  for file in "$PIDS"/*.pid; do
    [ -e "$file" ] || continue
    pid=$(cat "$file")
    # Each process leads its own session: stop the group (Celery forks pool processes) and wait for it.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$file"
  done
  echo "celery cluster stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
