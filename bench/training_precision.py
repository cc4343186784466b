"""Training step time of a CIFAR-10 ResNet-20 in float32 and in mixed bfloat16, side by side.

Each precision runs in its own process (Keras' dtype policy is global), on the same random
batch of 128 images: 5 warm-up steps, then the median of ``--steps`` timed ``train_on_batch``
calls. Prints one JSON line per precision and the ratio.

    .venv/bin/python bench/training_precision.py --steps 30
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

STEP = """
import sys, time, numpy as np, keras
from training.architectures import build
from training.precision import training_precision, with_float32_outputs
from training.recipes.cifar10 import compile_classifier
with training_precision(sys.argv[1]):
    model = with_float32_outputs(build("resnet", (32, 32, 3), 10, depth=20))
    compile_classifier(model, 0.1, 1000, "sgd", 1e-3)
x = np.random.default_rng(0).random((128, 32, 32, 3), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, 128)
for _ in range(5):
    model.train_on_batch(x, y)
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    model.train_on_batch(x, y)
    times.append(time.perf_counter() - started)
print(1000 * float(np.median(times)))
"""


def step_ms(precision: str, steps: int) -> float:
    """Median milliseconds per training step in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", STEP, precision, str(steps)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    options = parser.parse_args()
    started = time.perf_counter()
    figures = {p: round(step_ms(p, options.steps), 1) for p in ("float32", "bfloat16")}
    for precision, ms in figures.items():
        sys.stdout.write(json.dumps({"precision": precision, "ms_per_step": ms}) + "\n")
    ratio = figures["float32"] / figures["bfloat16"]
    sys.stdout.write(
        json.dumps({"speedup": round(ratio, 2), "seconds": round(time.perf_counter() - started, 1)})
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
