#!/usr/bin/env bash
# Prove the Docker deployment runs: build the images, `docker compose up`, wait for health, use
# the API through the published gateway port, restart the embedding container and check the
# gallery survived, tear everything down.
#
#   bash scripts/docker_e2e.sh                # the whole proof
#   bash scripts/docker_e2e.sh --if-possible  # exit 0 with a note when no engine can be started
#   bash scripts/docker_e2e.sh --build-only   # base image + staged context + images, no run
#
# With no engine running it installs Debian's docker.io (and debootstrap, docker-compose) when
# missing and starts dockerd itself (stopped again at the end). There is no Docker Hub here:
# the base image is a debootstrap Debian bookworm imported with `docker import`
# (deploy/docker/build_base.sh) and Python packages come from wheels downloaded on the host
# (deploy/docker/stage.py). FACEFLOW_DOCKER_E2E=required turns --if-possible into a hard
# requirement (.ci/run sets it). Timings of each phase are printed (docs/deployment.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${ROOT}/.venv/bin/python"
PROJECT="${FACEFLOW_E2E_PROJECT:-faceflow-e2e}"
HTTP_PORT="${FACEFLOW_E2E_HTTP_PORT:-18080}"
HTTPS_PORT="${FACEFLOW_E2E_HTTPS_PORT:-18443}"
BASE_IMAGE="${FACEFLOW_BASE_IMAGE:-faceflow/base:bookworm}"
TAG="${FACEFLOW_IMAGE_TAG:-local}"
WORK="${ROOT}/var/docker"
MODE=full
case "${1:-}" in
  --if-possible) MODE=if-possible ;;
  --build-only) MODE=build-only ;;
  "") ;;
  *) echo "usage: $0 [--if-possible|--build-only]" >&2; exit 2 ;;
esac
[[ "${FACEFLOW_DOCKER_E2E:-}" == required && "$MODE" == if-possible ]] && MODE=full

say() { echo "docker_e2e: $*" >&2; }
SECONDS_AT_START=$SECONDS
phase_started=$SECONDS
phase() {  # phase NAME: print how long the previous phase took
  say "-- $1 (+$((SECONDS - phase_started)) s, total $((SECONDS - SECONDS_AT_START)) s)"
  phase_started=$SECONDS
}

# ---------------------------------------------------------------- the engine
DOCKERD_PID=""
apt_install() {
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null || return 1
  say "apt-get install $*"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2
}

start_engine() {
  docker info >/dev/null 2>&1 && return 0
  if ! command -v dockerd >/dev/null; then
    apt_install docker.io || return 1
  fi
  [[ "$(id -u)" == 0 ]] || { say "dockerd is not running and only root can start it"; return 1; }
  mkdir -p "$WORK"
  say "starting dockerd (log: var/docker/dockerd.log)"
  dockerd > "${WORK}/dockerd.log" 2>&1 9>&- &  # 9>&-: the daemon must not hold our lock
  DOCKERD_PID=$!
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 1
  done
  say "dockerd did not come up:"; tail -n 20 "${WORK}/dockerd.log" >&2
  return 1
}

COMPOSE=()
find_compose() {
  if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null; then COMPOSE=(docker-compose)
  elif apt_install docker-compose; then COMPOSE=(docker-compose)
  else say "no docker compose (plugin) or docker-compose"; return 1
  fi
}

compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "${ROOT}/docker-compose.yml" "$@"; }

