"""Benchmark of the SQLite+FAISS gallery store: search latency, build time, memory, enrolls.

For each gallery size it fills a fresh store with synthetic 128-d unit embeddings (one face per
user), then prints:
- bulk enroll throughput (``add_faces``, 10k faces per transaction) and single-face enroll
  throughput (``add_face``, one durable transaction each, as the service does);
- exact search (IndexFlatIP) p50/p99 latency, top_k=5, one query at a time, in-process;
- HNSW build time (the switch the store makes past ``hnsw_threshold``, beside the live index;
  the searches and enrolls made meanwhile are timed), search p50/p99, and its
  recall@1 against the exact answer for probes that are noisy copies of enrolled faces
  (cosine ~0.75 to their source, like another photo of the same person);
- index size per million faces (saved file) and the process's resident memory;
- reopen time: load the saved index, replay the log, run the consistency check.

    .venv/bin/python bench/gallery_search.py                       # 10k and 100k
    .venv/bin/python bench/gallery_search.py --sizes 1000000       # 1M (about 10 minutes here)
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from services.embedding.store.faiss_index import HNSW, HnswParams
from services.embedding.store.sqlite_faiss import NewFace, SqliteFaissStore

DIMENSION = 128
TENANT, GROUP = "bench", "crowd"
BATCH = 10_000


def unit_rows(rng: np.random.Generator, count: int) -> NDArray[np.float32]:
    """Random unit vectors."""
    rows = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def probes(
    rng: np.random.Generator, gallery: NDArray[np.float32], count: int, noise: float
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Noisy copies of random enrolled faces and which face each came from."""
    source = rng.choice(len(gallery), size=count, replace=False).astype(np.int64)
    queries = gallery[source] + noise * unit_rows(rng, count)
    return source, queries


def percentiles(samples: list[float]) -> str:
    """p50 / p99 in milliseconds."""
    values = np.array(samples) * 1000.0
    return f"p50 {np.percentile(values, 50):7.2f} ms  p99 {np.percentile(values, 99):7.2f} ms"


def timed_searches(
    store: SqliteFaissStore, queries: NDArray[np.float32]
) -> tuple[list[float], list[str]]:
    """Latency of each search and the best user it found."""
    latencies: list[float] = []
    best: list[str] = []
    for query in queries:
        start = time.perf_counter()
        matches = store.search(TENANT, [GROUP], query, 5)
        latencies.append(time.perf_counter() - start)
        best.append(matches[0].user_id if matches else "")
    return latencies, best


