#!/usr/bin/env bash
# `make airflow`: the mock agencies and Airflow standalone (API server and UI, scheduler, DAG processor, triggerer)
# on this machine, with the project's DAGs, pools and Connections. Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/airflow-env.sh"

"$(dirname "$0")/airflow-setup.sh"

MOCK_PID=""
stop() {
  if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
    kill "$MOCK_PID" && wait "$MOCK_PID" 2>/dev/null || true
  fi
  rm -f "$AIRFLOW_HOME/mock-agencies.pid"
}
trap stop EXIT INT TERM

# shellcheck disable=SC2086
python -m mock_agencies serve $MOCK_PORTS >"$AIRFLOW_HOME/mock-agencies.log" 2>&1 &
MOCK_PID=$!
echo "$MOCK_PID" >"$AIRFLOW_HOME/mock-agencies.pid"
for _ in $(seq 1 50); do
  grep -q "tax ready" "$AIRFLOW_HOME/mock-agencies.log" 2>/dev/null && break
  kill -0 "$MOCK_PID" 2>/dev/null || { cat "$AIRFLOW_HOME/mock-agencies.log"; exit 1; }
  sleep 0.2
done

PASSWORD=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['admin'])" \
  "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
cat <<TXT

  mpp-bus on Airflow
  UI:        http://127.0.0.1:${AIRFLOW__API__PORT}   sign in as admin / ${PASSWORD}
             (the password is kept in ${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE})
  DAGs:      one mpp_sync__<agency> per agency in ${MPP_AGENCIES_FILE}, and mpp_report
  store:     ${MPP_DATABASE_URL}
  mocks:     log in ${AIRFLOW_HOME}/mock-agencies.log
  failure:   make airflow-agency-down AGENCY=tax   (then run mpp_sync__djp; make airflow-agency-up AGENCY=tax)

TXT
airflow standalone
