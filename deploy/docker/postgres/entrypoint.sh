#!/bin/bash
# Start PostgreSQL; on the first start (empty $PGDATA) create the cluster, the database and the
# pgvector extension. POSTGRES_PASSWORD is required: network clients use scram-sha-256.
# The socket lives in /tmp so the root filesystem can be read-only.
set -euo pipefail

: "${POSTGRES_USER:=faceflow}" "${POSTGRES_DB:=faceflow}"
if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
  echo "faceflow-postgres: set POSTGRES_PASSWORD" >&2
  exit 1
fi

if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
  echo "faceflow-postgres: initialising ${PGDATA}" >&2
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-host=scram-sha-256 \
    --auth-local=trust -E UTF8 --locale=C.UTF-8 >&2
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /tmp" -w start >&2
  if [[ "$POSTGRES_DB" != postgres ]]; then
    psql -h /tmp -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -qAtX \
      -c "CREATE DATABASE \"${POSTGRES_DB}\"" >&2
  fi
  psql -h /tmp -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -qAtX \
    -c "CREATE EXTENSION IF NOT EXISTS vector" >&2
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -k /tmp "$@"
