"""One command line for the toolkit: train, evaluate, export, quantize, prune, distill, flops.

``python -m training <command> --help`` lists each command's options. Failures a user can fix
(a wrong dataset layout, a missing checkpoint, a bad option) print one ``error:`` line and exit
with status 2; results print as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from training.errors import TrainingError

log = logging.getLogger("faceflow.training")
Handler = Callable[[argparse.Namespace], dict[str, Any]]


def _emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")


def _train_cifar10(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.cifar10 import CifarConfig, train

    options: dict[str, Any] = {}
    if args.width is not None:
        options["alpha" if args.arch == "mobilenetv2" else "width"] = args.width
    if args.depth is not None:
        options["depth"] = args.depth
    config = CifarConfig(
        data_dir=args.data,
        run_dir=args.run_dir,
        architecture=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        augment=not args.no_augment,
        resume=args.resume,
        seed=args.seed,
        progress=not args.quiet,
        arch_options=options,
    )
    result = train(config)
    result.pop("confusion", None)
    return result


def _evaluate_cifar10(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.cifar10 import evaluate

    return evaluate(args.checkpoint, args.data, args.test_per_class)


def _flops(args: argparse.Namespace) -> dict[str, Any]:
    from training.architectures import NAMES, build
    from training.architectures.mobilefacenet import mobilefacenet
    from training.flops import count_model, tensorflow_flops

    rows: list[dict[str, Any]] = []
    names = args.arch or [*NAMES, "mobilefacenet"]
    for name in names:
        if name == "mobilefacenet":
            model = mobilefacenet((args.face_size, args.face_size, 3))
        else:
            model = build(name, (32, 32, 3), 10)
        count = count_model(model)
        tf_flops = tensorflow_flops(model)
        rows.append(
            {
                "model": name,
                "params_formula": count.params,
                "params_keras": count.keras_params,
                "params_match": count.params_match,
                "macs": count.macs,
                "flops": count.flops,
                "flops_tensorflow": tf_flops,
                "flops_match": tf_flops == count.flops,
            }
        )
        if args.per_layer:
            for layer in count.layers:
                if layer.params or layer.macs:
                    sys.stderr.write(
                        f"  {name:12s} {layer.name:28s} {layer.kind:22s} "
                        f"{layer.params:>10,d} {layer.macs:>14,d}\n"
                    )
    header = (
        f"{'model':14s} {'params':>12s} {'keras':>12s} {'MACs':>14s} {'FLOPs':>14s} "
        f"{'TF FLOPs':>14s}"
    )
    sys.stderr.write(header + "\n")
    for row in rows:
        sys.stderr.write(
            f"{row['model']:14s} {row['params_formula']:>12,d} {row['params_keras']:>12,d} "
            f"{row['macs']:>14,d} {row['flops']:>14,d} {row['flops_tensorflow']:>14,d}\n"
        )
    if not all(r["params_match"] and r["flops_match"] for r in rows):
        raise TrainingError("formula counts differ from Keras/TensorFlow counts (see the table)")
    return {"models": rows}


def _common_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    parser.add_argument("--run-dir", type=Path, required=True, help="checkpoints + logs go here")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    from training.architectures import NAMES

    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a recipe").add_subparsers(
        dest="recipe", required=True
    )
    cifar = train.add_parser("cifar10", help="CIFAR-10 classifier")
    _common_train(cifar)
    cifar.add_argument("--arch", choices=NAMES, default="resnet")
    cifar.add_argument("--width", type=float, default=None, help="channel multiplier")
    cifar.add_argument("--depth", type=int, default=None, help="ResNet depth (6n+2)")
    cifar.add_argument("--train-per-class", type=int, default=None, help="subset size")
    cifar.add_argument("--test-per-class", type=int, default=None)
    cifar.add_argument("--no-augment", action="store_true")
    cifar.set_defaults(handler=_train_cifar10)

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint").add_subparsers(
        dest="recipe", required=True
    )
    cifar_eval = evaluate.add_parser("cifar10", help="test-split accuracy")
    cifar_eval.add_argument("--checkpoint", type=Path, required=True)
    cifar_eval.add_argument("--data", type=Path, required=True)
    cifar_eval.add_argument("--test-per-class", type=int, default=None)
    cifar_eval.set_defaults(handler=_evaluate_cifar10)

    flops = commands.add_parser("flops", help="parameter and FLOP counts per architecture")
    flops.add_argument("--arch", action="append", choices=[*NAMES, "mobilefacenet"])
    flops.add_argument("--face-size", type=int, default=112)
    flops.add_argument("--per-layer", action="store_true")
    flops.set_defaults(handler=_flops)

    from training.cli_more import add_commands

    add_commands(commands, train, evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 2 on a user-fixable error."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        result = handler(args)
    except TrainingError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    _emit(result)
    return 0
