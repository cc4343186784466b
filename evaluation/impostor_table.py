"""Measure the served embedding model's impostor-score table (cosine at FAR 1e-1 .. 1e-8).

Through the served code: the script starts the detection and embedding services as real
processes (the ``make run`` launcher, on free ports) and sends every photo over gRPC to
detection (``Detect`` with aligned crops, native scale, the face nearest the centre: what
``/verify`` and ``/search`` do) and the crops to ``Embed``. Photos:

- ``../shared/data/lfw-devtest`` (1,549 LFW View-1 photos, identity = folder): the served table
  (``--sets lfw``, the default; 1.2 million impostor pairs, FAR down to ~1e-6);
- with ``--sets lfw,utk`` also ``../shared/data/train/utkface-22k`` (22,629 chips, each taken as
  its own identity). Measured 2026-12-02 this is NOT usable as an impostor set: it holds
  duplicates (its top impostor pairs are one picture under two names, cosine 1.00), and its
  low-resolution chips score higher against each other (0.51 at FAR 1e-3 vs LFW's 0.36). A
  table from it puts the threshold at cosine 1.0 below FAR 1e-6 (docs/embedding.md).

Every pair of photos of different identities is an impostor pair (~290 million). The table is
what ``services.embedding.thresholds.FarTable`` serves: ``/verify`` reads FAR 1e-3/1e-4/1e-5
from it, ``/search`` the FAR its target FPIR needs for the gallery searched. ``--write`` stores
it in ``models/<model>.toml`` ``[params]``. The script also prints the same figures on each set
alone, the genuine-accept rate of LFW's same-person pairs at each FAR, and the highest impostor
pairs (to see whether the tail is duplicates).

    .venv/bin/python evaluation/impostor_table.py --write             # the served table, ~2 min
    .venv/bin/python evaluation/impostor_table.py --sets lfw,utk      # the UTKFace figures, ~16 min
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from numpy.typing import NDArray

from deploy.local.stack import embedder_env, running_stack
from services.embedding.thresholds import FarTable, table_fars
from services.shared.model_store.local import replace_params

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_LFW = SHARED_DATA / "lfw-devtest"
DEFAULT_UTK = SHARED_DATA / "train" / "utkface-22k.tar.gz"
EMBED_BATCH = 64
BIN = 1e-4  # histogram resolution of the first pass (cosine)
BLOCK = 2048


@dataclass(frozen=True)
class Photo:
    """One photo and the identity it shows."""

    path: Path
    identity: str


def lfw_photos(folder: Path) -> list[Photo]:
    """lfw-devtest: identity = the person's folder."""
    return [Photo(p, f"lfw:{p.parent.name}") for p in sorted((folder / "images").rglob("*.jpg"))]


def utk_photos(folder: Path) -> list[Photo]:
    """UTKFace chips: each chip its own identity."""
    return [Photo(p, f"utk:{p.name}") for p in sorted(folder.rglob("*.jpg"))]


def unpacked_utk(source: Path, scratch: Path) -> Path:
    """The UTKFace folder: ``source`` itself, or its tarball unpacked under ``scratch``."""
    if source.is_dir():
        return source
    with tarfile.open(source) as archive:
        archive.extractall(scratch, filter="data")
    return scratch


