"""``evaluate <recipe>``: the test figures of a CIFAR-10, embedding, liveness or attribute model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands, add_pairs_options, read_pairs_of
from training.commands.values import positive_int, unit_interval


def _evaluate_cifar10(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.cifar10 import evaluate

    return evaluate(args.checkpoint, args.data, args.test_per_class)


def _evaluate_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from training.evaluate_embedding import evaluate_checkpoint

    pairs = read_pairs_of(args)
    if pairs is None:
        from training.errors import TrainingError

        raise TrainingError("--pairs is required")
    return evaluate_checkpoint(args.model, pairs, args.input_size, args.cache_dir)


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
        classifier = tflite_classifier(args.model, args.input_size)
    else:
        from training.checkpoints import check_model_io, keras_io, load_checkpoint
        from training.recipes.liveness import CLASSIFIER_OUTPUT

        classifier = classifier_of(load_checkpoint(args.model))
        size = (args.input_size, args.input_size, 3)
        check_model_io(args.model, keras_io(classifier), size, CLASSIFIER_OUTPUT, "--input-size")
    return evaluate_classifier(
        classifier, load_liveness(args.data, args.input_size), args.threshold
    )


def _evaluate_attributes(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.attributes import evaluate_model, load_attributes, tflite_attributes

    if args.model.suffix == ".tflite":
        from training.errors import TrainingError

        if not args.model.is_file():
            raise TrainingError(f"{args.model} does not exist")
        model: Any = tflite_attributes(args.model, args.input_size)
    else:
        from training.checkpoints import check_model_io, keras_io, load_checkpoint
        from training.recipes.attributes import OUTPUTS

        model = load_checkpoint(args.model)
        size = (args.input_size, args.input_size, 3)
        check_model_io(args.model, keras_io(model), size, OUTPUTS, "--input-size")
    return evaluate_model(model, load_attributes(args.data, args.input_size))


def add_evaluate(commands: Subcommands) -> None:
    """``evaluate`` with one subcommand per recipe."""
    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint").add_subparsers(
        dest="recipe", required=True
    )
    cifar_eval = evaluate.add_parser("cifar10", help="test-split accuracy")
    cifar_eval.add_argument("--checkpoint", type=Path, required=True)
    cifar_eval.add_argument("--data", type=Path, required=True)
    cifar_eval.add_argument("--test-per-class", type=positive_int, default=None)
    cifar_eval.set_defaults(handler=_evaluate_cifar10)

    emb_eval = evaluate.add_parser("embedding", help="LFW-format pair verification")
    emb_eval.add_argument(
        "--model",
        required=True,
        help="a .keras checkpoint, a run folder, a .tflite file or a model name",
    )
    emb_eval.add_argument("--input-size", type=positive_int, default=112)
    emb_eval.add_argument("--cache-dir", type=Path, default=None)
    add_pairs_options(emb_eval, required=True)
    emb_eval.set_defaults(handler=_evaluate_embedding)

    live_eval = evaluate.add_parser("liveness", help="APCER / BPCER / ACER on real/spoof crops")
    live_eval.add_argument("--model", type=Path, required=True, help="checkpoint or .tflite")
    live_eval.add_argument("--data", type=Path, required=True)
    live_eval.add_argument("--input-size", type=positive_int, default=80)
    live_eval.add_argument("--threshold", type=unit_interval, default=0.5)
    live_eval.set_defaults(handler=_evaluate_liveness)

    attrs_eval = evaluate.add_parser("attributes", help="age MAE and gender accuracy")
    attrs_eval.add_argument("--model", type=Path, required=True, help="checkpoint or .tflite")
    attrs_eval.add_argument("--data", type=Path, required=True)
    attrs_eval.add_argument("--input-size", type=positive_int, default=64)
    attrs_eval.set_defaults(handler=_evaluate_attributes)
