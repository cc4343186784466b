"""Compression table of a trained CIFAR-10 classifier (issue 13): one file per variant, each
evaluated as TFLite through the services' ``LiteModel`` on the test split.

Rows, all from one ``python -m training train cifar10`` checkpoint (the teacher):
- float32: the checkpoint converted as it is (``training.export.to_tflite``);
- float16: float16 weights (``training.compression.quantize.quantize_keras``);
- int8 PTQ: weights and activations int8, ranges calibrated on ``--calibration-count``
  training images, float32 input/output kept; the notes count operators still in float;
- int8 QAT: only when PTQ loses more than 1 point against float32. Quantization-aware training
  needs ``tensorflow_model_optimization``, which this project does not install, so the row
  then says that QAT was needed and not run (and the int8 row says "QAT not needed" otherwise);
- pruned 50% / 80% (``--sparsities``): magnitude pruning while fine-tuning ``--prune-epochs``
  (``training.compression.cifar.fine_tune_pruned``); float32 TFLite, whose gzip size is where
  the zeros pay off;
- student, distilled: a ResNet-``--student-depth`` trained ``--distill-epochs`` on the
  teacher's soft targets (``training.compression.cifar.distill_into``, the ``Distiller``);
- student, labels only: the same student from the same initial weights with the same
  optimizer and epochs, without the teacher (``--no-baseline`` skips it).

Accuracy is on the whole test split (10,000 images) unless ``--test-per-class`` is given; the
Keras accuracy of each trained model on the same images is kept in the JSON as a check of the
conversion. Latency is batch 1, 2 threads, p50 of ``--runs`` calls per variant, all variants
taking turns in one loop (``bench.common.measure_interleaved``) so a drifting machine speed
lands on all of them. Writes ``cifar10-compression.json`` (every figure and the command line)
and ``cifar10-compression.md`` (the table) into ``--out-dir`` and prints the table.

    nice -n 19 .venv/bin/python bench/cifar_compression.py \\
        --checkpoint RUN/checkpoints/best.keras \\
        --data /tmp/cifar --out-dir /tmp/ff/cifar-compression \\
        [--prune-epochs 3] [--distill-epochs 20] [--student-depth 8] [--runs 200]
        [--train-per-class N --test-per-class N]   # quick tries on a balanced subset
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import logging
import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import keras
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from numpy.typing import NDArray
from tqdm import tqdm

from bench.common import measure_interleaved, percentile
from services.shared.model_store.hashing import sha256_file
from services.shared.runtime import LiteModel
from training.architectures import build
from training.checkpoints import load_checkpoint
from training.compression.cifar import distill_into, fine_tune_pruned, train_on_labels
from training.compression.prune import gzip_size, kernel_sparsity
from training.compression.quantize import quantize_keras
from training.data.cifar import ArrayDataset, load_cifar10
from training.errors import TrainingError
from training.export import to_tflite
from training.recipes.cifar10 import INPUT_SHAPE, evaluate_model, to_float

log = logging.getLogger("cifar_compression")

JSON_NAME = "cifar10-compression.json"
TABLE_NAME = "cifar10-compression.md"
QAT_THRESHOLD_POINTS = 1.0
THREADS = 2


@dataclass
class Variant:
    """One TFLite file of the table and what is known about it."""

    key: str
    label: str
    path: Path
    notes: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """A measured variant."""

    key: str
    label: str
    file: str
    bytes: int
    gzip_bytes: int
    accuracy: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_runs: int
    notes: str
    details: dict[str, Any]


@dataclass(frozen=True)
class QatDecision:
    """Whether int8 PTQ lost enough to call for quantization-aware training, and its fate."""

    ptq_drop_points: float
    needed: bool
    available: bool
    note: str


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="the teacher .keras")
    parser.add_argument("--data", type=Path, required=True, help="CIFAR-10 folder")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--train-per-class", type=int, default=None)
    parser.add_argument("--test-per-class", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--calibration-count", type=int, default=500, help="training images for int8 ranges"
    )
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.8])
    parser.add_argument("--prune-epochs", type=int, default=3)
    parser.add_argument("--prune-lr", type=float, default=3e-4)
    parser.add_argument("--student-depth", type=int, default=8)
    parser.add_argument("--student-width", type=float, default=1.0)
    parser.add_argument("--distill-epochs", type=int, default=20)
    parser.add_argument("--distill-lr", type=float, default=2e-3)
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.3, help="weight of the hard labels")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the student trained on labels only"
    )
    parser.add_argument("--runs", type=int, default=200, help="timed calls per variant")
    parser.add_argument("--block", type=int, default=5, help="consecutive calls per turn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    for sparsity in args.sparsities:
        if not 0.0 < sparsity < 1.0:
            parser.error(f"--sparsities must be in (0, 1), not {sparsity}")
    for name in ("prune_epochs", "distill_epochs", "runs", "block", "calibration_count"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def calibration_images(images: NDArray[np.uint8], count: int, seed: int) -> NDArray[np.float32]:
    """``count`` training images drawn at random (without replacement), scaled as in training."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(images), size=min(count, len(images)), replace=False))
    return np.asarray(to_float(images[chosen]), dtype=np.float32)