def rss_mib() -> float:
    """Peak resident memory of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def folder_mib(path: Path, pattern: str) -> float:
    """Size of the files matching ``pattern`` under ``path`` in MiB."""
    return sum(p.stat().st_size for p in path.rglob(pattern)) / 2**20


def bench_size(size: int, args: argparse.Namespace, workdir: Path) -> None:
    rng = np.random.default_rng(size)
    folder = workdir / f"gallery-{size}"
    print(f"\n== {size:,} faces ==", flush=True)
    gallery = unit_rows(rng, size)
    store = SqliteFaissStore(
        folder,
        DIMENSION,
        hnsw_threshold=size + 1,
        save_every=10**9,
        hnsw_m=args.m,
        hnsw_ef_construction=args.ef_construction,
        search_threads=args.search_threads,
    )
    store.create_group(TENANT, GROUP)
    start = time.perf_counter()
    for first in range(0, size, BATCH):
        chunk = [
            NewFace(f"u{i}", gallery[i], hashlib.sha256(i.to_bytes(8, "little")).hexdigest())
            for i in range(first, min(size, first + BATCH))
        ]
        store.add_faces(TENANT, GROUP, chunk)
    bulk = time.perf_counter() - start
    print(f"bulk enroll    {size / bulk:9.0f} faces/s  ({bulk:.1f} s)", flush=True)

    singles = min(args.single_enrolls, size)
    extra = unit_rows(rng, singles)
    start = time.perf_counter()
    for i in range(singles):
        store.add_face(TENANT, GROUP, f"s{i}", extra[i], hashlib.sha256(b"s%d" % i).hexdigest())
    single = time.perf_counter() - start
    print(
        f"single enroll  {singles / single:9.0f} faces/s  ({1000 * single / singles:.2f} ms "
        "each, synchronous=FULL)",
        flush=True,
    )

    source, queries = probes(rng, gallery, args.queries, args.noise)
    truth = [f"u{i}" for i in source]
    latencies, exact_best = timed_searches(store, queries)
    exact_recall = np.mean([a == b for a, b in zip(exact_best, truth, strict=True)])
    print(
        f"exact search   {percentiles(latencies)}  (top-1 = source: {exact_recall:.3f})", flush=True
    )

    store.hnsw_threshold = 0  # the next save switches the group to HNSW, in the background
    start = time.perf_counter()
    store.save_index()
    during_search: list[float] = []
    during_enroll: list[float] = []
    late = 0
    while store.index_stats(TENANT, GROUP).building == HNSW:
        query = queries[late % len(queries)]
        began = time.perf_counter()
        store.search(TENANT, [GROUP], query, 5)
        during_search.append(time.perf_counter() - began)
        vector = unit_rows(rng, 1)[0]
        began = time.perf_counter()
        store.add_face(
            TENANT, GROUP, f"late{late}", vector, hashlib.sha256(b"late%d" % late).hexdigest()
        )
        during_enroll.append(time.perf_counter() - began)
        late += 1
    store.wait_for_index_builds()
    build = time.perf_counter() - start
    assert store.index_stats(TENANT, GROUP).kind == HNSW
    print(
        f"HNSW build     {build:9.1f} s  (M={args.m}, efConstruction={args.ef_construction},"
        " beside the live index)",
        flush=True,
    )
    if during_search:
        print(
            f"  while building: {len(during_search)} searches {percentiles(during_search)};"
            f" enrolls {percentiles(during_enroll)}",
            flush=True,
        )
    for ef_search in [int(v) for v in args.ef_search_sweep.split(",")]:
        store.set_ef_search(ef_search)
        latencies, hnsw_best = timed_searches(store, queries)
        agree = np.mean([a == b for a, b in zip(hnsw_best, exact_best, strict=True)])
        print(
            f"HNSW search    {percentiles(latencies)}  (efSearch={ef_search}, "
            f"recall@1 vs exact: {agree:.3f})",
            flush=True,
        )

    start = time.perf_counter()
    store.close()
    save = time.perf_counter() - start
    per_million = 1e6 / (size + singles)
    print(
        f"save index     {save:9.1f} s;  index file {folder_mib(folder, '*.faiss'):.0f} MiB"
        f" = {folder_mib(folder, '*.faiss') * per_million:.0f} MiB per million faces;"
        f"  SQLite {folder_mib(folder, '*.sqlite3*') * per_million:.0f} MiB per million",
        flush=True,
    )
    start = time.perf_counter()
    reopened = SqliteFaissStore(folder, DIMENSION, hnsw_threshold=0)
    print(
        f"reopen         {time.perf_counter() - start:9.1f} s  (load + catch-up + "
        f"consistency check; rebuilt: {reopened.report.rebuilt})",
        flush=True,
    )
    reopened.close()
    print(f"peak RSS       {rss_mib():9.0f} MiB", flush=True)
    shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma list of gallery sizes (add 1000000 for the 1M run)",
    )
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--single-enrolls", type=int, default=1000)
    parser.add_argument(
        "--noise",
        type=float,
        default=0.9,
        help="probe noise (0.9 gives cosine ~0.75 to the source face)",
    )
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=HnswParams.ef_construction)
    parser.add_argument(
        "--ef-search-sweep",
        default="128,256,512",
        help="comma list of HNSW efSearch values to measure",
    )
    parser.add_argument(
        "--search-threads",
        type=int,
        default=1,
        help="FAISS OpenMP threads per search (the store's default: 1)",
    )
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    print(
        f"gallery search bench: {DIMENSION}-d, faiss {faiss.__version__}, "
        f"{args.search_threads} search thread(s), {args.queries} queries, top_k 5"
    )
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="faceflow-bench-"))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(size, args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
