"""Load with faults: concurrent clients enroll, search and verify while a service is paused,
then killed.

Starts the real local stack (detection + embedding + gateway, the processes of ``make run``, on
free ports), and runs ``--clients`` threads that each loop over enroll (a new user with a photo
of their own), search and verify through HTTP. Phases of ``--phase-seconds`` each:

1. ``steady``: no fault;
2. ``paused``: the embedding process gets SIGSTOP (a hung process: its connections stay open);
3. ``resumed``: SIGCONT;
4. ``killed``: the embedding process gets SIGKILL (a crashed replica);
5. ``restarted``: the launcher starts it again (from the same gallery folder).

For each phase it prints requests per second, p50 / p99 latency and the status counts, plus
how long after each fault the first 503 came back (the time to detect it). At the end every
enrollment answered 200 is looked up (``GET /groups/{g}/users/{u}``): "enrolled faces lost"
counts acknowledged faces that are gone.

    .venv/bin/python bench/load_fault.py                          # 4 clients, 8 s phases
    .venv/bin/python bench/load_fault.py --clients 8 --phase-seconds 15
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
from numpy.typing import NDArray
from skimage import data as skimage_data

from deploy.local.stack import Stack, running_stack

GROUP = "load"
PHASES = ("steady", "paused", "resumed", "killed", "restarted")


@dataclass(frozen=True)
class Outcome:
    """One request: when it started, in which phase, what it was and how it ended."""

    started: float
    phase: str
    operation: str
    status: int
    seconds: float
    error: str = ""


def photo(seed: int, base: NDArray[np.uint8]) -> bytes:
    """A JPEG of the astronaut, its brightness shifted a little per seed (distinct bytes)."""
    shifted = np.clip(base.astype(np.int16) + (seed % 7) - 3, 0, 255).astype(np.uint8)
    marked = shifted.copy()
    marked[0, 0] = [seed % 256, (seed // 256) % 256, (seed // 65536) % 256]
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(marked, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(encoded)


class Load:
    """The clients, the current phase, and everything they saw."""

    def __init__(self, stack: Stack, clients: int) -> None:
        self.stack = stack
        self.clients = clients
        self.phase = PHASES[0]
        self.stop = threading.Event()
        self.outcomes: list[Outcome] = []
        self.enrolled: list[tuple[str, str]] = []  # (user id, face token) answered 200
        self.lock = threading.Lock()
        self.base = np.asarray(skimage_data.astronaut(), dtype=np.uint8)

    def client(self, number: int) -> None:
        """One client's loop: enroll, search, verify, until told to stop."""
        headers = {"x-api-key": self.stack.api_key}
        probe = photo(number, self.base)
        with httpx.Client(base_url=f"{self.stack.url}/api/v1", headers=headers) as http:
            step = 0
            while not self.stop.is_set():
                operation = ("enroll", "search", "verify")[step % 3]
                user = f"c{number}-{step}"
                started = time.perf_counter()
                phase = self.phase
                try:
                    if operation == "enroll":
                        response = http.post(
                            f"/groups/{GROUP}/users/{user}/faces",
                            files={"image": ("p.jpg", photo(number * 100_000 + step, self.base))},
                            timeout=30,
                        )
                    elif operation == "search":
                        response = http.post(
                            "/search",
                            files={"image": ("p.jpg", probe)},
                            data={"group_ids": GROUP},
                            timeout=30,
                        )
                    else:
                        response = http.post(
                            "/verify",
                            files={"image_a": ("a.jpg", probe), "image_b": ("b.jpg", probe)},
                            timeout=30,
                        )
                    status = response.status_code
                    error = "" if status == 200 else response.json()["error"]["message"]
                except httpx.HTTPError as failure:
                    status, error = 0, str(failure)
                seconds = time.perf_counter() - started
                with self.lock:
                    self.outcomes.append(Outcome(started, phase, operation, status, seconds, error))
                    if operation == "enroll" and status == 200:
                        self.enrolled.append((user, response.json()["face_token"]))
                step += 1


