"""Face clustering through HTTP on lfw-devtest, against face_recognition's approach.

``python -m evaluation.clustering`` starts the real local stack (detection, embedding and the
gateway as processes, ``deploy.local.stack``) and, as a client would, sends every
lfw-devtest photo (1,549 photos of 963 people; the identity is the photo's folder) to
``POST /api/v1/clusters`` in batches of 16 (the first creates the job, the rest are added to
it through ``POST /api/v1/clusters/{job_id}/photos``), polls the job and reads every page of
the result. Every face the detector finds is clustered (LFW photos often show a bystander);
the face nearest each photo's centre is the labelled one, the others take part unlabelled.

The peer is what face_recognition's tutorials do (and some photo managers): dlib's ResNet face
descriptor (128-d) with scikit-learn's DBSCAN, ``eps=0.5`` Euclidean on the raw descriptors,
``min_samples`` 5 (as PyImageSearch's "face clustering" tutorial uses) and 2. The descriptor
is our port of dlib's network (``dlib_resnet`` in the model store; its TFLite file ends with an
L2 normalisation dlib does not apply and eps=0.5 is meant for dlib's raw scale, so the raw
vectors come from the same weights rebuilt in Keras without that last step, parity-tested
against dlib; DBSCAN on the unit-length TFLite output is shown too) on
150x150 chips cut at the five landmarks of our YuNet detector for the very faces the job
clustered (YuNet run here as the detection service runs it for /clusters, at the photo's own
scale, each face matched to the job's by its box). face_recognition would find faces with
dlib's HOG detector and landmarks; taking the same faces for both keeps the comparison about
embeddings and clustering, not detectors.

Scores, on the labelled faces (an unassigned face is a cluster of its own):
- pairwise precision / recall / F1: of the pairs put in one cluster, the share that are one
  person; of the pairs of one person, the share put in one cluster;
- BCubed precision / recall / F1 (Bagga & Baldwin 1998): per face, the share of its cluster
  that is its person and the share of its person in its cluster, averaged over faces.
Also the clusters and unassigned faces, and the time each side took.

    .venv/bin/python -m evaluation.clustering                    # ~5 minutes on 2 cores
    .venv/bin/python -m evaluation.clustering --fars 1e-5 1e-4 --json var/clustering.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.local.stack import running_stack  # noqa: E402
from faceflow_sdk import FaceflowClient  # noqa: E402
from faceflow_sdk.cluster_folder import (  # noqa: E402
    ClusterFolderResult,
    read_result,
    wait_for_job,
)
from services.shared.alignment import align_dlib_chip  # noqa: E402
from services.shared.imaging import decode_image  # noqa: E402
from services.shared.model_store import ModelStore  # noqa: E402
from services.shared.model_store.fetch import fetch_source  # noqa: E402
from services.shared.model_zoo import YuNetDetector  # noqa: E402
from services.shared.runtime import LiteModel  # noqa: E402

DEFAULT_LFW = ROOT.parent / "shared" / "data" / "lfw-devtest"
BATCH_PHOTOS = 16
DBSCAN_EPS = 0.5
DBSCAN_MIN_SAMPLES = (5, 2)
KERAS_BATCH = 16
NOISE = -1

FaceKey = tuple[str, int]
"""(photo name, face index in the photo)."""


# ------------------------------------------------------------------ scores


def _singletons(labels: Sequence[int]) -> NDArray[np.int64]:
    """Labels with every unassigned face (``NOISE``) in a cluster of its own."""
    out = np.asarray(labels, dtype=np.int64).copy()
    noise = out == NOISE
    out[noise] = out.max(initial=0) + 1 + np.arange(int(noise.sum()))
    return out


def _pairs_within(labels: NDArray[np.int64]) -> int:
    counts = np.bincount(labels - labels.min()) if len(labels) else np.zeros(0, dtype=np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(truth: Sequence[str], predicted: Sequence[int]) -> dict[str, float]:
    """Pairwise precision, recall and F1 (an unassigned face pairs with no one)."""
    people = np.unique(np.asarray(truth), return_inverse=True)[1].astype(np.int64)
    found = _singletons(predicted)
    both = people * (found.max(initial=0) + 1) + found  # one id per (person, cluster)
    together = _pairs_within(both)
    predicted_pairs, true_pairs = _pairs_within(found), _pairs_within(people)
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def bcubed_scores(truth: Sequence[str], predicted: Sequence[int]) -> dict[str, float]:
    """BCubed precision, recall and F1 (an unassigned face is its own cluster)."""
    found = _singletons(predicted)
    overlap = Counter(zip(truth, found.tolist(), strict=True))
    cluster_size = Counter(found.tolist())
    person_size = Counter(truth)
    precision = recall = 0.0
    for person, label in zip(truth, found.tolist(), strict=True):
        shared = overlap[(person, label)]
        precision += shared / cluster_size[label]
        recall += shared / person_size[person]
    precision /= len(truth)
    recall /= len(truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def scores(truth: Sequence[str], predicted: Sequence[int]) -> dict[str, Any]:
    """Every figure of one clustering of the labelled faces."""
    labels = np.asarray(predicted, dtype=np.int64)
    return {
        "pairwise": pairwise_scores(truth, predicted),
        "bcubed": bcubed_scores(truth, predicted),
        "clusters": len(set(labels[labels != NOISE].tolist())),
        "unassigned": int(np.count_nonzero(labels == NOISE)),
    }


# ------------------------------------------------------------------ ours


@dataclass
class JobFace:
    """A face the job clustered: where it is, and our label for it."""

    photo: str
    face_index: int
    box: tuple[float, float, float, float]
    label: int


def lfw_photos(folder: Path) -> list[tuple[str, Path]]:
    """(name "Person/file.jpg", path) of every lfw-devtest photo, sorted."""
    images = folder / "images"
    return [(path.relative_to(images).as_posix(), path) for path in sorted(images.rglob("*.jpg"))]


def cluster_through_http(
    client: FaceflowClient, photos: list[tuple[str, Path]], far: float
) -> tuple[list[JobFace], dict[str, Any]]:
    """Every face of every photo clustered through the API, and the timings."""
    started = time.perf_counter()
    job_id = ""
    for start in range(0, len(photos), BATCH_PHOTOS):
        batch = [(name, path.read_bytes()) for name, path in photos[start : start + BATCH_PHOTOS]]
        if not job_id:
            job_id = client.create_cluster_job(batch, far=far)["job_id"]
        else:
            client.add_cluster_photos(job_id, batch)
    uploaded = time.perf_counter()
    job = wait_for_job(client, job_id, poll_seconds=0.2)
    finished = time.perf_counter()
    if job["status"] != "done":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
    result = ClusterFolderResult()
    read_result(client, job_id, result)
    labelled = [(c["cluster_id"], face) for c in result.clusters for face in c["faces"]]
    faces = []
    for label, face in [*labelled, *((NOISE, face) for face in result.unassigned)]:
        box = face["box"]
        if box is None or face["photo"] is None or face["face_index"] is None:
            raise RuntimeError(f"face {face['face_id']} of job {job_id} has no photo")
        where = (box["x"], box["y"], box["width"], box["height"])
        faces.append(JobFace(face["photo"], face["face_index"], where, label))
    client.delete_cluster_job(job_id)
    timing = {
        "upload_detect_embed_s": round(uploaded - started, 1),
        "clustering_after_upload_s": round(finished - uploaded, 2),
        "link_similarity": job["link_similarity"],
        "faces": job["face_count"],
    }
    return sorted(faces, key=lambda f: (f.photo, f.face_index)), timing


def centre_faces(faces: list[JobFace], sizes: dict[str, tuple[int, int]]) -> dict[FaceKey, str]:
    """The face nearest each photo's centre -> the person of the photo's folder."""
    nearest: dict[str, tuple[float, JobFace]] = {}
    for face in faces:
        width, height = sizes[face.photo]
        x, y, w, h = face.box
        distance = (x + w / 2 - width / 2) ** 2 + (y + h / 2 - height / 2) ** 2
        if face.photo not in nearest or distance < nearest[face.photo][0]:
            nearest[face.photo] = (distance, face)
    return {(f.photo, f.face_index): f.photo.split("/")[0] for _, f in nearest.values()}


# ------------------------------------------------------------------- peer


@dataclass
class Descriptors:
    """dlib ResNet descriptors of the job's faces, and each photo's size."""

    raw: NDArray[np.float32]
    """dlib's own vectors (what face_recognition returns; eps=0.5 assumes their scale)."""
    unit: NDArray[np.float32]
    """The served-parity TFLite port's output: the same vectors, L2-normalised."""
    sizes: dict[str, tuple[int, int]]


