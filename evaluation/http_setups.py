"""Run one HTTP measurement per service setup: the shared command line and ``/detect`` loop of
the attribute evaluations (``attributes_http``, ``emotion_http``).

Each setup is a set of environment variables for the services; for each, the real local stack
(detection, attributes and the gateway as processes, ``deploy.local.stack``) is started, measured
by the caller's function, and stopped. ``--url``/``--key`` measure an already running gateway
instead (one setup, named ``running``, as it is configured).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.local.stack import running_stack  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "attributes-sample"
Measure = Callable[[str, str, Path], dict[str, Any]]  # (url, api key, data folder) -> result


def parser_for(doc: str | None, setups: Mapping[str, object], default: list[str]) -> Any:
    """The common options: --data, --setups, --url/--key, --json."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--setups", nargs="+", choices=sorted(setups), default=default, help="in this order"
    )
    parser.add_argument("--url", help="an already running gateway (measured as configured)")
    parser.add_argument("--key", help="its API key")
    parser.add_argument("--json", type=Path, help="write every figure here")
    return parser


def measure_setups(
    options: argparse.Namespace, setups: Mapping[str, dict[str, str]], measure: Measure
) -> dict[str, dict[str, Any]]:
    """Each named setup's result, in order (or the running gateway's)."""
    if options.url:
        return {"running": measure(options.url, options.key or "", options.data)}
    results: dict[str, dict[str, Any]] = {}
    for name in options.setups:
        with (
            tempfile.TemporaryDirectory(prefix="faceflow-eval-") as folder,
            running_stack(
                Path(folder), services=("detection", "attributes"), extra_env=setups[name]
            ) as stack,
        ):
            results[name] = measure(stack.url, stack.api_key, options.data)
    return results


def sample_rows(data: Path, prefix: str, columns: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The rows of the sample's labels.csv whose image is under ``prefix`` (``utk/``, ``fer/``).

    SystemExit with a one-line reason when the file, a needed column or an image is missing,
    or no row is under ``prefix`` (call it before starting any service)."""
    labels = data / "labels.csv"
    if not labels.is_file():
        raise SystemExit(f"{data} has no labels.csv")
    with labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = sorted({"image", *columns} - set(reader.fieldnames or []))
        if missing:
            raise SystemExit(f"{labels} has no column {', '.join(missing)}")
        rows = [row for row in reader if (row["image"] or "").startswith(prefix)]
    if not rows:
        raise SystemExit(f"{labels} lists no image under {prefix}")
    absent = [row["image"] for row in rows if not (data / row["image"]).is_file()]
    if absent:
        raise SystemExit(f"{len(absent)} images of {labels} are missing (first: {absent[0]})")
    return rows


Upload = Callable[[Path], tuple[str, bytes, str]]
"""A sample file -> the (file name, bytes, content type) posted for it."""


@dataclass
class DetectRun:
    """What one pass of ``/detect`` over the sample saw: timings and every model named."""

    seconds: list[float] = field(default_factory=list)
    models: dict[str, None] = field(default_factory=dict)  # first-seen order
    failed: dict[str, str] = field(default_factory=dict)  # image -> the answer that was not 200

    def summary(self) -> dict[str, Any]:
        """The models (name-version), the p50 time per request and the failed requests."""
        p50 = round(1000 * float(np.percentile(self.seconds, 50)), 1) if self.seconds else None
        return {"models": list(self.models), "ms_per_request_p50": p50, "failed": self.failed}

    def each(
        self,
        url: str,
        key: str,
        data: Path,
        rows: list[dict[str, str]],
        fields: str,
        upload: Upload,
        transport: httpx.BaseTransport | None = None,
    ) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
        """Post each row's image to ``/api/v1/detect?fields=...``; yield (row, JSON body).

        An answer other than 200 is recorded in ``failed`` (and counts as no answer for that
        image), so one bad photo does not throw away the setups measured so far."""
        with httpx.Client(
            base_url=url, headers={"x-api-key": key}, timeout=60, transport=transport
        ) as client:
            for row in rows:
                image = upload(data / row["image"])  # made before the clock starts
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/detect", files={"image": image}, data={"fields": fields}
                )
                self.seconds.append(time.perf_counter() - started)
                if response.status_code != 200:
                    self.failed[row["image"]] = f"HTTP {response.status_code} {response.text[:200]}"
                    continue
                body: dict[str, Any] = response.json()
                self.models.update((f"{m['name']}-{m['version']}", None) for m in body["models"])
                yield row, body


def milliseconds(value: float | None) -> str:
    """A p50 for the tables ("-" when no request was timed)."""
    return "-" if value is None else f"{value:.1f}"


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (centre - half, centre + half)


def mcnemar_p(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value for the discordant counts of two classifiers."""
    total = only_first + only_second
    if total == 0:
        return 1.0
    tail = sum(math.comb(total, k) for k in range(min(only_first, only_second) + 1)) / 2**total
    return float(min(1.0, 2 * tail))
