"""Training step time of a CIFAR-10 network in float32 and in mixed bfloat16, side by side.

Each precision runs in its own process (Keras' dtype policy is global), on the same random
batch of 128 images: 5 warm-up steps, then the median of ``--steps`` timed ``train_on_batch``
calls. Prints one JSON line per precision (with the minutes one 50,000-image epoch would take at
that step time, input pipeline not counted) and the ratio.

    .venv/bin/python bench/training_precision.py --steps 30
    .venv/bin/python bench/training_precision.py --arch mobilenetv2 --steps 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from training.architectures import NAMES

BATCH = 128
EPOCH_IMAGES = 50_000  # CIFAR-10's training split
PRECISIONS = ("float32", "bfloat16")

STEP = """
import sys, time, numpy as np, keras
from training.architectures import build
from training.precision import training_precision, with_float32_outputs
from training.recipes.cifar10 import compile_classifier
with training_precision(sys.argv[1]):
    model = with_float32_outputs(build(sys.argv[3], (32, 32, 3), 10))
    compile_classifier(model, 0.1, 1000, "sgd", 1e-3)
batch = int(sys.argv[4])
x = np.random.default_rng(0).random((batch, 32, 32, 3), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, batch)
for _ in range(5):
    model.train_on_batch(x, y)
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    model.train_on_batch(x, y)
    times.append(time.perf_counter() - started)
print(1000 * float(np.median(times)))
"""


def step_ms(precision: str, steps: int, architecture: str) -> float:
    """Median milliseconds per training step in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", STEP, precision, str(steps), architecture, str(BATCH)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--arch", choices=NAMES, default="resnet", help="resnet is ResNet-20")
    options = parser.parse_args()
    if options.steps < 1:
        parser.error("--steps must be >= 1")
    started = time.perf_counter()
    figures = {p: round(step_ms(p, options.steps, options.arch), 1) for p in PRECISIONS}
    for precision, ms in figures.items():
        epoch_minutes = round(ms * EPOCH_IMAGES / BATCH / 60_000, 2)
        line = {"arch": options.arch, "precision": precision, "ms_per_step": ms}
        sys.stdout.write(json.dumps({**line, "epoch_minutes": epoch_minutes}) + "\n")
    ratio = figures["float32"] / figures["bfloat16"]
    sys.stdout.write(
        json.dumps({"speedup": round(ratio, 2), "seconds": round(time.perf_counter() - started, 1)})
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