def dlib_chips(
    photos: dict[str, Path], faces: list[JobFace]
) -> tuple[NDArray[np.uint8], dict[str, tuple[int, int]]]:
    """The 150x150 dlib chip of every job face, cut at the five landmarks of the served
    detector (run here with the detection service's settings; the face with the job's box),
    and each photo's size."""
    detector = YuNetDetector.from_store(ModelStore(), "yunet")
    chips = np.zeros((len(faces), 150, 150, 3), dtype=np.uint8)
    sizes: dict[str, tuple[int, int]] = {}
    by_photo: dict[str, list[int]] = {}
    for row, face in enumerate(faces):
        by_photo.setdefault(face.photo, []).append(row)
    for name, rows in by_photo.items():
        image = decode_image(photos[name].read_bytes())
        sizes[name] = (image.shape[1], image.shape[0])
        found = detector.detect(image, upscale=False)
        for row in rows:
            box = np.asarray(faces[row].box)
            match = min(found, key=lambda d: float(np.abs(d.box - box).max()))
            if float(np.abs(match.box - box).max()) > 1.0:
                raise RuntimeError(f"{name}#{faces[row].face_index}: no face with the job's box")
            chips[row] = align_dlib_chip(image, match.landmarks)
    return chips, sizes


def dlib_descriptors(photos: dict[str, Path], faces: list[JobFace]) -> Descriptors:
    """Both forms of the dlib descriptor of every job face.

    The raw vectors come from the same network rebuilt in Keras without its last L2
    normalisation (``keras_model_from_dat(normalize=False)``, checked against dlib's own
    descriptors by tests/training/test_dlib_resnet_parity.py)."""
    from training.importers.dlib_resnet_export import keras_model_from_dat

    chips, sizes = dlib_chips(photos, faces)
    store = ModelStore()
    lite = LiteModel(store.open("dlib_resnet").path, 2)
    unit = np.concatenate(
        [
            np.asarray(
                lite.run(**{lite.input_name: chip[np.newaxis].astype(np.float32)})[
                    lite.output_names[0]
                ]
            ).reshape(1, -1)
            for chip in chips
        ]
    ).astype(np.float32)
    source = fetch_source(store.spec("dlib_resnet").source, store.cache_dir.parent / "downloads")
    network = keras_model_from_dat(source, normalize=False)
    raw = np.concatenate(
        [
            np.asarray(network(chips[start : start + KERAS_BATCH].astype(np.float32)))
            for start in range(0, len(chips), KERAS_BATCH)
        ]
    ).astype(np.float32)
    return Descriptors(raw, unit, sizes)


