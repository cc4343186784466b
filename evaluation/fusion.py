"""Would fusing SFace with dlib's ResNet descriptor keep more genuine pairs at strict FARs?

A decision analysis, not a published figure: dlib's network is not served, so this script runs
both models in-process with the services' own classes (YuNet detection at native scale, the
face nearest the centre, ``align_face`` for SFace, ``align_dlib_chip`` for dlib) on every
lfw-devtest photo (LFW View 1, the tuning split). Every pair of photos of one person is a
genuine pair (983), every other pair an impostor pair (1.2 million). For SFace, dlib and
score-level fusions (each model's cosine z-normalised by its impostor mean and deviation, then
``w * sface + (1 - w) * dlib``) it prints the share of genuine pairs accepted at the threshold
that FAR 1e-3 .. 1e-6 of the impostor pairs reach (``FarTable.measure``, the served tables'
arithmetic) and the 10-fold accuracy on the 1,000 View-1 pairs.

    .venv/bin/python evaluation/fusion.py      # ~1 minute on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from evaluation.lfw_accuracy import read_pairs
from services.embedding.thresholds import FarTable
from services.shared.alignment import align_dlib_chip, align_face
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.sface import SFace, l2_normalise
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector
from services.shared.runtime import LiteModel
from training.verification import ten_fold_accuracy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LFW = ROOT.parent / "shared" / "data" / "lfw-devtest"
FARS = (1e-3, 1e-4, 1e-5, 1e-6)
SFACE_WEIGHTS = (0.3, 0.5, 0.7, 0.8)


@dataclass
class Embeddings:
    """Both models' unit vectors of every photo with a face, and who each photo shows."""

    sface: NDArray[np.float32]
    dlib: NDArray[np.float32]
    names: list[str]
    people: list[str]


def centred_face(faces: list[DetectedFace], width: int, height: int) -> DetectedFace:
    """The face whose box centre is nearest the photo's centre (``FACE_ORDER_CENTER``)."""
    return min(
        faces,
        key=lambda f: (
            (f.box[0] + f.box[2] / 2 - width / 2) ** 2 + (f.box[1] + f.box[3] / 2 - height / 2) ** 2
        ),
    )


def embed_photos(folder: Path) -> Embeddings:
    """Detect, align and embed every photo with both models."""
    store = ModelStore()
    detector = YuNetDetector.from_store(store, "yunet")
    sface = SFace.from_store(store, "sface", 2)
    dlib = LiteModel(store.open("dlib_resnet").path, 2)
    sface_rows: list[NDArray[np.float32]] = []
    dlib_rows: list[NDArray[np.float32]] = []
    names: list[str] = []
    people: list[str] = []
    for path in sorted((folder / "images").rglob("*.jpg")):
        image = decode_image(path.read_bytes())
        faces = detector.detect(image, upscale=False)
        if not faces:
            continue
        face = centred_face(faces, image.shape[1], image.shape[0])
        sface_rows.append(sface.embed(align_face(image, face.landmarks)[np.newaxis])[0])
        chip = align_dlib_chip(image, face.landmarks).astype(np.float32)[np.newaxis]
        dlib_rows.append(dlib.run(**{dlib.input_name: chip})[dlib.output_names[0]].reshape(-1))
        names.append(path.stem)
        people.append(path.parent.name)
    return Embeddings(
        np.asarray(sface_rows, dtype=np.float32), l2_normalise(np.asarray(dlib_rows)), names, people
    )


def z_normalised(
    similarity: NDArray[np.float32], impostor: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Scores in deviations from the impostor pairs' mean."""
    scores = similarity[impostor]
    return np.asarray((similarity - scores.mean()) / scores.std(), dtype=np.float64)


def accepted_at_fars(
    scores: NDArray[np.floating], genuine: NDArray[np.bool_]
) -> dict[str, dict[str, float]]:
    """Threshold at each FAR of the impostor pairs and the genuine pairs accepted there."""
    impostor = scores[~genuine]
    table = FarTable.measure(impostor.astype(np.float64), len(impostor), list(FARS))
    rows = {}
    for far in FARS:
        threshold = table.similarity_at_far(far)
        accepted = float(np.mean(scores[genuine] >= threshold))
        rows[f"{far:g}"] = {
            "threshold": round(threshold, 4),
            "genuine_accepted": round(accepted, 4),
        }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    options = parser.parse_args()
    embeddings = embed_photos(options.lfw)
    people = np.array(embeddings.people)
    upper = np.triu_indices(len(people), k=1)
    genuine = (people[:, None] == people[None, :])[upper]
    cosines = {
        "sface": (embeddings.sface @ embeddings.sface.T)[upper],
        "dlib": (embeddings.dlib @ embeddings.dlib.T)[upper],
    }
    z = {name: z_normalised(values, ~genuine) for name, values in cosines.items()}
    fused = {f"fused w_sface={w}": w * z["sface"] + (1 - w) * z["dlib"] for w in SFACE_WEIGHTS}

    index = {name: i for i, name in enumerate(embeddings.names)}
    pairs = read_pairs(options.lfw)
    first = np.array([index.get(Path(a).stem, -1) for a, _, _ in pairs])
    second = np.array([index.get(Path(b).stem, -1) for _, b, _ in pairs])
    same = np.array([s for _, _, s in pairs])
    found = (first >= 0) & (second >= 0)

    def pair_scores(weight: float | None) -> NDArray[np.float64]:
        s = np.einsum("ij,ij->i", embeddings.sface[first[found]], embeddings.sface[second[found]])
        if weight is None:
            return np.asarray(s, dtype=np.float64)
        d = np.einsum("ij,ij->i", embeddings.dlib[first[found]], embeddings.dlib[second[found]])
        stats = {
            name: (values[~genuine].mean(), values[~genuine].std())
            for name, values in cosines.items()
        }
        zs = (s - stats["sface"][0]) / stats["sface"][1]
        zd = (d - stats["dlib"][0]) / stats["dlib"][1]
        return np.asarray(weight * zs + (1 - weight) * zd, dtype=np.float64)

    report: dict[str, object] = {
        "photos": len(people),
        "genuine_pairs": int(genuine.sum()),
        "impostor_pairs": int((~genuine).sum()),
        "view1_pairs_with_faces": int(found.sum()),
    }
    for name, scores in {**cosines, **fused}.items():
        weight = None if name == "sface" else 0.0 if name == "dlib" else float(name.split("=")[1])
        report[name] = {
            "at_far": accepted_at_fars(scores, genuine),
            "view1_ten_fold": round(ten_fold_accuracy(pair_scores(weight), same[found])[0], 4),
        }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
