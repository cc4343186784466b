"""APCER / BPCER (ISO/IEC 30107-3) of the passive liveness check on real photos.

Runs the real liveness gRPC service (YuNet + MiniFASNetV2 + MiniFASNetV1SE) on
../shared/data/liveness-samples (labels.csv: real / spoof) and prints, per image, the fused
score and decision, then:

- APCER: share of attack presentations (printed photos, screen replays) accepted as live;
- BPCER: share of bona fide presentations (real faces) rejected (including "no face found").

Two passes: the photos as sent (the service applies their EXIF orientation: several upstream
samples are phone captures stored sideways with an orientation tag), and a fallback pass that
also tries the photo rotated by 90/180/270 degrees when no face is found. The sample is tiny
(6 photos from the upstream repository); the figures describe these photos, not the model in
general.

    .venv/bin/python evaluation/liveness_passive.py [--data ../shared/data] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc
from PIL import Image

from bench.common import SHARED_DATA
from services.liveness.server import create_app
from services.liveness.settings import LivenessSettings


@dataclass
class Result:
    """One photo's outcome."""

    name: str
    label: str
    rotation: int | None  # degrees counter-clockwise, None = no face at any rotation tried
    score: float


def rotated_jpeg(path: Path, degrees: int) -> bytes:
    """The photo rotated counter-clockwise, as JPEG."""
    image = Image.open(path).convert("RGB")
    rotated = Image.fromarray(np.ascontiguousarray(np.rot90(np.asarray(image), k=degrees // 90)))
    buffer = io.BytesIO()
    (rotated if degrees else image).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def score_photo(
    stub: liveness_pb2_grpc.LivenessServiceStub, path: Path, rotations: tuple[int, ...]
) -> tuple[int | None, float]:
    """(rotation used, fused real score) or (None, 0.0) when no face was found."""
    for degrees in rotations:
        data = path.read_bytes() if degrees == 0 else rotated_jpeg(path, degrees)
        request = liveness_pb2.CheckRequest(image=common_pb2.Image(data=data))
        try:
            reply = stub.Check(request, timeout=30)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                continue  # NO_FACE at this rotation
            raise
        return degrees, float(reply.score)
    return None, 0.0


def rates(results: list[Result], threshold: float) -> tuple[float, int, float, int]:
    """(APCER, attacks, BPCER, bona fide)."""
    attacks = [r for r in results if r.label == "spoof"]
    bona_fide = [r for r in results if r.label == "real"]
    accepted = sum(1 for r in attacks if r.rotation is not None and r.score >= threshold)
    rejected = sum(1 for r in bona_fide if r.rotation is None or r.score < threshold)
    apcer = accepted / len(attacks) if attacks else float("nan")
    bpcer = rejected / len(bona_fide) if bona_fide else float("nan")
    return apcer, len(attacks), bpcer, len(bona_fide)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--threshold", type=float, default=None, help="default: the service's")
    options = parser.parse_args()
    folder = options.data / "liveness-samples"
    if not (folder / "labels.csv").is_file():
        sys.stderr.write(f"{folder}/labels.csv is missing\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="faceflow-liveness-eval-") as scratch:
        return evaluate(folder, Path(scratch), options.threshold)


def evaluate(folder: Path, scratch: Path, threshold_option: float | None) -> int:
    """Both passes through a real in-process service; prints the figures."""
    settings = LivenessSettings(port=0, data_dir=scratch)
    app, _ = create_app(settings)
    threshold = settings.passive_threshold if threshold_option is None else threshold_option
    port = app.start(0)
    app.mark_serving()
    with (folder / "labels.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    out = sys.stdout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = liveness_pb2_grpc.LivenessServiceStub(channel)
        for title, rotations in (("as sent", (0,)), ("with rotation fallback", (0, 90, 270, 180))):
            results = []
            for row in rows:
                rotation, score = score_photo(stub, folder / row["image"], rotations)
                results.append(Result(row["image"], row["label"], rotation, score))
            out.write(f"\nPhotos {title} (threshold {threshold}):\n")
            for r in results:
                seen = "no face" if r.rotation is None else f"rot {r.rotation:3d}"
                verdict = (
                    "-" if r.rotation is None else ("live" if r.score >= threshold else "spoof")
                )
                out.write(
                    f"  {r.name:28s} {r.label:5s} {seen:8s} score {r.score:.3f} -> {verdict}\n"
                )
            apcer, attacks, bpcer, bona_fide = rates(results, threshold)
            out.write(
                f"  APCER {100 * apcer:.1f}% of {attacks} attack photos, "
                f"BPCER {100 * bpcer:.1f}% of {bona_fide} bona fide photos\n"
            )
    app.stop(grace=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
