#!/bin/sh
# Runs once, on the first start of the postgres container (docker-entrypoint-initdb.d):
# the three roles firmflow needs and its database. The same SQL is in docs/deployment.md.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$FIRMFLOW_OWNER_PASSWORD" \
    -v app_password="$FIRMFLOW_APP_PASSWORD" <<'SQL'
-- Owns the schema and runs the migrations; BYPASSRLS for the views it owns (firm_clients).
CREATE ROLE firmflow_owner LOGIN BYPASSRLS PASSWORD :'owner_password';
-- What the API and workers log in as: owns nothing, subject to row-level security.
CREATE ROLE firmflow_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD :'app_password';
-- Reached only through SET ROLE by the app, for the few named cross-firm paths.
CREATE ROLE firmflow_system NOLOGIN NOSUPERUSER BYPASSRLS;
GRANT firmflow_system TO firmflow_app;
CREATE DATABASE firmflow OWNER firmflow_owner;
SQL
