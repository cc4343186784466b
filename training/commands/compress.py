"""``quantize``, ``prune`` and ``distill``: smaller models from served or trained ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands, add_force_option, check_targets
from training.commands.values import positive_float, positive_int, unit_interval


def _quantize(args: argparse.Namespace) -> dict[str, Any]:
    from services.shared.errors import ModelUnavailableError
    from services.shared.model_store import ModelStore
    from services.shared.model_store.local import register_local_model
    from services.shared.model_store.manifest import ManifestError
    from training.compression.calibration import calibration_set
    from training.compression.quantize import output_path, quantize_store_model
    from training.errors import TrainingError

    try:
        store = ModelStore(cache_dir=args.cache_dir)
        base = store.spec(args.model)
    except (ManifestError, ModelUnavailableError) as error:
        raise TrainingError(str(error)) from error
    names = [(f"{args.model}-{mode}", base.version) for mode in args.mode] if args.register else []
    outputs = [output_path(args.output_dir, args.model, mode) for mode in args.mode]
    check_targets(names, outputs, args.manifest_dir, args.force)
    calibration = None
    if args.calibration is not None:
        kind = args.calibration_kind or args.model
        calibration = calibration_set(kind, args.calibration, args.limit, args.cache_dir)
    written = quantize_store_model(args.model, args.mode, args.output_dir, calibration, store)
    result: dict[str, Any] = {
        mode: {"output": str(path), "bytes": path.stat().st_size} for mode, path in written.items()
    }
    if args.register:
        from training.export import default_manifest_dir

        for mode, path in written.items():
            try:
                toml = register_local_model(
                    path,
                    f"{args.model}-{mode}",
                    base.version,
                    base.task,
                    args.manifest_dir or default_manifest_dir(),
                    store.cache_dir,
                    description=f"{mode} quantization of {base.key} (python -m training quantize)",
                    license_text=base.license,
                    input_spec=base.input,
                    params=base.params,
                )
            except ManifestError as error:
                raise TrainingError(str(error)) from error
            result[mode]["manifest"] = str(toml)
    return result


def _prune(args: argparse.Namespace) -> dict[str, Any]:
    from training.compression.cifar import prune_cifar

    return prune_cifar(
        args.checkpoint,
        args.data,
        args.output,
        args.sparsity,
        args.epochs,
        args.train_per_class,
        args.test_per_class,
        args.lr,
        args.batch_size,
        not args.quiet,
    )


def _distill(args: argparse.Namespace) -> dict[str, Any]:
    from training.compression.cifar import distill_cifar

    options: dict[str, Any] = {}
    if args.student_width is not None:
        options["alpha" if args.student_arch == "mobilenetv2" else "width"] = args.student_width
    if args.student_depth is not None:
        options["depth"] = args.student_depth
    return distill_cifar(
        args.teacher,
        args.data,
        args.output,
        args.student_arch,
        options,
        args.epochs,
        args.temperature,
        args.alpha,
        args.train_per_class,
        args.test_per_class,
        args.lr,
        args.batch_size,
        not args.quiet,
    )


def _cifar_subset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="the .keras to write")
    parser.add_argument("--epochs", type=positive_int, default=1)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--train-per-class", type=positive_int, default=None)
    parser.add_argument("--test-per-class", type=positive_int, default=None)
    parser.add_argument("--quiet", action="store_true")


def add_quantize(commands: Subcommands) -> None:
    """``quantize``: float16 / int8 / dynamic-range TFLite of a model-store model."""
    quantize = commands.add_parser("quantize", help="float16/int8 TFLite of a served model")
    quantize.add_argument("--model", required=True, help="manifest model name (sface, yunet...)")
    quantize.add_argument(
        "--mode",
        choices=["float16", "int8", "dynamic"],
        action="append",
        required=True,
        help="repeat for several modes",
    )
    quantize.add_argument("--output-dir", type=Path, required=True)
    quantize.add_argument(
        "--calibration",
        type=Path,
        nargs="+",
        default=None,
        help="folder(s) of real images (required for int8)",
    )
    quantize.add_argument(
        "--calibration-kind", default=None, help="preprocessing (default: the model name)"
    )
    quantize.add_argument(
        "--limit", type=positive_int, default=100, help="calibration images per folder"
    )
    quantize.add_argument(
        "--register",
        action="store_true",
        help="register each result as <model>-<mode> in the model store",
    )
    quantize.add_argument("--manifest-dir", type=Path, default=None)
    quantize.add_argument("--cache-dir", type=Path, default=None)
    add_force_option(quantize)
    quantize.set_defaults(handler=_quantize)


def add_prune(commands: Subcommands) -> None:
    """``prune cifar10``: magnitude pruning while fine-tuning a CIFAR-10 checkpoint."""
    prune = commands.add_parser("prune", help="magnitude pruning").add_subparsers(
        dest="recipe", required=True
    )
    prune_cifar = prune.add_parser("cifar10", help="prune a CIFAR-10 checkpoint")
    prune_cifar.add_argument("--checkpoint", type=Path, required=True)
    prune_cifar.add_argument("--sparsity", type=float, default=0.5)
    prune_cifar.add_argument("--lr", type=positive_float, default=3e-4)
    _cifar_subset(prune_cifar)
    prune_cifar.set_defaults(handler=_prune)


def add_distill(commands: Subcommands) -> None:
    """``distill cifar10``: a smaller student trained on a CIFAR-10 teacher's soft targets."""
    from training.architectures import NAMES

    distill = commands.add_parser("distill", help="knowledge distillation").add_subparsers(
        dest="recipe", required=True
    )
    distill_cifar = distill.add_parser("cifar10", help="teacher checkpoint -> smaller student")
    distill_cifar.add_argument("--teacher", type=Path, required=True)
    distill_cifar.add_argument("--student-arch", choices=NAMES, default="resnet")
    distill_cifar.add_argument("--student-width", type=positive_float, default=None)
    distill_cifar.add_argument("--student-depth", type=positive_int, default=None)
    distill_cifar.add_argument("--temperature", type=positive_float, default=4.0)
    distill_cifar.add_argument(
        "--alpha", type=unit_interval, default=0.3, help="weight of hard labels"
    )
    distill_cifar.add_argument("--lr", type=positive_float, default=2e-3)
    _cifar_subset(distill_cifar)
    distill_cifar.set_defaults(handler=_distill)