def report(load: Load, fault_started: dict[str, float], phase_seconds: float) -> None:
    """Requests/s, latency and statuses per phase; time to the first 503 after each fault."""
    for phase in PHASES:
        rows = [o for o in load.outcomes if o.phase == phase]
        if not rows:
            continue
        latencies = np.array([o.seconds for o in rows]) * 1000
        statuses = Counter(o.status for o in rows)
        p50, p99 = np.percentile(latencies, [50, 99])
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        print(
            f"{phase:10s} {len(rows) / phase_seconds:6.1f} req/s  p50 {p50:7.1f} ms"
            f"  p99 {p99:7.1f} ms  statuses {counts}",
            flush=True,
        )
        for error, count in Counter(o.error for o in rows if o.error).most_common(3):
            print(f"           {count} x {error}", flush=True)
    for phase, started in fault_started.items():
        first = min(
            (o.started + o.seconds for o in load.outcomes if o.status == 503 and o.phase == phase),
            default=None,
        )
        detected = "no 503 seen" if first is None else f"{first - started:.2f} s"
        print(f"first 503 after the fault ({phase}): {detected}", flush=True)


def lost_faces(stack: Stack, enrolled: list[tuple[str, str]]) -> int:
    """Acknowledged enrollments whose face is no longer listed."""
    lost = 0
    with httpx.Client(
        base_url=f"{stack.url}/api/v1", headers={"x-api-key": stack.api_key}, timeout=30
    ) as http:
        for user, token in enrolled:
            response = http.get(f"/groups/{GROUP}/users/{user}")
            if response.status_code not in (200, 404):
                raise RuntimeError(f"cannot check {user}: {response.status_code} {response.text}")
            tokens = (
                {face["face_token"] for face in response.json()["faces"]}
                if response.status_code == 200
                else set()
            )
            lost += token not in tokens
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--phase-seconds", type=float, default=8.0)
    options = parser.parse_args()
    # The clients share the demo key: measure the services, not the per-key rate limit.
    os.environ.setdefault("FACEFLOW_GATEWAY_RATE_LIMIT_PER_MINUTE", "0")
    with (
        tempfile.TemporaryDirectory(prefix="faceflow-load-") as scratch,
        running_stack(Path(scratch), services=("detection", "embedding")) as stack,
    ):
        headers = {"x-api-key": stack.api_key}
        httpx.post(
            f"{stack.url}/api/v1/groups", json={"group_id": GROUP}, headers=headers
        ).raise_for_status()
        load = Load(stack, options.clients)
        threads = [threading.Thread(target=load.client, args=(n,)) for n in range(options.clients)]
        for thread in threads:
            thread.start()
        faults: dict[str, float] = {}
        for phase in PHASES:
            load.phase = phase
            embedding = stack.launcher.children["embedding"]
            if phase == "paused":
                faults[phase] = time.perf_counter()
                embedding.send_signal(signal.SIGSTOP)
            elif phase == "resumed":
                embedding.send_signal(signal.SIGCONT)
            elif phase == "killed":
                faults[phase] = time.perf_counter()
                embedding.send_signal(signal.SIGKILL)
                embedding.wait()
            elif phase == "restarted":
                began = time.perf_counter()
                stack.launcher.restart("embedding")
                print(f"embedding restarted in {time.perf_counter() - began:.1f} s")
            time.sleep(options.phase_seconds)
        load.stop.set()
        for thread in threads:
            thread.join()
        print(
            f"{options.clients} clients, {options.phase_seconds:g} s per phase, "
            f"{len(load.outcomes)} requests",
            flush=True,
        )
        report(load, faults, options.phase_seconds)
        lost = lost_faces(stack, load.enrolled)
        print(f"enrolled faces acknowledged: {len(load.enrolled)}; enrolled faces lost: {lost}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
