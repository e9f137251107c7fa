#!/bin/sh
# Runs once, when the postgres container initialises an EMPTY data volume
# (docker-entrypoint-initdb.d). It creates one least-privilege role + database
# for the application and one role that owns Temporal's two databases.
#
# Passwords come from the container environment (set in docker-compose.yml from
# the operator's environment / .env file); nothing secret is written here.
# psql's :'var' substitution quotes them as SQL literals.
#
# Written for POSIX sh without `set -u`, because the postgres entrypoint
# *sources* (rather than executes) init scripts that lack the executable bit.
set -e

: "${PAYCONFIRM_DB_PASSWORD:?PAYCONFIRM_DB_PASSWORD must be set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 \
  --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v payconfirm_password="$PAYCONFIRM_DB_PASSWORD" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
-- Application: owns only its own database (PG15+ gives the owner CREATE on
-- the public schema through pg_database_owner).
CREATE ROLE payconfirm LOGIN PASSWORD :'payconfirm_password';
CREATE DATABASE payconfirm OWNER payconfirm;

-- Temporal: persistence + SQL visibility stores. CREATEDB lets
-- `temporal-sql-tool create` (idempotent) succeed even if these databases were
-- dropped; the schema tool then creates/updates tables inside them.
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
