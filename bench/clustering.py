"""Benchmark of face clustering: the algorithm alone and a job through its store and worker.

Faces: the served SFace embeddings of the lfw-devtest photos (YuNet, the face nearest each
photo's centre, ``align_face``; 1,549 real faces of 963 people) first, then noisy copies of
random ones up to the size asked for (each copy has cosine ~0.75 to its source, about what
another photo of the same person scores), so 10,000 faces look like an album of ~1,500 people
with a few to a dozen photos each. For each size it prints the median over ``--runs`` of:
- ``cluster()`` in-process at the FAR 1e-5 link threshold (k-NN graph through FAISS, then
  Chinese whispers), with the clusters and unassigned faces it finds;
- a job as the service runs it on the SQLite job store: writing the faces in requests of 256
  (``ClusterJobStore.create`` / ``add``), one worker run (load, cluster, save the labels and
  clusters), reading the first page of 100 clusters;
- the incremental run after 1% more faces were added (``extend``).

    .venv/bin/python bench/clustering.py                  # 1k and 10k, 3 runs
    .venv/bin/python bench/clustering.py --sizes 50000 --runs 1
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.common import SHARED_DATA
from evaluation.fusion import centred_face
from services.embedding.cluster_jobs import JobSettings, NewFace, open_sqlite_jobs
from services.embedding.cluster_worker import ClusterWorker
from services.embedding.clustering import NOISE, cluster
from services.embedding.thresholds import FarTable
from services.shared.alignment import align_face
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo import SFace, YuNetDetector

REQUEST_FACES = 256
COPY_COSINE = 0.75
TENANT = "bench"


def lfw_embeddings(folder: Path) -> NDArray[np.float32]:
    """SFace embeddings of the centre face of every lfw-devtest photo."""
    store = ModelStore()
    detector = YuNetDetector.from_store(store, "yunet")
    sface = SFace.from_store(store, "sface", 2)
    rows = []
    for path in sorted((folder / "images").rglob("*.jpg")):
        image = decode_image(path.read_bytes())
        faces = detector.detect(image, upscale=False)
        if faces:
            face = centred_face(faces, image.shape[1], image.shape[0])
            rows.append(sface.embed(align_face(image, face.landmarks)[np.newaxis])[0])
    return np.asarray(rows, dtype=np.float32)


def album(real: NDArray[np.float32], size: int, seed: int = 0) -> NDArray[np.float32]:
    """``size`` faces: the real ones first, then noisy copies (cosine ~COPY_COSINE)."""
    if size <= len(real):
        return real[:size]
    rng = np.random.default_rng(seed)
    sources = real[rng.integers(0, len(real), size - len(real))]
    noise = rng.normal(size=sources.shape).astype(np.float32)
    noise -= (noise * sources).sum(axis=1, keepdims=True) * sources
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    spread = np.sqrt(1.0 - COPY_COSINE**2)
    copies = COPY_COSINE * sources + spread * noise
    return np.concatenate([real, copies.astype(np.float32)])


def write_job(
    jobs_path: Path, vectors: NDArray[np.float32], settings: JobSettings
) -> tuple[str, float]:
    """Store the faces as the API would (requests of REQUEST_FACES); (job id, seconds)."""
    jobs = open_sqlite_jobs(jobs_path)
    started = time.perf_counter()
    faces = [NewFace(v, photo=f"p{i}.jpg") for i, v in enumerate(vectors)]
    job, _ = jobs.create(TENANT, settings, faces[:REQUEST_FACES])
    for start in range(REQUEST_FACES, len(faces), REQUEST_FACES):
        jobs.add(TENANT, job.job_id, faces[start : start + REQUEST_FACES])
    return job.job_id, time.perf_counter() - started


def timed_run(worker: ClusterWorker) -> float:
    started = time.perf_counter()
    if not worker.run_once():
        raise RuntimeError("no job to run")
    return time.perf_counter() - started


def bench_size(vectors: NDArray[np.float32], settings: JobSettings, runs: int) -> dict[str, float]:
    """Median seconds of each step for one album, and what the clustering found."""
    figures: dict[str, list[float]] = {
        "cluster": [],
        "write": [],
        "run": [],
        "page": [],
        "extend": [],
    }
    clusters = unassigned = 0
    extra = album(vectors, len(vectors) + max(1, len(vectors) // 100), seed=1)[len(vectors) :]
    for _ in range(runs):
        started = time.perf_counter()
        found = cluster(vectors, settings.link_similarity, settings.min_cluster_size)
        figures["cluster"].append(time.perf_counter() - started)
        clusters = found.cluster_count
        unassigned = int(np.count_nonzero(found.labels == NOISE))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "clusters.sqlite3"
            job_id, seconds = write_job(path, vectors, settings)
            figures["write"].append(seconds)
            jobs = open_sqlite_jobs(path)
            worker = ClusterWorker(jobs, vectors.shape[1])
            figures["run"].append(timed_run(worker))
            started = time.perf_counter()
            jobs.page(TENANT, job_id, 0, 100, 0, 100)
            figures["page"].append(time.perf_counter() - started)
            jobs.add(TENANT, job_id, [NewFace(v) for v in extra])
            figures["extend"].append(timed_run(worker))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {**medians, "clusters": clusters, "unassigned": unassigned}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--far", type=float, default=1e-5)
    parser.add_argument("--lfw", type=Path, default=SHARED_DATA / "lfw-devtest")
    options = parser.parse_args()
    spec = ModelStore().spec("sface")
    similarity = FarTable.from_params(spec.params, "sface").similarity_at_far(options.far)
    settings = JobSettings(options.far, similarity, 2, "sface:bench")
    started = time.perf_counter()
    real = lfw_embeddings(options.lfw)
    print(
        f"{len(real)} real SFace embeddings (lfw-devtest) in {time.perf_counter() - started:.0f} s;"
        f" link at FAR {options.far:g} = cosine {similarity:.3f}; median of {options.runs} runs\n"
    )
    header = (
        f"{'faces':>7} {'cluster()':>10} {'clusters':>9} {'unassigned':>10} {'write':>7} "
        f"{'job run':>8} {'page':>7} {'+1% run':>8}"
    )
    print(header)
    for size in options.sizes:
        row = bench_size(album(real, size), settings, options.runs)
        print(
            f"{size:>7} {row['cluster']:>9.2f}s {row['clusters']:>9.0f} {row['unassigned']:>10.0f}"
            f" {row['write']:>6.2f}s {row['run']:>7.2f}s {row['page'] * 1000:>5.0f}ms"
            f" {row['extend']:>7.2f}s"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
