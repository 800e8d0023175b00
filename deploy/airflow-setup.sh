#!/usr/bin/env bash
# Prepare an Airflow home for mpp-bus: metadata database, the portal store, one pool per agency, the Connections.
# Idempotent: run it again after changing agencies.yaml (new agencies get their pools).
set -euo pipefail
source "$(dirname "$0")/airflow-env.sh"
mkdir -p "$AIRFLOW_HOME"

# The metadata database, when it is PostgreSQL and missing (airflow-env.sh chooses it).
case "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" in
  postgresql*)
    python - "$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" <<'PY'
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar():
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        print(f"metadata: created PostgreSQL database {url.database}")
PY
    ;;
esac
airflow db migrate >/dev/null
mpp-bus db upgrade

python -m mpp_bus.airflow pools --agencies "$MPP_AGENCIES_FILE" >"$AIRFLOW_HOME/pools.json"
airflow pools import "$AIRFLOW_HOME/pools.json" >/dev/null
echo "pools: $(grep -c '"slots"' "$AIRFLOW_HOME/pools.json") agency pools set (airflow pools list)"

# The mock agencies' credentials. Production sets real ones in the UI (Admin -> Connections) or a secrets backend.
cat >"$AIRFLOW_HOME/connections.json" <<'JSON'
{
  "mpp_dukcapil": {"conn_type": "generic", "login": "mpp-bus", "password": "dukcapil-rahasia"},
  "mpp_licensing": {"conn_type": "generic", "login": "mpp-bus", "password": "oss-rahasia"},
  "mpp_tax": {"conn_type": "generic", "password": "djp-rahasia"}
}
JSON
airflow connections import --overwrite "$AIRFLOW_HOME/connections.json" >/dev/null
echo "connections: mpp_dukcapil, mpp_licensing, mpp_tax (airflow connections list)"

if [ ! -s "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" ]; then
  python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" <<'PY'
import json, secrets, sys
with open(sys.argv[1], "w") as f:
    json.dump({"admin": secrets.token_urlsafe(12)}, f)
PY
  chmod 600 "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
fi
