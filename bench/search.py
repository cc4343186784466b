"""1:N search latency through the service and over HTTP, against large galleries.

For each gallery size a fresh data folder gets a group of N synthetic 128-d unit embeddings (one
face per user, bulk-inserted through the store) plus one real person (obama.jpg from
../shared/data, or the astronaut), then detection + embedding + gateway start as real processes
on it (the ``make run`` launcher). Printed per size, p50 / p99:
- ``POST /api/v1/search`` over HTTP with a 640x480 photo of that person (decode, detect, align,
  embed, search, JSON) — and whether the person is the top match;
- the embedding service's Search RPC with a ready embedding (gRPC + gallery search only);
- the gallery store's search in-process (the store opened read-only after the run).

    .venv/bin/python bench/search.py                 # 10k and 100k faces
    .venv/bin/python bench/search.py --sizes 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx
import numpy as np
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from numpy.typing import NDArray

from bench.common import measure, percentile
from bench.verify import photo_pair
from deploy.local.stack import free_port, free_port_offset
from evaluation.local_pipeline import LocalPipeline
from services.embedding.store.sqlite_faiss import NewFace, SqliteFaissStore

TENANT, GROUP, DIMENSION, BATCH = "demo", "crowd", 128, 10_000


def fill(folder: Path, size: int, person: NDArray[np.float32], seed: int = 0) -> float:
    """Bulk-insert size random faces and the real person; returns seconds taken."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    store = SqliteFaissStore(folder, DIMENSION)
    try:
        store.create_group(TENANT, GROUP)
        for start in range(0, size, BATCH):
            count = min(BATCH, size - start)
            vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
            faces = [
                NewFace(
                    f"u{start + i:07d}",
                    vectors[i],
                    hashlib.sha256(f"{start + i}".encode()).hexdigest(),
                )
                for i in range(count)
            ]
            store.add_faces(TENANT, GROUP, faces)
        store.add_face(TENANT, GROUP, "the-person", person, hashlib.sha256(b"person").hexdigest())
        store.save_index()
    finally:
        store.close()
    return time.perf_counter() - started


def stats(values: list[float]) -> str:
    """p50 / p99 in ms."""
    return f"p50 {percentile(values, 50):7.2f} ms  p99 {percentile(values, 99):7.2f} ms"


def bench_size(
    size: int, runs: int, probe: bytes, enrolled: bytes, pipeline: LocalPipeline
) -> None:
    """Fill a gallery of size faces, start the stack on it, time the three paths."""
    from deploy.local.launcher import Launcher
    from deploy.local.run import ensure_demo_key
    from deploy.local.services import SERVICES

    person = pipeline.embed_image(enrolled)
    query = pipeline.embed_image(probe)
    assert person is not None and query is not None  # the benchmark photos have a face
    with tempfile.TemporaryDirectory(prefix="faceflow-search-") as tmp:
        data_dir = Path(tmp)
        gallery = data_dir / "embedding" / "gallery"
        seconds = fill(gallery, size, person)
        services = [s for s in SERVICES if s.name in ("detection", "embedding")]
        launcher = Launcher(
            data_dir=data_dir,
            gateway_port=free_port(),
            port_offset=free_port_offset([s.port for s in services]),
            services=services,
            log_dir=data_dir / "logs",
            startup_timeout=600,
        )
        key = ensure_demo_key(launcher)
        started = time.perf_counter()
        launcher.start()
        start_seconds = time.perf_counter() - started
        try:
            embedding = next(s for s in launcher.services if s.name == "embedding")
            address = f"127.0.0.1:{embedding.port + launcher.port_offset}"
            with (
                httpx.Client(base_url=launcher.base_url, headers={"x-api-key": key}) as http,
                grpc.insecure_channel(address) as channel,
            ):
                stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
                request = embedding_pb2.SearchRequest(
                    tenant=TENANT,
                    group_ids=[GROUP],
                    top_k=5,
                    probes=[
                        embedding_pb2.Probe(
                            embedding=embedding_pb2.Embedding(values=query.tolist())
                        )
                    ],
                )
                grpc_ms = measure(lambda: stub.Search(request), runs)

                def over_http() -> object:
                    response = http.post(
                        "/api/v1/search",
                        files={"image": ("p.jpg", probe, "image/jpeg")},
                        data={"group_ids": GROUP},
                        timeout=60,
                    )
                    response.raise_for_status()
                    return response

                http_ms = measure(over_http, runs)
                answer = over_http().json()  # type: ignore[attr-defined]
        finally:
            launcher.stop()
        store = SqliteFaissStore(gallery, DIMENSION)
        try:
            local_ms = measure(lambda: store.search(TENANT, [GROUP], query, 5), runs)
        finally:
            store.close()
    top = answer["faces"][0]["matches"][:1]
    sys.stdout.write(
        f"{size:>9,} faces: fill {seconds:6.1f} s, services ready in {start_seconds:5.1f} s\n"
        f"  POST /search over HTTP (640x480): {stats(http_ms)}  top match: "
        f"{top[0]['user_id'] if top else 'none'} ({top[0]['score'] if top else '-'})\n"
        f"  Search RPC, embedding probe:       {stats(grpc_ms)}\n"
        f"  store.search in-process:           {stats(local_ms)}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=50)
    options = parser.parse_args()
    first, second, source = photo_pair()
    sys.stdout.write(f"probe: 640x480 JPEG from {source}; top_k 5; {options.runs} runs\n")
    pipeline = LocalPipeline.load()
    for size in options.sizes:
        bench_size(size, options.runs, second, first, pipeline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