def float_operators(path: Path) -> tuple[list[str], int]:
    """Operators of a TFLite file that compute in float (QUANTIZE/DEQUANTIZE at the edges
    excepted), and the operator count."""
    # without the XNNPACK delegate, which would merge the operators into one DELEGATE node
    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    dtypes = {int(t["index"]): np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    operators = interpreter._get_ops_details()
    floating = []
    for op in operators:
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE"):
            continue
        tensors = [int(i) for i in [*op["inputs"], *op["outputs"]] if int(i) >= 0]
        if any(dtypes[i] == np.float32 for i in tensors if i in dtypes):
            floating.append(str(op["op_name"]))
    return floating, len(operators)


def tflite_accuracy(
    lite: LiteModel, images: NDArray[np.float32], labels: NDArray[np.int64], label: str, quiet: bool
) -> float:
    """Top-1 accuracy of a batch-1 TFLite model, one image per call."""
    output = lite.output_names[0]
    correct = 0
    for index in tqdm(range(len(labels)), desc=label, unit="img", disable=quiet, leave=False):
        logits = lite.run(**{lite.input_name: images[index : index + 1]})[output]
        correct += int(np.argmax(logits) == labels[index])
    return correct / max(len(labels), 1)


def one_call(lite: LiteModel, sample: NDArray[np.float32]) -> Callable[[], object]:
    """One batch-1 inference of sample, as a timing target."""

    def call() -> object:
        return lite.run(**{lite.input_name: sample})

    return call


def qat_decision(float_accuracy: float, int8_accuracy: float) -> QatDecision:
    """QAT is called for when PTQ loses more than 1 point; say honestly whether it could run."""
    drop = 100.0 * (float_accuracy - int8_accuracy)
    available = importlib.util.find_spec("tensorflow_model_optimization") is not None
    if drop <= QAT_THRESHOLD_POINTS:
        note = (
            f"QAT not needed (PTQ {-drop:+.2f} points vs float32; "
            f"QAT only below -{QAT_THRESHOLD_POINTS:g})"
        )
        return QatDecision(drop, False, available, note)
    if available:
        note = (
            f"QAT needed (PTQ loses {drop:.2f} points) but not implemented: "
            "tensorflow_model_optimization wraps tf_keras models, not these Keras 3 checkpoints"
        )
    else:
        note = (
            f"QAT needed (PTQ loses {drop:.2f} points) but not available: "
            "tensorflow_model_optimization is not installed"
        )
    return QatDecision(drop, True, available, note)


def kilobytes(count: int) -> str:
    return f"{count / 1024:,.1f} KB"


def markdown_table(rows: Sequence[Row], qat: QatDecision | None, test_images: int) -> str:
    lines = [
        f"| variant | test accuracy ({test_images:,}) | file size | gzip size | "
        f"p50 latency (batch 1, {THREADS} threads) | notes |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {100 * row.accuracy:.2f}% | {kilobytes(row.bytes)} | "
            f"{kilobytes(row.gzip_bytes)} | {row.latency_p50_ms:.2f} ms | {row.notes} |"
        )
        if row.key == "int8" and qat is not None and qat.needed:
            lines.append(f"| int8 QAT | not run | - | - | - | {qat.note} |")
    return "\n".join(lines) + "\n"


def student_name(depth: int, width: float) -> str:
    return f"ResNet-{depth}" + ("" if width == 1.0 else f" x{width:g}")


def make_variants(
    args: argparse.Namespace, train: ArrayDataset, test: ArrayDataset
) -> tuple[list[Variant], dict[str, Any]]:
    """Write every TFLite file of the table; returns the variants and the teacher's figures."""

    out: Path = args.out_dir
    progress = not args.quiet

    def write(key: str, data: bytes) -> Path:
        path = out / f"{key}.tflite"
        path.write_bytes(data)
        return path

    teacher = load_checkpoint(args.checkpoint)
    teacher_params = int(teacher.count_params())
    teacher_accuracy = evaluate_model(teacher, test)["accuracy"]
    log.info("teacher: %d parameters, Keras test accuracy %.4f", teacher_params, teacher_accuracy)
    calibration = calibration_images(train.images, args.calibration_count, args.seed)
    variants = [
        Variant(
            "float32",
            "float32",
            write("float32", to_tflite(teacher)),
            f"the checkpoint, {teacher_params:,} parameters",
            {"keras_accuracy": teacher_accuracy, "params": teacher_params},
        ),
        Variant(
            "float16",
            "float16",
            write("float16", quantize_keras(teacher, "float16")),
            "float16 weights, computed in float32",
        ),
    ]
    int8_path = write("int8", quantize_keras(teacher, "int8", calibration))
    floating, operators = float_operators(int8_path)
    variants.append(
        Variant(
            "int8",
            "int8 PTQ",
            int8_path,
            f"calibrated on {len(calibration)} training images; float32 input/output; "
            f"{operators - len(floating)} of {operators} operators integer",
            {
                "calibration_images": len(calibration),
                "operators": operators,
                "float_operators": floating,
            },
        )
    )

    for sparsity in args.sparsities:
        percent = round(100 * sparsity)
        log.info("pruning to %d%%, %d epochs of fine-tuning", percent, args.prune_epochs)
        model = load_checkpoint(args.checkpoint)
        losses = fine_tune_pruned(
            model,
            train,
            sparsity,
            args.prune_epochs,
            args.prune_lr,
            args.batch_size,
            progress,
        )
        key = f"pruned-{percent}"
        model.save(out / f"{key}.keras")
        achieved = kernel_sparsity(model)
        keras_accuracy = evaluate_model(model, test)["accuracy"]
        variants.append(
            Variant(
                key,
                f"pruned {percent}% + fine-tuning",
                write(key, to_tflite(model)),
                f"kernel sparsity {achieved:.3f}; fine-tuned {args.prune_epochs} epoch(s), "
                f"Adam {args.prune_lr:g}; float32 TFLite",
                {
                    "target_sparsity": sparsity,
                    "sparsity": achieved,
                    "keras_accuracy": keras_accuracy,
                    "loss": losses,
                },
            )
        )

    name = student_name(args.student_depth, args.student_width)
    options = {"depth": args.student_depth, "width": args.student_width}
    classes = len(train.classes)
    keras.utils.set_random_seed(args.seed)
    student = build("resnet", INPUT_SHAPE, classes, **options)
    params = int(student.count_params())
    log.info("distilling into %s (%d parameters), %d epochs", name, params, args.distill_epochs)
    history = distill_into(
        student,
        teacher,
        train,
        args.distill_epochs,
        args.temperature,
        args.alpha,
        args.distill_lr,
        args.batch_size,
        progress,
    )
    student.save(out / "student-distilled.keras")
    shrink = teacher_params / params
    variants.append(
        Variant(
            "student-distilled",
            f"{name} student, distilled",
            write("student-distilled", to_tflite(student)),
            f"{params:,} parameters ({shrink:.1f}x fewer); {args.distill_epochs} epoch(s), "
            f"T={args.temperature:g}, alpha={args.alpha:g}; float32 TFLite",
            {
                "params": params,
                "keras_accuracy": evaluate_model(student, test)["accuracy"],
                **history,
            },
        )
    )
    if not args.no_baseline:
        keras.utils.set_random_seed(args.seed)
        baseline = build("resnet", INPUT_SHAPE, classes, **options)
        log.info("the same student on labels only, %d epochs", args.distill_epochs)
        losses = train_on_labels(
            baseline, train, args.distill_epochs, args.distill_lr, args.batch_size, progress
        )
        baseline.save(out / "student-labels.keras")
        variants.append(
            Variant(
                "student-labels",
                f"{name} student, labels only",
                write("student-labels", to_tflite(baseline)),
                f"same student, initial weights and {args.distill_epochs} epoch(s), "
                "no teacher; float32 TFLite",
                {
                    "params": params,
                    "keras_accuracy": evaluate_model(baseline, test)["accuracy"],
                    "loss": losses,
                },
            )
        )
    teacher_figures = {"params": teacher_params, "keras_accuracy": teacher_accuracy}
    return variants, teacher_figures


def command_line(argv: Sequence[str] | None) -> str:
    if argv is None:
        return shlex.join(sys.orig_argv)
    return shlex.join(["bench/cifar_compression.py", *argv])


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (empty where there is none)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def environment() -> dict[str, Any]:
    """What the figures were measured with and on."""
    import tensorflow as tf  # its distribution is tensorflow-cpu here, tensorflow elsewhere

    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "ai_edge_litert": version("ai-edge-litert"),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
    }


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Make, evaluate and time every variant; the JSON report (also written to disk)."""
    if not args.checkpoint.is_file():
        raise TrainingError(f"checkpoint {args.checkpoint} does not exist")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    train = load_cifar10(args.data, "train", args.train_per_class)
    test = load_cifar10(args.data, "test", args.test_per_class)
    log.info("CIFAR-10: %d train, %d test images", len(train.labels), len(test.labels))
    test_float = np.asarray(to_float(test.images), dtype=np.float32)

    variants, teacher = make_variants(args, train, test)

    models = {v.key: LiteModel(v.path, THREADS) for v in variants}
    accuracy = {
        v.key: tflite_accuracy(models[v.key], test_float, test.labels, v.label, args.quiet)
        for v in variants
    }
    calls = {key: one_call(lite, test_float[:1]) for key, lite in models.items()}
    log.info("latency: %d calls per variant, interleaved", args.runs)
    timings = measure_interleaved(calls, args.runs, warmup=5, block=args.block)

    qat = qat_decision(accuracy["float32"], accuracy["int8"])
    rows = []
    for variant in variants:
        data = variant.path.read_bytes()
        rows.append(
            Row(
                key=variant.key,
                label=variant.label,
                file=str(variant.path),
                bytes=len(data),
                gzip_bytes=gzip_size(data),
                accuracy=accuracy[variant.key],
                latency_p50_ms=percentile(timings[variant.key], 50),
                latency_p95_ms=percentile(timings[variant.key], 95),
                latency_runs=len(timings[variant.key]),
                notes=f"{variant.notes}; {qat.note}" if variant.key == "int8" else variant.notes,
                details=variant.details,
            )
        )
    table = markdown_table(rows, qat, len(test.labels))
    report = {
        "command": command,
        "checkpoint": {"path": str(args.checkpoint), "sha256": sha256_file(args.checkpoint)},
        "data": {
            "path": str(args.data),
            "train_images": len(train.labels),
            "test_images": len(test.labels),
        },
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "environment": environment(),
        "teacher": teacher,
        "variants": [asdict(row) for row in rows],
        "qat": asdict(qat),
        "table": table,
    }
    (args.out_dir / JSON_NAME).write_text(json.dumps(report, indent=2) + "\n")
    (args.out_dir / TABLE_NAME).write_text(table)
    return report


def log_to_stderr() -> None:
    """This script's progress lines on stderr (not TensorFlow's INFO chatter)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """The table on stdout (exit 0), or one ``error:`` line (exit 2) for a fixable mistake."""
    args = parse_args(argv)
    try:
        report = run(args, command_line(argv))
    except TrainingError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write(report["table"])
    return 0


if __name__ == "__main__":
    log_to_stderr()
    raise SystemExit(main())
