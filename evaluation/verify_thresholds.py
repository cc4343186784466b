"""Measure SFace's decision thresholds at FAR 1e-3, 1e-4 and 1e-5 on real LFW faces.

Every image of ../shared/data/lfw-devtest (LFW View 1, the tuning split: 1,549 images) goes
through the service pipeline in-process: decode (EXIF honoured), YuNet detection, the largest
face, 5-point alignment to 112x112, SFace through LiteRT, L2 normalisation. Impostor pairs are
ALL pairs of images of different people (~1.2 million), so a false-accept rate of 1e-5 rests on
about 12 accepted impostors (1e-3 on ~1,200); genuine pairs are all pairs of images of the same
person. The threshold at FAR x is the smallest cosine that at most x of the impostor pairs
reach. Also prints the accuracy on the 1,000 official View-1 pairs at each threshold.

    .venv/bin/python evaluation/verify_thresholds.py          # print the figures
    .venv/bin/python evaluation/verify_thresholds.py --write  # and store them in the manifest
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.detection.model import DetectedFace, YuNetDetector
from services.embedding.model import SFace, similarity_to_score
from services.shared.alignment import align_face
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lfw-devtest"
MANIFEST = ROOT / "models" / "sface.toml"
FARS = {"1e3": 1e-3, "1e4": 1e-4, "1e5": 1e-5}


@dataclass
class LocalPipeline:
    """Detection + alignment + embedding in-process, exactly as the two services run them."""

    detector: YuNetDetector
    embedder: SFace

    @classmethod
    def load(cls, store: ModelStore | None = None, threads: int = 2) -> LocalPipeline:
        """Open the verified models from the model store."""
        store = store or ModelStore()
        yunet = store.open("yunet")
        sface = store.open("sface")
        params = yunet.spec.params
        detector = YuNetDetector(
            LiteModel(yunet.path, threads),
            float(params["score_threshold"]),
            float(params["nms_threshold"]),
        )
        return cls(detector, SFace(LiteModel(sface.path, threads)))

    def embed_image(self, data: bytes) -> NDArray[np.float32] | None:
        """The embedding of the largest face, or None when no face is found."""
        image = decode_image(data)
        faces = self.detector.detect(image, upscale=False)  # as recognition asks
        if not faces:
            return None
        return self.embed_face(image, max(faces, key=lambda f: f.area))

    def embed_face(self, image: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.float32]:
        """The embedding of one detected face of the decoded image."""
        crop = align_face(image, face.landmarks)
        vector: NDArray[np.float32] = self.embedder.embed(crop[np.newaxis])[0]
        return vector


def read_pairs(data: Path) -> list[tuple[str, str, bool]]:
    """The official View-1 pairs: (image a, image b, same person)."""
    with (data / "pairs.csv").open() as handle:
        return [(row["img_a"], row["img_b"], row["same"] == "1") for row in csv.DictReader(handle)]


def threshold_at_far(impostor: NDArray[np.float32], far: float) -> float:
    """The smallest cosine that at most ``far`` of the impostor similarities reach."""
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(far * len(ordered)))
    return float(ordered[allowed]) + 1e-6


def embed_all(
    pipeline: LocalPipeline, data: Path
) -> tuple[list[str], NDArray[np.float32], list[str]]:
    """Embed every image under data/images; returns (names, embeddings, images without a face)."""
    names, vectors, missed = [], [], []
    for path in sorted((data / "images").rglob("*.jpg")):
        name = str(path.relative_to(data))
        vector = pipeline.embed_image(path.read_bytes())
        if vector is None:
            missed.append(name)
            continue
        names.append(name)
        vectors.append(vector)
    return names, np.stack(vectors), missed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--write", action="store_true", help="store the thresholds in models/sface.toml"
    )
    options = parser.parse_args()
    if not (options.data / "pairs.csv").is_file():
        sys.stderr.write(f"{options.data} has no pairs.csv (LFW View-1 lfw-devtest)\n")
        return 2
    started = time.perf_counter()
    names, vectors, missed = embed_all(LocalPipeline.load(), options.data)
    people = np.array([Path(n).parent.name for n in names])
    similarity = vectors @ vectors.T
    upper = np.triu_indices(len(names), k=1)
    same = people[upper[0]] == people[upper[1]]
    values = similarity[upper]
    impostor, genuine = values[~same], values[same]
    thresholds = {key: threshold_at_far(impostor, far) for key, far in FARS.items()}
    index = {name: i for i, name in enumerate(names)}
    pairs = read_pairs(options.data)
    figures: dict[str, object] = {
        "images": len(names) + len(missed),
        "no_face": missed,
        "impostor_pairs": len(impostor),
        "genuine_pairs": len(genuine),
        "seconds": round(time.perf_counter() - started, 1),
    }
    for key, cosine in thresholds.items():
        usable = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
        correct = sum((similarity[i, j] >= cosine) == s for i, j, s in usable)
        figures[f"far_{key}"] = {
            "cosine": round(cosine, 4),
            "score": similarity_to_score(cosine),
            "measured_far": float(np.mean(impostor >= cosine)),
            "tar": round(float(np.mean(genuine >= cosine)), 4),
            "view1_pairs_accuracy": round(correct / len(pairs), 4),
        }
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    if options.write:
        note = f"on lfw-devtest (LFW View 1): {len(names)} images, {len(impostor)} impostor pairs"
        write_params({key: round(value, 4) for key, value in thresholds.items()}, note)
        sys.stdout.write(f"thresholds written to {MANIFEST}\n")
    return 0


PARAMS_NOTE = "# similarity_far_*: cosine at FAR 1e-3/1e-4/1e-5, by evaluation/verify_thresholds.py"


def write_params(thresholds: dict[str, float], note: str = "") -> None:
    """Replace (or add) the similarity_far_* lines in models/sface.toml's [params] table."""
    text = MANIFEST.read_text()
    header = PARAMS_NOTE + "\n" + (f"# {note}\n" if note else "")
    lines = header + "".join(
        f"similarity_far_{key} = {value}\n" for key, value in thresholds.items()
    )
    text = re.sub(r"^similarity_far_1e\d = .*\n", "", text, flags=re.MULTILINE)
    text = re.sub(rf"^{re.escape(PARAMS_NOTE)}\n(# .*\n)?", "", text, flags=re.MULTILINE)
    if re.search(r"^\[params\]\n", text, flags=re.MULTILINE):
        text = re.sub(r"^\[params\]\n", "[params]\n" + lines, text, count=1, flags=re.MULTILINE)
    else:
        text = text.rstrip("\n") + "\n\n[params]\n" + lines
    MANIFEST.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