cleanup() {
  local status=$?
  if [[ "$MODE" != build-only && ${#COMPOSE[@]} -gt 0 ]]; then
    if [[ $status -ne 0 ]]; then
      say "failed: container states and logs follow"
      compose ps >&2 || true
      compose logs --tail=40 >&2 || true
    fi
    compose down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  if [[ -n "$DOCKERD_PID" ]]; then
    say "stopping the dockerd this script started"
    kill "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
  exit $status
}
trap cleanup EXIT

mkdir -p "$WORK"
exec 9>"${WORK}/e2e.lock"
# One run at a time on this machine: they share the project name and the port.
flock -w 1800 9 || { say "another docker_e2e.sh held ${WORK}/e2e.lock for 30 min"; exit 1; }

if ! start_engine; then
  if [[ "$MODE" == if-possible ]]; then
    say "skipped: no Docker engine can be started here"
    exit 0
  fi
  exit 1
fi
# Building needs root for the base image (debootstrap) unless it exists, and a host whose
# Python can stage the images' wheels (CPython 3.11 on x86-64): when either is missing,
# --if-possible skips (a developer in the docker group) instead of failing at its last step.
if [[ "$MODE" == if-possible ]]; then
  if [[ "$(id -u)" -ne 0 ]] && ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "skipped: the base image ${BASE_IMAGE} needs root to build (sudo make docker-images once)"
    exit 0
  fi
  if ! "$PY" -c 'import platform, sys; sys.exit(sys.version_info[:2] != (3, 11) or platform.machine() != "x86_64")' 2>/dev/null; then
    say "skipped: staging the images needs CPython 3.11 on x86-64"
    exit 0
  fi
fi
command -v debootstrap >/dev/null || docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 \
  || apt_install debootstrap
phase "engine ready"

# ---------------------------------------------------------------- build
[[ -x "$PY" ]] || { say "no ${PY}: run make setup first"; exit 1; }
FACEFLOW_BASE_IMAGE="$BASE_IMAGE" bash "${ROOT}/deploy/docker/build_base.sh"
phase "base image"
"$PY" -m deploy.docker.stage --context "${WORK}/context"
mapfile -t COMPONENTS < <("$PY" -m deploy.docker.stage --list)
phase "context staged (${COMPONENTS[*]})"
# Builder stages get tags of their own, so that they are the layer cache of the next build and
# the prune below (dangling images left by earlier builds) never removes them.
docker build -q -f "${WORK}/context/Dockerfile" --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
  --target builder -t "faceflow/build-venv:${TAG}" "${WORK}/context" >/dev/null
for name in "${COMPONENTS[@]}"; do
  say "docker build faceflow/${name}:${TAG}"
  docker build -q -f "${WORK}/context/Dockerfile" --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --build-arg "SERVICE=${name}" -t "faceflow/${name}:${TAG}" "${WORK}/context" >/dev/null
done
docker build -q --build-arg "BASE_IMAGE=${BASE_IMAGE}" --target pgvector \
  -t "faceflow/build-pgvector:${TAG}" "${ROOT}/deploy/docker/postgres" >/dev/null
docker build -q --build-arg "BASE_IMAGE=${BASE_IMAGE}" -t "faceflow/postgres:${TAG}" \
  "${ROOT}/deploy/docker/postgres" >/dev/null
docker build -q --build-arg "BASE_IMAGE=${BASE_IMAGE}" -t "faceflow/proxy:${TAG}" \
  "${ROOT}/deploy/docker/proxy" >/dev/null
docker image prune -f >/dev/null
phase "images built"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'faceflow/*' | grep -v /build- >&2
[[ "$MODE" == build-only ]] && exit 0

# A tampered model must stop a service at start-up (the model store checks every sha256).
MODEL_FILE="$("$PY" -c 'from services.shared.model_store import ModelStore as S; s = S()
print(s.path_for(s.spec("yunet")).name)')"
head -c 4096 /dev/urandom > "${WORK}/tampered.tflite"
chmod 644 "${WORK}/tampered.tflite"
if tampered="$(timeout 120 docker run --rm \
    -v "${WORK}/tampered.tflite:/opt/faceflow/cache/faceflow/models/${MODEL_FILE}:ro" \
    "faceflow/detection:${TAG}" 2>&1)"; then
  say "the detection image started with a tampered model"; exit 1
fi
grep -q "${MODEL_FILE%.tflite} .* is corrupt: sha256" <<<"$tampered" \
  || { say "no corrupt-model error from the tampered image:"; tail -n 5 <<<"$tampered" >&2; exit 1; }
phase "tampered model refused at start-up"

# ---------------------------------------------------------------- run
find_compose
export FACEFLOW_HTTP_PORT="$HTTP_PORT" FACEFLOW_HTTP_BIND=127.0.0.1 FACEFLOW_IMAGE_TAG="$TAG"
# HTTPS with a certificate of our own CA mounted into the proxy (FACEFLOW_TLS=files), as a
# deployment with a real certificate runs; the self-signed mode is checked at the end.
TLS_DIR="${WORK}/tls"
rm -rf "$TLS_DIR" && mkdir -p "$TLS_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=FaceFlow e2e CA" \
  -keyout "${TLS_DIR}/ca.key" -out "${TLS_DIR}/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "${TLS_DIR}/tls.key" -out "${TLS_DIR}/tls.csr" 2>/dev/null
openssl x509 -req -in "${TLS_DIR}/tls.csr" -CA "${TLS_DIR}/ca.crt" -CAkey "${TLS_DIR}/ca.key" \
  -CAcreateserial -days 2 -extfile <(printf 'subjectAltName=DNS:localhost\n') \
  -out "${TLS_DIR}/tls.crt" 2>/dev/null
chmod 644 "${TLS_DIR}/tls.crt" "${TLS_DIR}/tls.key"  # nginx runs as www-data
export FACEFLOW_TLS=files FACEFLOW_TLS_DIR="$TLS_DIR" FACEFLOW_HTTPS_PORT="$HTTPS_PORT"
compose down -v --remove-orphans >/dev/null 2>&1 || true
# Two gateways and two embedding services behind the one published port of the proxy.
compose up -d --no-build --scale gateway=2 --scale embedding=2 >&2
phase "compose up returned (Compose starts each container once its dependencies are healthy)"
URL="http://127.0.0.1:${HTTP_PORT}"

declare -A HEALTHY_AFTER=()
wait_healthy() {  # every container of the project healthy, or fail after $1 seconds
  local deadline=$((SECONDS + $1)) started=$SECONDS ids states line
  HEALTHY_AFTER=()
  while (( SECONDS < deadline )); do
    mapfile -t ids < <(compose ps -q)
    states="$(docker inspect --format '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "${ids[@]}")"
    while read -r line; do  # remember when each container was first seen healthy
      [[ "$line" == *" healthy" && -z "${HEALTHY_AFTER[${line%% *}]:-}" ]] \
        && HEALTHY_AFTER[${line%% *}]=$((SECONDS - started))
    done <<<"$states"
    if ! grep -qv ' healthy$' <<<"$states"; then
      for line in "${!HEALTHY_AFTER[@]}"; do
        say "healthy ${HEALTHY_AFTER[$line]} s into the wait: ${line#/}"
      done
      return 0
    fi
    sleep 1
  done
  say "not healthy after $1 s:"; echo "$states" >&2
  return 1
}
wait_healthy 240
phase "all containers healthy"
"$PY" -m deploy.docker.e2e_check wait --url "$URL" --timeout 60

KEY="$(compose exec -T gateway python -m gateway.tenants create demo 2>/dev/null \
  || compose exec -T gateway python -m gateway.tenants add-key demo docker-e2e)"
KEY="$(tail -n 1 <<<"$KEY" | tr -d '\r')"
[[ "$KEY" == ff_* ]] || { say "could not create the demo tenant's key: $KEY"; exit 1; }
"$PY" -m deploy.docker.e2e_check before --url "$URL" --key "$KEY"
phase "API checks"
"$PY" -m deploy.docker.tls_check --url "https://localhost:${HTTPS_PORT}" --key "$KEY" \
  --ca "${TLS_DIR}/ca.crt"
phase "HTTPS: mounted certificate verified against its CA"
if [[ -n "${FACEFLOW_E2E_BENCH:-}" ]]; then  # figures for docs/deployment.md
  "$PY" -m deploy.docker.bench_stack --url "$URL" --key "$KEY" --project "$PROJECT"
  phase "bench"
fi

COMPOSED="$(compose config --services)"
if grep -qx embedding <<<"$COMPOSED"; then
  compose restart embedding >&2
  wait_healthy 180
  "$PY" -m deploy.docker.e2e_check wait --url "$URL" --timeout 60
  "$PY" -m deploy.docker.e2e_check after --url "$URL" --key "$KEY"
  phase "embedding restarted, gallery intact"
else
  say "no embedding service in docker-compose.yml yet: restart check skipped"
fi

# Replicas: both gateways answer and share state; killing one under load loses no face.
# sed, not head: head exits after one line and the writer may then die of SIGPIPE (141),
# which pipefail turns into a failed run
VICTIM="$(compose ps -q gateway | sed -n 1p)"
"$PY" -m deploy.docker.e2e_check replicas --url "$URL" --key "$KEY" --kill "$VICTIM"
docker start "$VICTIM" >/dev/null
wait_healthy 120
phase "replicas: balanced, shared, a gateway killed under load lost nothing"

# The development default: the proxy makes a self-signed certificate at start.
FACEFLOW_TLS=self-signed compose up -d --no-build --no-deps proxy >&2
wait_healthy 60
"$PY" -m deploy.docker.tls_check --url "https://127.0.0.1:${HTTPS_PORT}" --key "$KEY" --served
phase "HTTPS: self-signed certificate made at start"

docker stats --no-stream --format '{{.Name}} cpu={{.CPUPerc}} mem={{.MemUsage}}' \
  $(compose ps -q) >&2 || true
compose down -v --remove-orphans >&2
phase "torn down"
say "passed in $((SECONDS - SECONDS_AT_START)) s"
