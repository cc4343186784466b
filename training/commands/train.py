"""``train <recipe>``: train or resume a CIFAR-10, embedding, liveness, attribute,
attribute-head or emotion run."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands, add_pairs_options, read_pairs_of
from training.commands.values import below_one, positive_float, positive_int


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
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        precision=args.precision,
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


def _train_embedding(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.embedding import EmbeddingConfig, train

    config = EmbeddingConfig(
        data_dir=args.data,
        run_dir=args.run_dir,
        loss=args.loss,
        input_size=args.input_size,
        embedding_size=args.embedding_size,
        width=args.width,
        epochs=args.epochs,
        batch_size=args.batch_size,
        identities_per_batch=args.identities_per_batch,
        learning_rate=args.lr,
        scale=args.scale,
        margin=args.margin,
        min_images=args.min_images,
        pairs=read_pairs_of(args),
        resume=args.resume,
        seed=args.seed,
        progress=not args.quiet,
        teacher=args.teacher,
    )
    return train(config)


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


def _train_attribute_head(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.attribute_head import AttributeHeadConfig, train

    return train(
        AttributeHeadConfig(
            features=args.features,
            run_dir=args.run_dir,
            hidden=args.hidden,
            layers=args.layers,
            dropout=args.dropout,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            age_sigma=args.age_sigma,
            age_l1_weight=args.age_l1_weight,
            flip=not args.no_flip,
            validation_percent=args.validation_percent,
            limit=args.limit,
            command="python -m training " + shlex.join(args.argv),
            resume=args.resume,
            seed=args.seed,
            progress=not args.quiet,
        )
    )


def _train_emotion(args: argparse.Namespace) -> dict[str, Any]:
    from training.recipes.emotion import EmotionConfig, train

    result = train(
        EmotionConfig(
            chips=args.chips,
            run_dir=args.run_dir,
            width=args.width,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            label_smoothing=args.label_smoothing,
            limit=args.limit,
            precision=args.precision,
            command="python -m training " + shlex.join(args.argv),
            resume=args.resume,
            seed=args.seed,
            progress=not args.quiet,
        )
    )
    for split in ("train", "validation"):
        result[split].pop("confusion", None)
    return result


def _common_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    parser.add_argument("--run-dir", type=Path, required=True, help="checkpoints + logs go here")
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _precision_option(parser: argparse.ArgumentParser) -> None:
    from training.precision import PRECISIONS

    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="bfloat16: mixed precision (faster on CPUs with bfloat16 units; docs/training.md)",
    )


def add_train(commands: Subcommands) -> None:
    """``train`` with one subcommand per recipe."""
    from training.architectures import NAMES
    from training.models.minifasnet import ARCHITECTURES
    from training.recipes.cifar10 import OPTIMIZERS
    from training.recipes.embedding import LOSSES

    train = commands.add_parser("train", help="train a recipe").add_subparsers(
        dest="recipe", required=True
    )
    cifar = train.add_parser("cifar10", help="CIFAR-10 classifier")
    _common_train(cifar)
    cifar.add_argument("--arch", choices=NAMES, default="resnet")
    cifar.add_argument("--width", type=positive_float, default=None, help="channel multiplier")
    cifar.add_argument("--depth", type=positive_int, default=None, help="ResNet depth (6n+2)")
    cifar.add_argument("--train-per-class", type=positive_int, default=None, help="subset size")
    cifar.add_argument("--test-per-class", type=positive_int, default=None)
    cifar.add_argument("--no-augment", action="store_true")
    cifar.add_argument(
        "--optimizer", choices=OPTIMIZERS, default="adam", help="sgd: Nesterov momentum 0.9"
    )
    cifar.add_argument("--weight-decay", type=float, default=0.0, help="decoupled, x lr")
    _precision_option(cifar)
    cifar.set_defaults(handler=_train_cifar10)

    embedding = train.add_parser("embedding", help="face embedding (ArcFace/CosFace/triplet)")
    _common_train(embedding)
    embedding.add_argument("--loss", choices=LOSSES, default="arcface")
    embedding.add_argument("--input-size", type=positive_int, default=112)
    embedding.add_argument("--embedding-size", type=positive_int, default=128)
    embedding.add_argument("--width", type=positive_float, default=1.0)
    embedding.add_argument("--identities-per-batch", type=positive_int, default=8, help="triplet P")
    embedding.add_argument("--scale", type=positive_float, default=32.0, help="margin-loss scale s")
    embedding.add_argument("--margin", type=float, default=None)
    embedding.add_argument("--min-images", type=positive_int, default=2, help="per identity")
    embedding.add_argument(
        "--teacher", default=None, help="for --loss distill: a model name (sface) or a .tflite file"
    )
    add_pairs_options(embedding)
    embedding.set_defaults(handler=_train_embedding)

    live = train.add_parser("liveness", help="MiniFASNet real/spoof with the Fourier aux loss")
    _common_train(live)
    live.set_defaults(batch_size=16)
    live.add_argument("--variant", choices=sorted(ARCHITECTURES), default="MiniFASNetV2")
    live.add_argument("--input-size", type=positive_int, default=80)
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

    attrs = train.add_parser("attributes", help="age regression + gender (UTKFace names)")
    _common_train(attrs)
    attrs.set_defaults(batch_size=32)
    attrs.add_argument("--input-size", type=positive_int, default=64)
    attrs.add_argument("--width", type=positive_int, default=32, help="channels of the first stage")
    attrs.add_argument("--val", type=Path, default=None, help="held-out UTKFace-style folder")
    attrs.set_defaults(handler=_train_attributes)

    head = train.add_parser(
        "attribute-head", help="age + gender MLP on served SFace embeddings (feature cache)"
    )
    head.add_argument(
        "--features",
        type=Path,
        required=True,
        help="the .npz of python -m training attribute-features",
    )
    head.add_argument("--run-dir", type=Path, required=True, help="checkpoints + logs go here")
    head.add_argument("--epochs", type=positive_int, default=40)
    head.add_argument("--batch-size", type=positive_int, default=128)
    head.add_argument("--lr", type=positive_float, default=1e-3)
    head.add_argument("--hidden", type=positive_int, default=256, help="units per hidden layer")
    head.add_argument("--layers", type=positive_int, default=2, help="hidden layers")
    head.add_argument("--dropout", type=below_one, default=0.3)
    head.add_argument(
        "--age-sigma", type=positive_float, default=2.0, help="soft-label width, years"
    )
    head.add_argument("--age-l1-weight", type=float, default=0.1, help="weight of the L1 (years)")
    head.add_argument("--no-flip", action="store_true", help="no mirrored-crop augmentation")
    head.add_argument(
        "--validation-percent", type=int, default=10, help="share of photos held out (hash split)"
    )
    head.add_argument(
        "--limit", type=positive_int, default=None, help="first N faces only (smoke runs)"
    )
    head.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    head.add_argument("--seed", type=int, default=0)
    head.add_argument("--quiet", action="store_true", help="no progress bars")
    head.set_defaults(handler=_train_attribute_head)

    emotion = train.add_parser("emotion", help="7 emotions on served crops (emotion-chips cache)")
    emotion.add_argument(
        "--chips", type=Path, required=True, help="the .npz of python -m training emotion-chips"
    )
    emotion.add_argument("--run-dir", type=Path, required=True, help="checkpoints + logs go here")
    emotion.add_argument("--width", type=positive_float, default=0.5, help="channel multiplier")
    emotion.add_argument("--epochs", type=positive_int, default=20)
    emotion.add_argument("--batch-size", type=positive_int, default=64)
    emotion.add_argument("--lr", type=positive_float, default=1e-3)
    emotion.add_argument("--label-smoothing", type=below_one, default=0.1)
    emotion.add_argument(
        "--limit", type=positive_int, default=None, help="first N faces only (smoke runs)"
    )
    emotion.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    emotion.add_argument("--seed", type=int, default=0)
    emotion.add_argument("--quiet", action="store_true", help="no progress bars")
    _precision_option(emotion)
    emotion.set_defaults(handler=_train_emotion)
