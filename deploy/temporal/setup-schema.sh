#!/bin/sh
# One-shot run by the `temporal-schema` service (temporalio/admin-tools image):
# creates/upgrades the Temporal persistence and visibility schemas in Postgres.
# Idempotent, so it is safe on every `docker compose up`:
#   - `create` is a no-op when the database already exists;
#   - `setup-schema -v 0.0` only ensures the schema_version tables exist;
#   - `update-schema` applies just the versioned migrations not yet applied.
# The password is read by temporal-sql-tool from SQL_PASSWORD (environment).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must be set}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
port="${DB_PORT:-5432}"
schema_root="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

echo "waiting for postgres at ${POSTGRES_SEEDS}:${port}"
i=0
until nc -z "$POSTGRES_SEEDS" "$port"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then echo "postgres did not come up" >&2; exit 1; fi
  sleep 2
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" \
    -u "$POSTGRES_USER" "$@"
}

for pair in "temporal:temporal" "temporal_visibility:visibility"; do
  db="${pair%%:*}"
  dir="${pair#*:}"
  echo "== ${db}"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "${schema_root}/${dir}/versioned"
done
echo "temporal schema is up to date"
