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
# Each Connection's description names the agencies it serves. Written 0600: the file holds passwords.
(umask 077; python - "$MPP_AGENCIES_FILE" >"$AIRFLOW_HOME/connections.json" <<'PY'
import json, sys
from pathlib import Path
from mpp_bus.config import load_agencies
secrets = {
    "mpp_dukcapil": {"conn_type": "generic", "login": "mpp-bus", "password": "dukcapil-rahasia"},
    "mpp_licensing": {"conn_type": "generic", "login": "mpp-bus", "password": "oss-rahasia"},
    "mpp_tax": {"conn_type": "generic", "password": "djp-rahasia"},
}
served = {}
for instance in load_agencies(Path(sys.argv[1])):
    served.setdefault(instance.connection_id, []).append(f"{instance.name} ({instance.id})")
for conn_id, conn in secrets.items():
    names = served.get(conn_id, [])
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    conn["description"] = f"mpp-bus credentials for {len(names)} agency instance(s): {shown or 'none configured'}"
json.dump(secrets, sys.stdout, indent=2)
PY
)
chmod 600 "$AIRFLOW_HOME/connections.json"
airflow connections import --overwrite "$AIRFLOW_HOME/connections.json" >/dev/null
echo "connections: mpp_dukcapil, mpp_licensing, mpp_tax (airflow connections list)"

if [ ! -s "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" ]; then
  (umask 077; python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" <<'PY'
import json, secrets, sys
with open(sys.argv[1], "w") as f:
    json.dump({"admin": secrets.token_urlsafe(12)}, f)
PY
  )
  chmod 600 "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
fi
