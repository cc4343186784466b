"""Verification accuracy on LFW View-1 (lfw-devtest) through the full HTTP pipeline.

Each of the 1,000 official pairs (500 same, 500 different) is sent as the raw 250x250 JPEGs to
``POST /api/v1/verify`` (image_a + image_b): gateway -> detection service (YuNet, aligned crop)
-> embedding service (SFace) -> cosine. By default the script starts its own detection and
embedding services and gateway as real processes (the ``make run`` launcher) on free ports;
``--url``/``--key`` measure a deployment that is already running instead.

Figures printed (JSON):
- accuracy at the published thresholds (FAR 1e-3 / 1e-4 / 1e-5, from models/sface.toml) — the
  ``same_person`` answer of the API uses FAR 1e-4;
- 10-fold accuracy: the threshold is chosen on 9 folds and applied to the 10th, the usual LFW
  protocol (this is the figure comparable with published LFW accuracies);
- a pair whose photo yields no face counts as answered "different".

Each figure is given per ``face_selection`` of /verify: ``largest`` (the API's default) and
``center`` (the face nearest the photo's centre: how LFW frames its subject, the convention
published LFW figures use). The 250x250 photos often show a second, larger face at the edge.

    .venv/bin/python evaluation/lfw_accuracy.py [--model sface_dlib]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from deploy.local.stack import embedder_env, running_stack
from training.verification import ten_fold_accuracy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lfw-devtest"


def read_pairs(data: Path) -> list[tuple[str, str, bool]]:
    """The official View-1 pairs: (image a, image b, same person); SystemExit with a one-line
    reason when pairs.csv or one of its images is missing (before any service starts)."""
    path = data / "pairs.csv"
    if not path.is_file():
        raise SystemExit(f"{data} has no pairs.csv (an lfw-devtest folder is expected)")
    with path.open(newline="") as handle:
        pairs = [(row["img_a"], row["img_b"], row["same"] == "1") for row in csv.DictReader(handle)]
    if not pairs:
        raise SystemExit(f"{path} lists no pairs")
    absent = sorted({n for a, b, _ in pairs for n in (a, b) if not (data / n).is_file()})
    if absent:
        raise SystemExit(f"{path}: {len(absent)} images are missing (first: {absent[0]})")
    return pairs


def error_code(response: httpx.Response) -> str:
    """The API error code of a failed answer (``HTTP_<status>`` for one without an envelope,
    such as a proxy's page)."""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}"


def measure(url: str, key: str, data: Path, face_selection: str) -> dict[str, object]:
    """Run every pair through POST /verify and compute the figures."""
    pairs = read_pairs(data)
    similarity = np.full(len(pairs), -1.0)
    same = np.array([s for _, _, s in pairs])
    failures: dict[str, int] = {}
    answered_same = np.zeros(len(pairs), dtype=bool)
    thresholds: dict[str, float] = {}
    latencies = []
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=60) as client:
        for index, (a, b, _) in enumerate(pairs):
            files = {
                "image_a": (a, (data / a).read_bytes(), "image/jpeg"),
                "image_b": (b, (data / b).read_bytes(), "image/jpeg"),
            }
            started = time.perf_counter()
            response = client.post(
                "/api/v1/verify", files=files, data={"face_selection": face_selection}
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                code = error_code(response)
                failures[code] = failures.get(code, 0) + 1
                continue
            body = response.json()
            similarity[index] = body["similarity"]
            answered_same[index] = body["same_person"]
            thresholds = body["thresholds"]
    figures: dict[str, object] = {
        "pairs": len(pairs),
        "failed_pairs": failures,
        "api_same_person_accuracy_far_1e-4": round(float(np.mean(answered_same == same)), 4),
    }
    for name, score in thresholds.items():
        accepted = similarity * 100.0 >= score
        figures[f"accuracy_at_far_{name}"] = round(float(np.mean(accepted == same)), 4)
    mean, std, _ = ten_fold_accuracy(similarity, same)
    figures["ten_fold_accuracy"] = round(mean, 4)
    figures["ten_fold_std"] = round(std, 4)
    figures["ms_per_verify_p50"] = round(1000 * float(np.percentile(latencies, 50)), 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--url", help="a running gateway (default: start one)")
    parser.add_argument("--key", help="an API key of that gateway")
    parser.add_argument(
        "--face-selection",
        nargs="+",
        choices=("largest", "center"),
        default=["largest", "center"],
        help="the /verify face_selection values to measure (default: both)",
    )
    parser.add_argument(
        "--model", default="sface", help="the embedder the started stack serves (sface_dlib...)"
    )
    options = parser.parse_args()
    read_pairs(options.data)  # a missing file or image stops here, before any service starts
    started = time.perf_counter()
    figures: dict[str, object] = {}
    if options.url:
        for selection in options.face_selection:
            figures[selection] = measure(options.url, options.key or "", options.data, selection)
    else:
        with (
            tempfile.TemporaryDirectory(prefix="faceflow-lfw-") as folder,
            running_stack(
                Path(folder), ("detection", "embedding"), extra_env=embedder_env(options.model)
            ) as stack,
        ):
            for selection in options.face_selection:
                figures[selection] = measure(stack.url, stack.api_key, options.data, selection)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
