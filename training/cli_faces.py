"""CLI commands of the liveness and attribute recipes (train, evaluate, export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _train_liveness(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.liveness import LivenessConfig, train

    return train(
        LivenessConfig(
            data_dir=args.data,
            run_dir=args.run_dir,
            variant=args.variant,
            input_size=args.input_size,
            pretrained=args.pretrained,
            val_dir=args.val,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            ft_weight=args.ft_weight,
            train_bn=args.train_bn,
            resume=args.resume,
            seed=args.seed,
            progress=not args.quiet,
        )
    )


def _evaluate_liveness(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.liveness import (
        classifier_of,
        evaluate_classifier,
        load_liveness,
        tflite_classifier,
    )

    if args.model.suffix == ".tflite":
        from training.errors import TrainingError

        if not args.model.is_file():
            raise TrainingError(f"{args.model} does not exist")
        classifier = tflite_classifier(args.model)
    else:
        from training.checkpoints import load_checkpoint

        classifier = classifier_of(load_checkpoint(args.model))
    return evaluate_classifier(
        classifier, load_liveness(args.data, args.input_size), args.threshold
    )


def _export_liveness(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.liveness import export_liveness

    _check_name(args.name, args.version)
    return export_liveness(
        args.checkpoint,
        args.output,
        args.name,
        args.version,
        args.variant,
        args.crop_scale,
        args.manifest_dir,
        args.cache_dir,
    )


def _train_attributes(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.attributes import AttributesConfig, train

    return train(
        AttributesConfig(
            data_dir=args.data,
            run_dir=args.run_dir,
            input_size=args.input_size,
            width=args.width,
            val_dir=args.val,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            resume=args.resume,
            seed=args.seed,
            progress=not args.quiet,
        )
    )


def _evaluate_attributes(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.attributes import evaluate_model, load_attributes, tflite_attributes

    if args.model.suffix == ".tflite":
        from training.errors import TrainingError

        if not args.model.is_file():
            raise TrainingError(f"{args.model} does not exist")
        model: Any = tflite_attributes(args.model)
    else:
        from training.checkpoints import load_checkpoint

        model = load_checkpoint(args.model)
    return evaluate_model(model, load_attributes(args.data, args.input_size))


def _export_attributes(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.attributes import export_attributes

    _check_name(args.name, args.version)
    return export_attributes(
        args.checkpoint, args.output, args.name, args.version, args.manifest_dir, args.cache_dir
    )


def _check_name(name: str, version: str) -> None:
    """Refuse a bad or shipped model name before the slow conversion."""
    from services.shared.model_store.local import check_local_name
    from services.shared.model_store.manifest import ManifestError
    from training.errors import TrainingError

    try:
        check_local_name(name, version)
    except ManifestError as error:
        raise TrainingError(str(error)) from error


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, help="run folder or .keras")
    parser.add_argument("--name", required=True, help="model name for the manifest")
    parser.add_argument("--version", default="1")
    parser.add_argument("--output", type=Path, required=True, help="the .tflite to keep")
    parser.add_argument("--manifest-dir", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)


def add_face_recipes(train: Any, evaluate: Any, export: Any) -> None:
    """Register ``liveness`` and ``attributes`` under train, evaluate and export."""
    from training.cli import _common_train
    from training.models.minifasnet import ARCHITECTURES

    live = train.add_parser("liveness", help="MiniFASNet real/spoof with the Fourier aux loss")
    _common_train(live)
    live.set_defaults(batch_size=16)
    live.add_argument("--variant", choices=sorted(ARCHITECTURES), default="MiniFASNetV2")
    live.add_argument("--input-size", type=int, default=80)
    live.add_argument(
        "--pretrained",
        default=None,
        help="minifasnet_v2, minifasnet_v1se (store sources) or a .pth path",
    )
    live.add_argument("--val", type=Path, default=None, help="held-out real/spoof folder")
    live.add_argument("--ft-weight", type=float, default=1.0, help="weight of the Fourier MSE")
    live.add_argument(
        "--train-bn",
        action="store_true",
        help="with --pretrained: update BatchNorm statistics (frozen by default)",
    )
    live.set_defaults(handler=_train_liveness)

    live_eval = evaluate.add_parser("liveness", help="APCER / BPCER / ACER on real/spoof crops")
    live_eval.add_argument("--model", type=Path, required=True, help="checkpoint or .tflite")
    live_eval.add_argument("--data", type=Path, required=True)
    live_eval.add_argument("--input-size", type=int, default=80)
    live_eval.add_argument("--threshold", type=float, default=0.5)
    live_eval.set_defaults(handler=_evaluate_liveness)

    live_export = export.add_parser("liveness", help="the classifier of a liveness run")
    _export_options(live_export)
    live_export.add_argument("--variant", choices=sorted(ARCHITECTURES), default="MiniFASNetV2")
    live_export.add_argument(
        "--crop-scale",
        type=float,
        default=None,
        help="face-box scale of the crops (default: 2.7 V2, 4.0 V1SE)",
    )
    live_export.set_defaults(handler=_export_liveness)

    attrs = train.add_parser("attributes", help="age regression + gender (UTKFace names)")
    _common_train(attrs)
    attrs.set_defaults(batch_size=32)
    attrs.add_argument("--input-size", type=int, default=64)
    attrs.add_argument("--width", type=int, default=32, help="channels of the first stage")
    attrs.add_argument("--val", type=Path, default=None, help="held-out UTKFace-style folder")
    attrs.set_defaults(handler=_train_attributes)

    attrs_eval = evaluate.add_parser("attributes", help="age MAE and gender accuracy")
    attrs_eval.add_argument("--model", type=Path, required=True, help="checkpoint or .tflite")
    attrs_eval.add_argument("--data", type=Path, required=True)
    attrs_eval.add_argument("--input-size", type=int, default=64)
    attrs_eval.set_defaults(handler=_evaluate_attributes)

    attrs_export = export.add_parser("attributes", help="the model of an attribute run")
    _export_options(attrs_export)
    attrs_export.set_defaults(handler=_export_attributes)
