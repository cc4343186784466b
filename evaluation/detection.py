"""Detection recall on real photos, through the real detection gRPC service.

- photos/groups: faces found vs faces counted by eye (groups.csv), per photo and in total.
- lfw-devtest: the share of the 1,549 LFW images in which at least one face is found
  (target >= 99.5%).

    .venv/bin/python evaluation/detection.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import grpc
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from bench.common import SHARED_DATA
from services.detection.server import create_app
from services.detection.settings import DetectionSettings


def count_faces(stub: detection_pb2_grpc.DetectionServiceStub, path: Path) -> int:
    """Faces the service finds in one file."""
    request = detection_pb2.DetectRequest(
        image=common_pb2.Image(data=path.read_bytes()), max_faces=100
    )
    return len(stub.Detect(request, timeout=30).faces)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    options = parser.parse_args()
    groups = options.data / "photos" / "groups.csv"
    images = sorted((options.data / "lfw-devtest" / "images").rglob("*.jpg"))
    if not groups.is_file() or not images:
        sys.stderr.write(
            f"{options.data} needs photos/groups.csv and lfw-devtest/images/*/*.jpg "
            "(../shared/data)\n"
        )
        return 2
    with groups.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    absent = [
        r.get("image")
        for r in rows
        if not (options.data / "photos" / str(r.get("image"))).is_file()
    ]
    if not rows or absent or any(not str(r.get("n_faces", "")).isdigit() for r in rows):
        sys.stderr.write(f"{groups}: needs rows of image,n_faces naming photos that exist\n")
        return 2
    app, _ = create_app(DetectionSettings(port=0))
    port = app.start(0)
    app.mark_serving()
    out = sys.stdout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = detection_pb2_grpc.DetectionServiceStub(channel)
        out.write("Group photos (faces found / counted by eye; counts, boxes not matched):\n")
        expected_total = found_total = exact = 0
        for row in rows:
            found = count_faces(stub, options.data / "photos" / row["image"])
            expected = int(row["n_faces"])
            expected_total += expected
            found_total += min(found, expected)
            exact += found == expected
            out.write(f"  {row['image']:45s} {found} / {expected}\n")
        out.write(
            f"  total: {found_total}/{expected_total} faces recalled "
            f"({100.0 * found_total / expected_total:.1f}%), "
            f"exact count on {exact}/{len(rows)} photos\n"
        )
        missed = [path for path in images if count_faces(stub, path) == 0]
        share = 100.0 * (len(images) - len(missed)) / len(images)
        out.write(
            f"\nLFW dev-test: a face found in {len(images) - len(missed)}/{len(images)} images "
            f"({share:.2f}%, target >= 99.5%)\n"
        )
        for path in missed[:20]:
            out.write(f"  missed: {path.relative_to(options.data)}\n")
    app.stop(grace=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
