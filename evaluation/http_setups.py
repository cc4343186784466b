"""Run one HTTP measurement per service setup: the shared command line of the attribute
evaluations (``attributes_http``, ``emotion_http``).

Each setup is a set of environment variables for the services; for each, the real local stack
(detection, attributes and the gateway as processes, ``deploy.local.stack``) is started, measured
by the caller's function, and stopped. ``--url``/``--key`` measure an already running gateway
instead (one setup, named ``running``, as it is configured).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

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
