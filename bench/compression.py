"""Compression table: size, latency and accuracy change of quantized served models.

For each model and variant (the served float32 file, and the float16 / int8 files written by
``python -m training quantize``): file size, batch-1 LiteRT latency (2 threads, p50), and
- SFace: mean cosine between float32 and quantized embeddings of the same aligned faces, and
  LFW-devtest 10-fold accuracy / TAR@FAR=1e-2 on the 1,000 View-1 pairs (aligned by YuNet);
- emotion: top-1 agreement with the float32 model on the FER2013 sample crops.
Variants that are missing are listed as such.

    .venv/bin/python bench/compression.py --quant-dir DIR --aligned DIR [--runs 30]
(``--aligned``: ``python -m training align --src ../shared/data/lfw-devtest/images
--dst DIR/images``; ``--quant-dir``: the ``--output-dir`` of ``python -m training quantize``.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.common import measure, percentile
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel
from training.compression.calibration import emotion_input
from training.data.folders import load_images
from training.data.pairs import read_pairs
from training.verification import evaluate_scores

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MODES = ("float32", "float16", "int8")


def _variants(name: str, quant_dir: Path, store: ModelStore) -> dict[str, Path]:
    found = {"float32": store.open(name).path}
    for mode in MODES[1:]:
        path = quant_dir / f"{name}-{mode}.tflite"
        if path.is_file():
            found[mode] = path
    return found


def _runner(path: Path) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    lite = LiteModel(path, 2)
    output = lite.output_names[0]

    def run(sample: NDArray[np.float32]) -> NDArray[np.float32]:
        return lite.run(**{lite.input_name: sample[np.newaxis]})[output].reshape(-1)

    return run


def _latency(
    run: Callable[[NDArray[np.float32]], NDArray[np.float32]],
    sample: NDArray[np.float32],
    runs: int,
) -> list[float]:
    return measure(lambda: run(sample), runs)


def _row(model: str, mode: str, path: Path, latency: list[float], quality: str) -> str:
    size = path.stat().st_size / 1e6
    return f"| {model} | {mode} | {size:6.2f} MB | {percentile(latency, 50):7.2f} ms | {quality} |"


def bench_sface(quant_dir: Path, aligned: Path, store: ModelStore, runs: int) -> list[str]:
    pairs = read_pairs(SHARED / "lfw-devtest" / "pairs.csv", aligned, ".png")
    paths = pairs.images()
    faces = load_images(paths, size=(112, 112)).astype(np.float32)
    index = {p: i for i, p in enumerate(paths)}
    rows, reference = [], None
    for mode, path in _variants("sface", quant_dir, store).items():
        run = _runner(path)
        vectors = np.stack([run(face) for face in faces])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        scores = np.sum(
            vectors[[index[p] for p in pairs.first]] * vectors[[index[p] for p in pairs.second]],
            axis=1,
        )
        report = evaluate_scores(scores, pairs.same)
        if reference is None:
            reference = vectors
        agreement = float(np.mean(np.sum(vectors * reference, axis=1)))
        tar = report.tar_at_far[1e-2]
        quality = (
            f"LFW-devtest {100 * report.accuracy:.2f}% ± {100 * report.accuracy_std:.2f}, "
            f"TAR@FAR1e-2 {100 * (tar or 0):.1f}%, cosine vs float32 {agreement:.4f} "
            f"({len(faces)} faces)"
        )
        rows.append(_row("sface", mode, path, _latency(run, faces[0], runs), quality))
    return rows


def bench_emotion(quant_dir: Path, store: ModelStore, runs: int) -> list[str]:
    folder = SHARED / "attributes-sample" / "fer"
    files = sorted(folder.glob("*.jpg"))
    samples = np.stack([emotion_input(p) for p in files])
    rows, reference = [], None
    for mode, path in _variants("emotion", quant_dir, store).items():
        run = _runner(path)
        predicted = np.array([int(np.argmax(run(s))) for s in samples])
        if reference is None:
            reference = predicted
        agreement = float(np.mean(predicted == reference))
        quality = f"top-1 agreement with float32 {100 * agreement:.1f}% ({len(samples)} FER crops)"
        rows.append(_row("emotion", mode, path, _latency(run, samples[0], runs), quality))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quant-dir", type=Path, required=True)
    parser.add_argument("--aligned", type=Path, required=True, help="aligned lfw-devtest root")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--models", nargs="*", default=["sface", "emotion"])
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.stderr.write(f"{SHARED} is missing: the table needs the real photos\n")
        return 1
    store = ModelStore()
    lines = [
        "| model | variant | size | p50 latency (batch 1, 2 threads) | accuracy / agreement |",
        "| --- | --- | --- | --- | --- |",
    ]
    if "sface" in args.models:
        lines += bench_sface(args.quant_dir, args.aligned, store, args.runs)
    if "emotion" in args.models:
        lines += bench_emotion(args.quant_dir, store, args.runs)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
