"""Which face of each lfw-devtest photo verification uses, and what the choice costs.

In-process, with the services' own code (``evaluation.local_pipeline.LocalPipeline``:
decode, YuNet at native scale, alignment, SFace) and the detection service's own ordering
(``order_faces``: largest box first, or box centre nearest the photo's centre first, the
``face_selection`` of /verify). Prints JSON:
- how many photos hold several faces, and in how many the largest face is not the centred one;
- 10-fold accuracy on the 1,000 View-1 pairs for each choice;
- the genuine pairs the largest face gets wrong at the FAR 1e-3 threshold of models/sface.toml
  and the centred face gets right, with both cosines;
- the effective dimension (participation ratio of the covariance spectrum) of the embeddings
  of the centred faces: how spread real embeddings are, next to the isotropic synthetic ones of
  bench/gallery_search.py.

    .venv/bin/python evaluation/lfw_face_choice.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from faceflow.detection.v1 import detection_pb2
from numpy.typing import NDArray

from evaluation.lfw_accuracy import DEFAULT_DATA, read_pairs
from evaluation.local_pipeline import LocalPipeline
from services.detection.servicer import order_faces
from services.embedding.thresholds import FarTable
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from training.verification import ten_fold_accuracy

CHOICES = {"largest": detection_pb2.FACE_ORDER_LARGEST, "center": detection_pb2.FACE_ORDER_CENTER}


def participation_ratio(vectors: NDArray[np.float32]) -> float:
    """(sum of covariance eigenvalues)^2 / sum of their squares: 1 to the dimension."""
    eigenvalues = np.linalg.eigvalsh(np.cov(vectors.T))
    return float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    options = parser.parse_args()
    if not (options.data / "pairs.csv").is_file():
        sys.stderr.write(f"{options.data} has no pairs.csv (LFW View-1 lfw-devtest)\n")
        return 2
    store = ModelStore()
    pipeline = LocalPipeline.load(store)
    pairs = read_pairs(options.data)
    names = sorted({name for a, b, _ in pairs for name in (a, b)})
    embeddings: dict[str, dict[str, NDArray[np.float32]]] = {choice: {} for choice in CHOICES}
    several = differ = 0
    for name in names:
        image = decode_image((options.data / name).read_bytes())
        faces = pipeline.detector.detect(image, upscale=False)  # as recognition asks
        if not faces:
            continue
        several += len(faces) > 1
        chosen = {
            choice: order_faces(faces, order, image.shape[1], image.shape[0])[0]
            for choice, order in CHOICES.items()
        }
        differ += chosen["largest"] is not chosen["center"]
        for choice, face in chosen.items():
            embeddings[choice][name] = pipeline.embed_face(image, face)
    same = np.array([s for _, _, s in pairs])
    similarity = {
        choice: np.array(
            [
                float(vectors[a] @ vectors[b]) if a in vectors and b in vectors else -1.0
                for a, b, _ in pairs
            ]
        )
        for choice, vectors in embeddings.items()
    }
    spec = store.spec("sface")
    threshold = FarTable.from_params(spec.params, spec.name).verify_thresholds()["1e-3"]
    rescued = [
        {"a": a, "b": b, "largest": round(float(largest), 3), "center": round(float(centre), 3)}
        for (a, b, s), largest, centre in zip(
            pairs, similarity["largest"], similarity["center"], strict=True
        )
        if s and largest < threshold <= centre
    ]
    figures = {
        "photos": len(names),
        "photos_with_several_faces": several,
        "photos_whose_largest_face_is_not_the_centred_one": differ,
        "ten_fold_accuracy": {
            choice: round(ten_fold_accuracy(values, same)[0], 4)
            for choice, values in similarity.items()
        },
        "genuine_pairs_wrong_with_largest_right_with_center_at_far_1e-3": rescued,
        "embedding_effective_dimension": round(
            participation_ratio(np.stack(list(embeddings["center"].values()))), 1
        ),
    }
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
