"""The attributes service as its own process (``python -m services.attributes.server``):
health, one real request over the network from another process, clean SIGTERM shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.local.stack import free_port
from tests.helpers import images

ROOT = Path(__file__).resolve().parents[3]


def wait_serving(address: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.3)
    raise TimeoutError(f"{address} did not report SERVING")


def test_server_process_answers_and_stops_on_sigterm(detection_address: str) -> None:
    port = free_port()
    env = {**os.environ, "FACEFLOW_ATTRIBUTES_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.attributes.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        address = f"127.0.0.1:{port}"
        wait_serving(address)
        data = images.astronaut_jpeg()
        with grpc.insecure_channel(detection_address) as channel:
            detection = detection_pb2_grpc.DetectionServiceStub(channel).Detect(
                detection_pb2.DetectRequest(image=common_pb2.Image(data=data)), timeout=10
            )
        with grpc.insecure_channel(address) as channel:
            reply = attributes_pb2_grpc.AttributesServiceStub(channel).Analyze(
                attributes_pb2.AnalyzeRequest(
                    image=common_pb2.Image(data=data),
                    faces=list(detection.faces),
                    attributes=[attributes_pb2.ATTRIBUTE_GENDER],
                ),
                timeout=10,
            )
        assert reply.faces[0].gender.label == "female"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