class ServedEmbedder:
    """Photos -> unit embeddings through the running detection and embedding services."""

    def __init__(self, detection: str, embedding: str, timeout: float = 60.0) -> None:
        self._channels = [grpc.insecure_channel(detection), grpc.insecure_channel(embedding)]
        self.detect = detection_pb2_grpc.DetectionServiceStub(self._channels[0]).Detect
        self.embed = embedding_pb2_grpc.EmbeddingServiceStub(self._channels[1]).Embed
        self.timeout = timeout
        self.models: list[str] = []

    def crop(self, photo: Photo) -> common_pb2.AlignedCrop | None:
        """The aligned crop of the face nearest the photo's centre, None without a face."""
        reply = self.detect(
            detection_pb2.DetectRequest(
                image=common_pb2.Image(data=photo.path.read_bytes()),
                max_faces=1,
                include_aligned_crops=True,
                keep_native_scale=True,
                order=detection_pb2.FACE_ORDER_CENTER,
            ),
            timeout=self.timeout,
        )
        return reply.faces[0].aligned_crop if reply.faces else None

    def embed_all(self, photos: list[Photo]) -> tuple[NDArray[np.float32], list[int]]:
        """Embeddings of the photos with a face, and the indexes of those photos."""
        kept: list[int] = []
        vectors: list[list[float]] = []
        batch: list[common_pb2.AlignedCrop] = []
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            for index, crop in enumerate(pool.map(self.crop, photos)):
                if crop is not None:
                    kept.append(index)
                    batch.append(crop)
                if len(batch) == EMBED_BATCH or (index == len(photos) - 1 and batch):
                    reply = self.embed(
                        embedding_pb2.EmbedRequest(tenant="evaluation", crops=batch),
                        timeout=self.timeout,
                    )
                    vectors.extend(list(e.values) for e in reply.embeddings)
                    self.models = [f"{m.name} {m.version}" for m in reply.models]
                    batch = []
                if (index + 1) % 2000 == 0:
                    rate = (index + 1) / (time.perf_counter() - started)
                    sys.stderr.write(f"  {index + 1}/{len(photos)} photos ({rate:.0f}/s)\n")
        return np.asarray(vectors, dtype=np.float32), kept

    def close(self) -> None:
        """Close both channels."""
        for channel in self._channels:
            channel.close()


def impostor_blocks(
    vectors: NDArray[np.float32],
    labels: NDArray[np.int64],
    rows: NDArray[np.bool_] | None = None,
    galleries: NDArray[np.bool_] | None = None,
) -> Iterator[NDArray[np.float32]]:
    """Similarities of every pair (i < j) with different labels, one block of rows at a time.

    ``rows`` restricts both sides to a subset (the figures of one data set alone);
    ``galleries`` marks photos that only ever meet a probe (a pair of two of them is skipped).
    """
    if rows is not None:
        vectors, labels = vectors[rows], labels[rows]
        galleries = galleries[rows] if galleries is not None else None
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start : start + BLOCK] @ vectors[start:].T
        yield block[impostor_mask(labels, galleries, start, block.shape)]


def impostor_mask(
    labels: NDArray[np.int64],
    galleries: NDArray[np.bool_] | None,
    start: int,
    shape: tuple[int, ...],
) -> NDArray[np.bool_]:
    """Which cells of the block of rows ``start..`` against columns ``start..`` are impostor
    pairs: above the diagonal, different labels, and not two gallery photos."""
    keep = np.triu(np.ones(shape, dtype=bool), k=1)
    keep &= labels[start : start + shape[0], None] != labels[None, start:]
    if galleries is not None:
        keep &= ~(galleries[start : start + shape[0], None] & galleries[None, start:])
    return keep


