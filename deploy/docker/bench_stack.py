"""Figures for docs/deployment.md from a running compose stack. Prints, never asserts.

``python -m deploy.docker.bench_stack --url URL --key KEY --project NAME`` (scripts/docker_e2e.sh
runs it when FACEFLOW_E2E_BENCH=1, after its API checks, so the gallery holds one user):

- start-up: for each container, seconds from the container's start to the log line that says
  it is ready (``SERVING`` for a model service, uvicorn's ``Application startup complete`` for the
  gateway, PostgreSQL's ``ready to accept connections``), read from ``docker logs -t``;
- ``/detect`` and ``/search`` through the published gateway port: latency of sequential
  requests (p50/p95), then throughput with several concurrent clients, with each container's
  CPU share sampled by ``docker stats`` in the middle of the concurrent run, which shows the
  tier that saturates first.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime

import httpx
from PIL import Image

READY_MARKERS = ("SERVING", "Application startup complete", "ready to accept connections")


def out(line: str) -> None:
    """One figure line."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def docker(*args: str) -> str:
    """Run the docker CLI; its stdout."""
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def parse_time(stamp: str) -> datetime:
    """Docker's RFC 3339 timestamps (nanoseconds cut to microseconds)."""
    stamp = stamp.strip().replace("Z", "+00:00")
    if "." in stamp:
        head, rest = stamp.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        stamp = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(stamp)


def startup_seconds(container: str) -> float | None:
    """Seconds from the container's start to its last start's ready line."""
    started = parse_time(docker("inspect", "--format", "{{.State.StartedAt}}", container))
    logs = subprocess.run(
        ["docker", "logs", "-t", container], capture_output=True, text=True, check=True
    )
    for line in (logs.stdout + logs.stderr).splitlines():
        stamp, _, text = line.partition(" ")
        if any(marker in text for marker in READY_MARKERS):
            when = parse_time(stamp)
            if when >= started:
                return (when - started).total_seconds()
    return None


def containers(project: str) -> list[str]:
    """Names of the project's running containers."""
    names = docker(
        "ps", "--filter", f"label=com.docker.compose.project={project}", "--format", "{{.Names}}"
    )
    return sorted(names.split())


def cpu_shares(project: str) -> dict[str, str]:
    """One docker stats sample: container -> CPU % (100% = one core)."""
    lines = docker("stats", "--no-stream", "--format", "{{json .}}", *containers(project))
    shares = {}
    for line in lines.splitlines():
        row = json.loads(line)
        shares[row["Name"]] = row["CPUPerc"]
    return shares


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def photo_jpeg() -> tuple[bytes, str]:
    """scikit-image's astronaut as JPEG, and its size."""
    from skimage import data

    image = Image.fromarray(data.astronaut())  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue(), f"{image.width}x{image.height}"


def measure(
    url: str,
    key: str,
    path: str,
    body: bytes,
    fields: dict[str, str],
    requests: int,
    clients: int,
    seconds: float,
    project: str,
) -> None:
    """Sequential latency, then concurrent throughput with a CPU sample."""
    headers = {"x-api-key": key}
    files = {"image": ("photo.jpg", body, "image/jpeg")}

    def call(client: httpx.Client) -> float:
        started = time.perf_counter()
        response = client.post(f"/api/v1{path}", files=files, data=fields, headers=headers)
        response.raise_for_status()
        return time.perf_counter() - started

    with httpx.Client(base_url=url, timeout=60.0) as client:
        call(client)
        latencies = [call(client) for _ in range(requests)]
    out(
        f"{path}: sequential {requests} requests: p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.1f} ms"
    )

    done: list[int] = []
    deadline = time.monotonic() + seconds

    def worker() -> None:
        count = 0
        with httpx.Client(base_url=url, timeout=60.0) as client:
            while time.monotonic() < deadline:
                call(client)
                count += 1
        done.append(count)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    shares = cpu_shares(project)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    out(
        f"{path}: {clients} concurrent clients for {elapsed:.0f} s: "
        f"{sum(done) / elapsed:.1f} requests/s"
    )
    out(
        f"{path}: CPU during that run (100% = one core): "
        + ", ".join(
            f"{name.split('_')[-2] if '_' in name else name} {share}"
            for name, share in sorted(shares.items())
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.docker.bench_stack")
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--project", required=True, help="the compose project name")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--group", default="e2e-docker", help="gallery group to search")
    options = parser.parse_args(argv)
    for container in containers(options.project):
        seconds = startup_seconds(container)
        shown = f"{seconds:.1f} s" if seconds is not None else "no ready line"
        out(f"start-up {container}: {shown}")
    body, size = photo_jpeg()
    out(f"photo: scikit-image astronaut, {size} JPEG, {len(body)} bytes; one face")
    common = (options.requests, options.clients, options.seconds, options.project)
    measure(options.url, options.key, "/detect", body, {}, *common)
    measure(options.url, options.key, "/search", body, {"group_ids": options.group}, *common)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
