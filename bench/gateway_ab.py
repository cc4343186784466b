"""The gateway against an earlier version of itself, side by side on the same services.

Starts the detection and embedding services and the current gateway (the ``make run``
launcher), then a second gateway process from an earlier commit (``git archive`` into a
temporary folder, its own generated stubs first on PYTHONPATH) on the same services and the
same tenant database, and times ``/detect``, ``/verify`` and ``/search`` (640x480 JPEG photos
of a person) through both in turns of 10 calls, so the machine's drift falls on both alike.
Prints p50 / p95 per path and version, and the ratio current / baseline.

    .venv/bin/python bench/gateway_ab.py [--baseline 12db5eb] [--runs 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import jpeg, measure_interleaved, percentile, photo_at, summary
from deploy.local.stack import Stack, free_port, running_stack

ROOT = Path(__file__).resolve().parents[1]
GROUP = "bench-ab"


@contextmanager
def baseline_gateway(stack: Stack, revision: str, folder: Path) -> Iterator[str]:
    """The gateway of ``revision`` as a process on the stack's services; yields its URL."""
    source = folder / "baseline"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    env = stack.launcher._env()  # the same service addresses and tenant database
    port = free_port()
    env["FACEFLOW_GATEWAY_PORT"] = str(port)
    env["PYTHONPATH"] = os.pathsep.join([str(source), str(source / "protos" / "gen")])
    log = (folder / "baseline-gateway.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "gateway"], cwd=source, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the baseline gateway did not start: {folder}/baseline-gateway.log"
                )
            time.sleep(0.5)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=10)
        log.close()


def paths(client: httpx.Client, url: str, key: str) -> dict[str, Callable[[], object]]:
    """The three timed calls against one gateway; each asserts its answer."""
    photo = jpeg(photo_at(640, 480))
    other = jpeg(photo_at(640, 480)[:, ::-1].copy())
    headers = {"x-api-key": key}

    def call(path: str, files: dict[str, tuple[str, bytes, str]], **data: str) -> None:
        response = client.post(f"{url}/api/v1{path}", files=files, data=data, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url}{path}: HTTP {response.status_code} {response.text[:200]}")

    image = ("photo.jpg", photo, "image/jpeg")
    return {
        "detect": lambda: call("/detect", {"image": image}),
        "verify": lambda: call(
            "/verify", {"image_a": image, "image_b": ("b.jpg", other, "image/jpeg")}
        ),
        "search": lambda: call("/search", {"image": image}, group_ids=GROUP),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="12db5eb", help="commit of the earlier gateway")
    parser.add_argument("--runs", type=int, default=60)
    options = parser.parse_args(argv)
    env = {"FACEFLOW_GATEWAY_RATE_LIMIT_PER_MINUTE": "0"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp), ["detection", "embedding"], extra_env=env) as stack,
        baseline_gateway(stack, options.baseline, Path(tmp)) as baseline_url,
        httpx.Client(timeout=60.0) as client,
    ):
        headers = {"x-api-key": stack.api_key}
        client.post(f"{stack.url}/api/v1/groups", json={"group_id": GROUP}, headers=headers)
        enrolled = client.post(
            f"{stack.url}/api/v1/groups/{GROUP}/users/someone/faces",
            files={"image": ("p.jpg", jpeg(photo_at(640, 480)), "image/jpeg")},
            headers=headers,
        )
        enrolled.raise_for_status()
        current = paths(client, stack.url, stack.api_key)
        earlier = paths(client, baseline_url, stack.api_key)
        functions: dict[str, Callable[[], object]] = {}
        for name in current:
            functions[f"{name} current"] = current[name]
            functions[f"{name} baseline"] = earlier[name]
        timings = measure_interleaved(functions, options.runs, block=10)
    print(f"gateway {options.baseline} (baseline) vs the working tree, {options.runs} calls each")
    for name, values in timings.items():
        print(f"{name:18s} {summary(values)}")
    for name in current:
        ratio = percentile(timings[f"{name} current"], 50) / percentile(
            timings[f"{name} baseline"], 50
        )
        print(f"{name:8s} p50 current / baseline: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