@dataclass
class ImpostorMoments:
    """Count, mean and standard deviation of impostor scores, accumulated block by block."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, scores: NDArray[np.float32]) -> None:
        """Take one block of scores into account."""
        values = scores.astype(np.float64)
        self.count += len(values)
        self.total += float(values.sum())
        self.squares += float(np.square(values).sum())

    @property
    def mean(self) -> float:
        """The mean score."""
        return self.total / self.count

    @property
    def std(self) -> float:
        """The population standard deviation of the scores."""
        return float(np.sqrt(max(0.0, self.squares / self.count - self.mean**2)))


def measure_table(
    vectors: NDArray[np.float32],
    labels: NDArray[np.int64],
    rows: NDArray[np.bool_] | None = None,
    galleries: NDArray[np.bool_] | None = None,
) -> FarTable:
    """The FAR table of all impostor pairs, continued to FAR 1e-8 along their normal fit.

    A histogram finds the floor of the tail, then the tail's exact scores give the measured
    rows (``FarTable.measure``); ``FarTable.with_normal_tail`` adds the rows below them.
    """
    counts = np.zeros(round(2 / BIN) + 2, dtype=np.int64)
    moments = ImpostorMoments()
    for scores in impostor_blocks(vectors, labels, rows, galleries):
        moments.add(scores)
        bins = np.clip(((scores + 1.0) / BIN).astype(np.int64), 0, len(counts) - 1)
        counts += np.bincount(bins, minlength=len(counts))
    fars = table_fars()
    needed = int(max(fars) * moments.count) + 1
    above = np.cumsum(counts[::-1])[::-1]  # pairs in this bin or higher
    floor_bin = int(np.nonzero(above >= needed)[0][-1])
    floor = floor_bin * BIN - 1.0
    tail = np.concatenate(
        [s[s >= floor] for s in impostor_blocks(vectors, labels, rows, galleries)]
    )
    measured = FarTable.measure(tail, moments.count, fars)
    return measured.with_normal_tail(moments.mean, moments.std)


def tail_check(
    vectors: NDArray[np.float32],
    labels: NDArray[np.int64],
    table: FarTable,
    share: float = 0.01,
    seed: int = 0,
) -> dict[str, object]:
    """How well the normal tail predicts measured rows: fit on a share of the pairs only.

    A table measured on a random ``share`` of the impostor pairs stops ~2 decades earlier;
    its extrapolated rows are compared with the full measurement at each decade in between.
    """
    rng = np.random.default_rng(seed)
    sample = np.concatenate(
        [s[rng.random(len(s)) < share] for s in impostor_blocks(vectors, labels)]
    )
    small = FarTable.measure(sample, len(sample), table_fars())
    predicted = small.with_normal_tail(float(sample.mean()), float(sample.std()))
    check: dict[str, object] = {"pairs_fitted": len(sample)}
    for far in (1e-4, 1e-5, 1e-6, 1e-7):
        if small.fars[-1] > far >= table.strictest_measured_far:
            check[f"{far:g}"] = {
                "predicted": round(predicted.similarity_at_far(far), 4),
                "measured": round(table.similarity_at_far(far), 4),
            }
    return check


def top_impostors(
    vectors: NDArray[np.float32],
    labels: NDArray[np.int64],
    names: list[str],
    galleries: NDArray[np.bool_] | None = None,
    count: int = 10,
) -> list[dict[str, object]]:
    """The highest-scoring impostor pairs (to look at: duplicates or look-alikes?)."""
    best: list[tuple[float, int, int]] = []
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start : start + BLOCK] @ vectors[start:].T
        block[~impostor_mask(labels, galleries, start, block.shape)] = -2.0
        flat = np.argpartition(block.ravel(), -count)[-count:]
        for position in flat:
            i, j = divmod(int(position), block.shape[1])
            best.append((float(block[i, j]), start + i, start + j))
    best.sort(reverse=True)
    return [{"cosine": round(s, 4), "a": names[i], "b": names[j]} for s, i, j in best[:count]]


def genuine_scores(vectors: NDArray[np.float32], labels: NDArray[np.int64]) -> NDArray[np.float32]:
    """Similarities of every pair of photos of one identity."""
    similarity = vectors @ vectors.T
    same = (labels[:, None] == labels[None, :]) & np.triu(np.ones(similarity.shape, bool), k=1)
    return np.asarray(similarity[same], dtype=np.float32)


def summary(table: FarTable, genuine: NDArray[np.float32] | None = None) -> dict[str, object]:
    """A few rows of a table (and the genuine-accept rate at each) for reading."""
    rows = {}
    for far in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
        if far < table.fars[-1]:
            continue
        cosine = table.similarity_at_far(far)
        row: dict[str, float | bool] = {"cosine": round(cosine, 4)}
        if far < table.strictest_measured_far:
            row["extrapolated"] = True
        if genuine is not None and len(genuine):
            row["lfw_genuine_accepted"] = round(float(np.mean(genuine >= cosine)), 4)
        rows[f"{far:g}"] = row
    return {
        "impostor_pairs": table.impostor_pairs,
        "measured_down_to_far": table.strictest_measured_far,
        "at_far": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--utk", type=Path, default=DEFAULT_UTK, help="folder or .tar.gz")
    parser.add_argument(
        "--sets", default="lfw", help="photo sets: lfw (served), or lfw,utk (see docstring)"
    )
    parser.add_argument(
        "--utk-pairs",
        choices=("all", "with-lfw"),
        default="all",
        help="with-lfw: a UTKFace chip only meets LFW photos (probe-to-gallery pairs)",
    )
    parser.add_argument("--model", default="sface", help="the served embedding model")
    parser.add_argument("--limit", type=int, default=0, help="first N UTKFace chips (a try)")
    parser.add_argument("--embeddings", type=Path, help="save/reuse the embeddings (.npz)")
    parser.add_argument("--write", action="store_true", help="store the table in the manifest")
    options = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="faceflow-impostors-") as scratch:
        sets = set(options.sets.split(","))
        photos = lfw_photos(options.lfw)
        if "utk" in sets:
            utk = utk_photos(unpacked_utk(options.utk, Path(scratch) / "utk"))
            photos += utk[: options.limit] if options.limit else utk
        if options.embeddings and options.embeddings.is_file():
            saved = np.load(options.embeddings, allow_pickle=False)
            vectors, kept, models = saved["vectors"], list(saved["kept"]), list(saved["models"])
            if int(saved["photos"]) != len(photos):
                sys.stderr.write(f"{options.embeddings} holds another photo set\n")
                return 2
        else:
            with running_stack(
                Path(scratch) / "stack",
                ["detection", "embedding"],
                extra_env=embedder_env(options.model),
            ) as stack:
                embedder = ServedEmbedder(
                    stack.launcher.service_address("detection"),
                    stack.launcher.service_address("embedding"),
                )
                try:
                    vectors, kept = embedder.embed_all(photos)
                finally:
                    embedder.close()
                models = embedder.models
            if options.embeddings:
                np.savez(
                    options.embeddings,
                    vectors=vectors,
                    kept=kept,
                    models=models,
                    photos=len(photos),
                )
    if any(model.split()[0] != options.model for model in models):
        sys.stderr.write(f"the service served {models}, not {options.model}\n")
        return 2
    embed_seconds = time.perf_counter() - started
    identities = [photos[i].identity for i in kept]
    names = [str(photos[i].path.name) for i in kept]
    codes = {name: code for code, name in enumerate(sorted(set(identities)))}
    labels = np.array([codes[i] for i in identities], dtype=np.int64)
    is_lfw = np.array([i.startswith("lfw:") for i in identities])
    galleries = ~is_lfw if options.utk_pairs == "with-lfw" else None
    table = measure_table(vectors, labels, galleries=galleries)
    lfw_table = table if is_lfw.all() else measure_table(vectors, labels, is_lfw)
    figures = {
        "model": models,
        "photos": len(photos),
        "no_face": len(photos) - len(kept),
        "embed_seconds": round(embed_seconds, 1),
        "all": summary(table, genuine_scores(vectors[is_lfw], labels[is_lfw])),
        **(
            {
                "lfw_only": summary(lfw_table),
                "utk_only": summary(measure_table(vectors, labels, ~is_lfw)),
            }
            if (~is_lfw).any()
            else {}
        ),
        "tail_check": tail_check(vectors[is_lfw], labels[is_lfw], lfw_table),
        "top_impostors": top_impostors(vectors, labels, names, galleries),
        "seconds": round(time.perf_counter() - started, 1),
    }
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    if options.write:
        manifest = ROOT / "models" / f"{options.model}.toml"
        pairs_option = f" --utk-pairs {options.utk_pairs}" if "utk" in options.sets else ""
        note = (
            f"far_table_*: cosine at FAR 1e-1..{table.fars[-1]:g} (10 per decade; measured down\n"
            f"to {table.strictest_measured_far:g}, below it the normal tail), by\n"
            f"evaluation/impostor_table.py --sets {options.sets}{pairs_option}"
            " through the served services:\n"
            f"{len(kept)} photos, {table.impostor_pairs} impostor pairs"
        )
        replace_params(manifest, table.params(), drop=("similarity_far_", "far_table_"), note=note)
        sys.stdout.write(f"table written to {manifest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