def dbscan_labels(descriptors: NDArray[np.float32], min_samples: int) -> NDArray[np.int64]:
    """scikit-learn DBSCAN at eps 0.5, Euclidean (face_recognition's tutorials)."""
    from sklearn.cluster import DBSCAN  # type: ignore[import-untyped]

    model = DBSCAN(eps=DBSCAN_EPS, min_samples=min_samples, metric="euclidean")
    return np.asarray(model.fit_predict(descriptors), dtype=np.int64)


def evaluate(client: FaceflowClient, folder: Path, fars: Sequence[float]) -> dict[str, Any]:
    """Both approaches on every photo; scores on the labelled faces."""
    photos = lfw_photos(folder)
    runs = {far: cluster_through_http(client, photos, far) for far in fars}
    faces = runs[fars[0]][0]
    keys = [(f.photo, f.face_index) for f in faces]
    for far, (other, _) in runs.items():
        if [(f.photo, f.face_index, f.box) for f in other] != [
            (f.photo, f.face_index, f.box) for f in faces
        ]:
            raise RuntimeError(f"the job at far={far:g} found other faces")
    started = time.perf_counter()
    descriptors = dlib_descriptors(dict(photos), faces)
    descriptor_seconds = time.perf_counter() - started
    labelled = centre_faces(faces, descriptors.sizes)
    chosen = [n for n, key in enumerate(keys) if key in labelled]
    truth = [labelled[keys[n]] for n in chosen]
    report: dict[str, Any] = {
        "photos": len(photos),
        "faces": len(faces),
        "labelled_faces": len(chosen),
        "people": len(set(truth)),
        "methods": {},
    }
    for far, (clustered, timing) in runs.items():
        report["methods"][f"faceflow far={far:g}"] = {
            **scores(truth, [clustered[n].label for n in chosen]),
            **timing,
        }
    peers = [
        (f"dlib+DBSCAN eps=0.5 min_samples={m}", descriptors.raw, m) for m in DBSCAN_MIN_SAMPLES
    ]
    peers.append(("dlib unit-length+DBSCAN eps=0.5 min_samples=2", descriptors.unit, 2))
    for name, vectors, min_samples in peers:
        started = time.perf_counter()
        labels = dbscan_labels(vectors, min_samples)
        seconds = time.perf_counter() - started
        report["methods"][name] = {
            **scores(truth, [int(labels[n]) for n in chosen]),
            "dbscan_s": round(seconds, 2),
            "descriptors_s": round(descriptor_seconds, 1),
        }
    report["dlib_raw_norm_median"] = round(
        float(np.median(np.linalg.norm(descriptors.raw, axis=1))), 3
    )
    return report


