#!/usr/bin/env bash
# Figures for the gallery's scaling notes (docs/deployment.md): how big and how fast a pgvector
# HNSW gallery is in the faceflow/postgres image. Prints, never asserts.
#
#   bash deploy/docker/bench_pgvector.sh [ROWS]     # default 100000 faces
#
# Starts a throw-away container of faceflow/postgres:${FACEFLOW_IMAGE_TAG:-local} (no port
# published; everything runs through `docker exec psql`), loads ROWS random 128-d unit vectors
# (the embedding's shape) in the store's layout (vector(128), HNSW vector_cosine_ops, m=16,
# ef_construction=64: pgvector's defaults, as services/embedding/store/pgvector.py uses),
# then prints load and index build times, table and index sizes per million faces, and the
# latency of 200 top-10 cosine searches (ef_search=40 and 100; probes are stored vectors), plus
# the exact scan for scale.
set -euo pipefail

ROWS="${1:-100000}"
IMAGE="faceflow/postgres:${FACEFLOW_IMAGE_TAG:-local}"
NAME="faceflow-bench-pgvector-$$"

docker run -d --name "$NAME" -e POSTGRES_PASSWORD=bench --tmpfs /tmp --shm-size=512m \
  "$IMAGE" -c shared_buffers=512MB -c maintenance_work_mem=256MB -c max_parallel_maintenance_workers=2 \
  >/dev/null
trap 'docker rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 60); do
  docker exec "$NAME" pg_isready -q -h /tmp -U faceflow && break
  sleep 1
done
sleep 2  # the entrypoint restarts the server once after initialising the cluster
for _ in $(seq 60); do
  docker exec "$NAME" psql -h /tmp -U faceflow -d faceflow -qAtX -c 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done
psql() { docker exec -i "$NAME" psql -h /tmp -U faceflow -d faceflow -qAtX -v ON_ERROR_STOP=1 "$@"; }
seconds() { local start=$SECONDS; "$@" >/dev/null; echo $((SECONDS - start)); }

psql -c "CREATE TABLE faces (id bigserial PRIMARY KEY, embedding vector(128) NOT NULL)"
# Unit vectors from normal draws: l2_normalize over 128 Box-Muller normals per row.
load_time=$(seconds psql -c "
  INSERT INTO faces (embedding)
  SELECT l2_normalize(array_agg(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::vector)
  FROM generate_series(1, ${ROWS}) AS r, generate_series(1, 128) AS d
  GROUP BY r")
build_time=$(seconds psql -c "
  CREATE INDEX faces_embedding ON faces USING hnsw (embedding vector_cosine_ops)
  WITH (m = 16, ef_construction = 64)")
psql -c "ANALYZE faces"
read -r table_bytes index_bytes < <(psql -F ' ' -c "
  SELECT pg_table_size('faces'), pg_relation_size('faces_embedding')")
echo "pgvector $(psql -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"), ${ROWS} faces: load ${load_time} s, HNSW build ${build_time} s (2 cores)"
awk -v t="$table_bytes" -v i="$index_bytes" -v n="$ROWS" 'BEGIN {
  printf "size: table %.0f MB, HNSW index %.0f MB; per million faces: table %.2f GB, index %.2f GB\n",
    t / 1e6, i / 1e6, t / n * 1e6 / 1e9, i / n * 1e6 / 1e9 }'

search_ms() {  # search_ms EF QUERIES [exact]: mean and p95 ms per top-10 search (server side)
  local ef=$1 queries=$2 exact=${3:-}
  psql <<SQL
SET hnsw.ef_search = ${ef};
$( [[ -n "$exact" ]] && echo "SET enable_indexscan = off;" )
CREATE TEMP TABLE probes AS SELECT embedding AS probe FROM faces ORDER BY random() LIMIT ${queries};
CREATE TEMP TABLE timings (ms double precision);
DO \$\$
DECLARE p vector; t0 timestamptz;
BEGIN
  FOR p IN SELECT probe FROM probes LOOP
    t0 := clock_timestamp();
    PERFORM id FROM faces ORDER BY embedding <=> p LIMIT 10;
    INSERT INTO timings VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END \$\$;
SELECT format('%s: mean %s ms, p95 %s ms over %s searches', '${exact:-hnsw ef_search=$ef}',
  round(avg(ms)::numeric, 2), round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 2),
  count(*)) FROM timings;
SQL
}
search_ms 40 200
search_ms 100 200
search_ms 40 20 "exact scan (no index)"
