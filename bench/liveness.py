"""Liveness latency: the passive check on one face, and a session verification of 10 frames.

- passive, in-process: the two MiniFASNets (crop, resize, 2 TFLite calls) for a known face box;
- Check over gRPC: decode + YuNet + both MiniFASNets for a 640x480 JPEG;
- VerifySession over gRPC: 10 JPEG frames at 640x480 (per frame: decode, YuNet, FaceMesh,
  SFace; then the action rules and the passive models on the 3 best frames). A fresh session
  is created for every run (sessions are single use).

    .venv/bin/python bench/liveness.py [--runs 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import grpc
from faceflow.common.v1 import common_pb2
from faceflow.liveness.v1 import liveness_pb2, liveness_pb2_grpc

from bench.common import jpeg, measure, photo_at, summary
from services.liveness.server import create_app
from services.liveness.settings import LivenessSettings

TENANT = "bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="TFLite threads per model")
    options = parser.parse_args()
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="faceflow-liveness-bench-") as scratch:
        settings = LivenessSettings(port=0, data_dir=Path(scratch), model_threads=options.threads)
        app, servicer = create_app(settings)
        port = app.start(0)
        app.mark_serving()
        photo = photo_at(640, 480)
        faces = servicer.tracker.significant_faces(photo)
        if not faces:
            sys.stderr.write("the benchmark photo has no face\n")
            return 2
        box = faces[0].box
        out.write(f"640x480 photo, face box {box.round(0).tolist()}, {options.threads} threads\n")
        out.write(
            "passive (2 models, in-process): "
            + summary(measure(lambda: servicer.passive.check(photo, box), options.runs))
            + "\n"
        )
        data = jpeg(photo)
        options_grpc = [("grpc.max_send_message_length", 64 << 20)]
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=options_grpc) as channel:
            stub = liveness_pb2_grpc.LivenessServiceStub(channel)
            check = liveness_pb2.CheckRequest(image=common_pb2.Image(data=data))
            out.write(
                "Check over gRPC (decode+detect+2 models): "
                + summary(measure(lambda: stub.Check(check, timeout=30), options.runs))
                + "\n"
            )
            frames = [common_pb2.Image(data=data)] * 10

            def verify() -> None:
                session = servicer.sessions.create(TENANT, ["blink", "nod"], 60)
                request = liveness_pb2.VerifySessionRequest(
                    tenant_id=TENANT, session_id=session.session_id, frames=frames
                )
                stub.VerifySession(request, timeout=120)

            runs = max(3, options.runs // 4)
            out.write(
                f"VerifySession over gRPC, 10 frames 640x480 ({runs} runs): "
                + summary(measure(verify, runs, warmup=1))
                + "\n"
            )
        app.stop(grace=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