# -------------------------------------------------------------------- main


def print_report(report: dict[str, Any]) -> None:
    """One row per method."""
    out = sys.stdout
    out.write(
        f"{report['photos']} photos, {report['faces']} faces detected, "
        f"{report['labelled_faces']} labelled (the face nearest each photo's centre) of "
        f"{report['people']} people\n\n"
    )
    out.write(
        f"{'method':44s} {'pair P':>7} {'pair R':>7} {'pair F1':>7} {'B3 P':>7} {'B3 R':>7}"
        f" {'B3 F1':>7} {'clusters':>8} {'unassigned':>10}\n"
    )
    for name, row in report["methods"].items():
        pair, b3 = row["pairwise"], row["bcubed"]
        out.write(
            f"{name:44s} {pair['precision']:7.3f} {pair['recall']:7.3f} {pair['f1']:7.3f}"
            f" {b3['precision']:7.3f} {b3['recall']:7.3f} {b3['f1']:7.3f}"
            f" {row['clusters']:8d} {row['unassigned']:10d}\n"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--fars", type=float, nargs="+", default=[1e-5, 1e-4])
    parser.add_argument("--url", help="an already running gateway (with detection, embedding)")
    parser.add_argument("--key", help="its API key")
    parser.add_argument("--json", type=Path, help="write every figure here")
    options = parser.parse_args()
    if not (options.lfw / "images").is_dir():
        sys.stderr.write(f"{options.lfw} has no images/ folder\n")
        return 2
    if options.url:
        with FaceflowClient(options.url, options.key or "", timeout=120) as client:
            report = evaluate(client, options.lfw, options.fars)
    else:
        with (
            tempfile.TemporaryDirectory(prefix="faceflow-clusters-") as folder,
            running_stack(Path(folder), services=("detection", "embedding")) as stack,
            FaceflowClient(stack.url, stack.api_key, timeout=120) as client,
        ):
            report = evaluate(client, options.lfw, options.fars)
    print_report(report)
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
