"""Detection latency: in-process, over gRPC, over HTTP, and OpenCV's FaceDetectorYN (same ONNX).

Prints p50/p95 for 640x480 and 1920x1080 JPEG photos and the ratios the project tracks:
HTTP p50 / in-process p50 (target <= 1.5) and in-process / OpenCV (target <= 1.0). The paths
are timed in turns of 10 calls each, so a drift in the machine's speed (a shared 2-core VM)
falls on all of them alike.

    .venv/bin/python bench/detection.py [--runs 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import grpc
import httpx
import numpy as np
import psutil
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from bench.common import jpeg, measure_interleaved, percentile, photo_at, summary
from deploy.local.stack import running_stack
from services.detection.server import create_app
from services.detection.servicer import DetectionServicer
from services.detection.settings import DetectionSettings
from services.shared.imaging import decode_image
from services.shared.memory import minor_page_faults
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_zoo.yunet import letterbox_bgr

SIZES = ((640, 480), (1920, 1080))
BLOCK = 10  # calls per turn (bench.common.measure_interleaved)


def gateway_cpu_ms(gateway: psutil.Process, request: Callable[[], object], runs: int) -> float:
    """Mean CPU milliseconds (user + system) the gateway process spends per request.

    The OS counts CPU time in 10 ms ticks, so only the mean over many requests means anything.
    """
    before = gateway.cpu_times()
    for _ in range(runs):
        request()
    after = gateway.cpu_times()
    seconds = after.user - before.user + after.system - before.system
    return float(seconds) * 1000.0 / runs


def faults_per_call(pid: int, call: Callable[[], object], runs: int) -> float:
    """Mean minor page faults process ``pid`` takes per ``call`` (after the timed runs)."""
    before = minor_page_faults(pid)
    for _ in range(runs):
        call()
    return (minor_page_faults(pid) - before) / runs


def bench_size(
    width: int,
    height: int,
    runs: int,
    servicer: DetectionServicer,
    stub: detection_pb2_grpc.DetectionServiceStub,
    process_stub: detection_pb2_grpc.DetectionServiceStub,
    service_pid: int,
    gateway: psutil.Process,
    http: httpx.Client,
    onnx: Path,
) -> None:
    """Time every path on one photo size and print the figures."""
    photo = photo_at(width, height)
    data = jpeg(photo)
    request = detection_pb2.DetectRequest(image=common_pb2.Image(data=data))
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    yn_native = cv2.FaceDetectorYN.create(str(onnx), "", (width, height), 0.6, 0.3, 5000)
    letterboxed = letterbox_bgr(photo).tensor[0].astype(np.uint8)
    yn_640 = cv2.FaceDetectorYN.create(str(onnx), "", (640, 640), 0.6, 0.3, 5000)

    def over_http() -> object:
        response = http.post("/api/v1/detect", files={"image": ("p.jpg", data, "image/jpeg")})
        response.raise_for_status()
        return response

    def opencv_with_decode() -> object:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None  # our own JPEG; a failure here is a bug in this script
        return yn_native.detect(image)

    results = measure_interleaved(
        {
            "in-process model (decoded image)": lambda: servicer.detector.detect(photo),
            "in-process incl. JPEG decode": lambda: servicer.detector.detect(decode_image(data)),
            "over gRPC, server in this process": lambda: stub.Detect(request, timeout=10),
            "over gRPC to the launched process": lambda: process_stub.Detect(request, timeout=10),
            "over HTTP (gateway -> gRPC)": over_http,
            "OpenCV YN native size, decoded": lambda: yn_native.detect(bgr),
            "OpenCV YN native size incl. decode": opencv_with_decode,
            "OpenCV YN 640x640 letterboxed": lambda: yn_640.detect(letterboxed),
        },
        runs,
        block=BLOCK,
    )
    gateway_cpu = gateway_cpu_ms(gateway, over_http, runs)
    service_faults = faults_per_call(
        service_pid, lambda: process_stub.Detect(request, timeout=10), runs
    )
    gateway_faults = faults_per_call(gateway.pid, over_http, runs)
    out = sys.stdout
    out.write(f"\n{width}x{height} JPEG ({len(data)} bytes), {runs} runs\n")
    for name, values in results.items():
        out.write(f"  {name:38s} {summary(values)}\n")
    out.write(f"  {'gateway process CPU per HTTP request':38s} mean {gateway_cpu:7.2f} ms\n")
    out.write(
        f"  {'minor page faults per call':38s} launched service {service_faults:.0f}, "
        f"gateway {gateway_faults:.0f}\n"
    )
    base = percentile(results["in-process incl. JPEG decode"], 50)
    http_p50 = percentile(results["over HTTP (gateway -> gRPC)"], 50)
    process_p50 = percentile(results["over gRPC to the launched process"], 50)
    opencv_p50 = percentile(results["OpenCV YN native size incl. decode"], 50)
    out.write(
        f"  ratio HTTP p50 / in-process p50: {http_p50 / base:.2f} (target <= 1.5)\n"
        f"  ratio HTTP p50 / gRPC to the same process p50: {http_p50 / process_p50:.2f}\n"
        f"  ratio in-process / OpenCV native incl. decode (p50): {base / opencv_p50:.2f} "
        "(target <= 1.0)\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    options = parser.parse_args()
    store = ModelStore()
    onnx = fetch_source(store.spec("yunet").source, store.cache_dir.parent / "downloads")
    app, servicer = create_app(DetectionSettings(port=0), store)
    port = app.start(0)
    app.mark_serving()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = detection_pb2_grpc.DetectionServiceStub(channel)
    sys.stdout.write(
        f"cv2 threads: {cv2.getNumThreads()}, TFLite threads: {servicer.settings.model_threads}\n"
    )
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        http = httpx.Client(base_url=stack.url, headers={"x-api-key": stack.api_key}, timeout=30)
        address = stack.launcher.service_address("detection")
        with grpc.insecure_channel(address) as process_channel:
            process_stub = detection_pb2_grpc.DetectionServiceStub(process_channel)
            gateway = psutil.Process(stack.launcher.children["gateway"].pid)
            for width, height in SIZES:
                bench_size(
                    width,
                    height,
                    options.runs,
                    servicer,
                    stub,
                    process_stub,
                    stack.launcher.children["detection"].pid,
                    gateway,
                    http,
                    onnx,
                )
        http.close()
    channel.close()
    app.stop(grace=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
