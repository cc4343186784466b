"""Age and gender through HTTP: ``POST /api/v1/detect?fields=age,gender`` on the UTKFace dev set.

``python -m evaluation.attributes_http`` starts the real local stack (detection, attributes and
the gateway as processes, ``deploy.local.stack``) once per age/gender setup and sends every
photo of ``../shared/data/attributes-sample/utk`` (150 UTKFace chips, none of them in the
training set) through the gateway, as a client would. The first (largest) face is scored
against the label in ``labels.csv``. Setups (``--setups``), set through the attributes
service's settings:

- ``dlib``: the dlib-models age-v1 / gender-v1 networks for both (``FACEFLOW_ATTRIBUTES_AGE_FROM``
  and ``..._GENDER_FROM`` = ``dlib``; the configuration before the trained head);
- ``head``: both from the head on the SFace embedding (``age_gender_sface``);
- ``faceapi``: both from face-api's age/gender network (``faceapi_age_gender``, a baseline; UTK
  was in its training data, so its figures here are optimistic);
- ``default``: whatever the service's defaults are (nothing set).

Prints the setups side by side (faces found, age MAE and median error, the share of true ages
inside the reported range, gender accuracy with a 95% Wilson interval, p50 request time) and
the paired difference on the faces both answered; ``--json`` writes the figures.
``--url``/``--key`` measure an already running gateway instead (one setup, as it is configured).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

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

SETUPS: dict[str, dict[str, str]] = {
    "dlib": {"FACEFLOW_ATTRIBUTES_AGE_FROM": "dlib", "FACEFLOW_ATTRIBUTES_GENDER_FROM": "dlib"},
    "head": {"FACEFLOW_ATTRIBUTES_AGE_FROM": "head", "FACEFLOW_ATTRIBUTES_GENDER_FROM": "head"},
    "head-age": {
        "FACEFLOW_ATTRIBUTES_AGE_FROM": "head",
        "FACEFLOW_ATTRIBUTES_GENDER_FROM": "dlib",
    },
    "faceapi": {
        "FACEFLOW_ATTRIBUTES_AGE_FROM": "faceapi",
        "FACEFLOW_ATTRIBUTES_GENDER_FROM": "faceapi",
    },
    "default": {},
}


def jpeg_upload(path: Path) -> tuple[str, bytes, str]:
    """A UTKFace dev photo as it is."""
    return (path.name, path.read_bytes(), "image/jpeg")


def answers(url: str, key: str, data: Path) -> dict[str, Any]:
    """Every dev photo through /detect?fields=age,gender: per-image answers and the models."""
    rows = sample_rows(data, "utk/", ("age", "gender"))
    per_image: dict[str, dict[str, Any]] = {}
    run = DetectRun()
    for row, body in run.each(url, key, data, rows, "age,gender", jpeg_upload):
        if not body["faces"]:
            continue
        face = body["faces"][0]
        if face["age"] is None or face["gender"] is None:
            continue
        per_image[row["image"]] = {
            "age": float(face["age"]["value"]),
            "low": float(face["age"]["range"][0]),
            "high": float(face["age"]["range"][1]),
            "gender": str(face["gender"]["label"]),
            "true_age": float(row["age"]),
            "true_gender": row["gender"],
        }
    return {"photos": len(rows), "answers": per_image, **run.summary()}


def figures(result: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    """Age and gender figures over the named photos (default: every answered one)."""
    answered = result["answers"]
    names = sorted(answered) if names is None else names
    rows = [answered[n] for n in names]
    if not rows:
        raise SystemExit("no photo was answered with a face: nothing to measure")
    errors = np.array([abs(r["age"] - r["true_age"]) for r in rows])
    inside = [r["low"] <= r["true_age"] <= r["high"] for r in rows]
    correct = sum(r["gender"] == r["true_gender"] for r in rows)
    low, high = wilson(correct, len(rows))
    return {
        "faces": len(rows),
        "age_mae": round(float(errors.mean()), 2),
        "age_median_error": round(float(np.median(errors)), 2),
        "age_inside_range": round(float(np.mean(inside)), 3),
        "age_mean_range_width": round(float(np.mean([r["high"] - r["low"] for r in rows])), 1),
        "gender_accuracy": round(correct / len(rows), 4),
        "gender_accuracy_95ci": [round(low, 3), round(high, 3)],
    }


def paired(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each setup's figures on the photos every setup answered, and each setup against the
    first: the mean change of the age error (bootstrap 95% interval) and the gender answers
    only one of the two got right (exact McNemar p)."""
    common = sorted(set.intersection(*(set(r["answers"]) for r in results.values())))
    table: dict[str, Any] = {name: figures(result, common) for name, result in results.items()}
    baseline_name, *others = list(results)
    base = results[baseline_name]["answers"]
    rng = np.random.default_rng(0)
    for name in others:
        other = results[name]["answers"]
        delta = np.array(
            [
                abs(other[n]["age"] - other[n]["true_age"])
                - abs(base[n]["age"] - base[n]["true_age"])
                for n in common
            ]
        )
        boot = [rng.choice(delta, len(delta)).mean() for _ in range(2000)]
        right_base = [base[n]["gender"] == base[n]["true_gender"] for n in common]
        right_other = [other[n]["gender"] == other[n]["true_gender"] for n in common]
        only_base = sum(b and not o for b, o in zip(right_base, right_other, strict=True))
        only_other = sum(o and not b for b, o in zip(right_base, right_other, strict=True))
        table[f"{name}_vs_{baseline_name}"] = {
            "age_mae_change": round(float(delta.mean()), 2),
            "age_mae_change_bootstrap_95ci": [
                round(float(np.percentile(boot, 2.5)), 2),
                round(float(np.percentile(boot, 97.5)), 2),
            ],
            f"gender_right_only_{name}": only_other,
            f"gender_right_only_{baseline_name}": only_base,
            "gender_mcnemar_p": round(mcnemar_p(only_base, only_other), 3),
        }
    return {"photos_answered_by_all": len(common), **table}


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """The setups side by side (each on the photos it answered)."""
    rows: list[tuple[str, Callable[[dict[str, Any], dict[str, Any]], str]]] = [
        ("faces answered", lambda r, f: f"{f['faces']} of {r['photos']}"),
        ("age MAE (years)", lambda r, f: f"{f['age_mae']:.2f}"),
        ("age median error", lambda r, f: f"{f['age_median_error']:.2f}"),
        ("true age inside range", lambda r, f: f"{f['age_inside_range']:.1%}"),
        ("mean range width", lambda r, f: f"{f['age_mean_range_width']:.1f}"),
        ("gender accuracy", lambda r, f: f"{f['gender_accuracy']:.1%}"),
        (
            "gender 95% interval",
            lambda r, f: "{:.1%}-{:.1%}".format(*f["gender_accuracy_95ci"]),
        ),
        ("p50 request (ms)", lambda r, f: milliseconds(r["ms_per_request_p50"])),
    ]
    names = list(results)
    computed = {name: figures(results[name]) for name in names}
    for name in names:
        sys.stdout.write(f"{name}: {', '.join(results[name]['models'])}\n")
    sys.stdout.write(f"{'':24s}" + "".join(f"{name:>14s}" for name in names) + "\n")
    for title, cell in rows:
        values = "".join(f"{cell(results[n], computed[n]):>14s}" for n in names)
        sys.stdout.write(f"{title:24s}{values}\n")


def main() -> int:
    options = parser_for(__doc__, SETUPS, ["dlib", "head", "default"]).parse_args()
    sample_rows(options.data, "utk/", ("age", "gender"))  # a bad sample stops here, not later
    results = measure_setups(options, SETUPS, answers)
    print_table(results)
    report = {
        "data": str(options.data),
        "setups": {n: {"env": SETUPS.get(n, {}), **figures(r)} for n, r in results.items()},
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
