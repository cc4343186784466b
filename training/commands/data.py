"""``align``, ``split``, ``attribute-features`` and ``emotion-chips``: prepare face datasets
(aligned crops, identity-disjoint pairs, age/gender and emotion inputs cut by the serving code)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands, add_pairs_options
from training.commands.values import open_fraction, positive_int


def _align(args: argparse.Namespace) -> dict[str, Any]:
    from training.data.align import align_tree, open_detector

    report = align_tree(args.src, args.dst, open_detector(args.cache_dir), not args.quiet)
    return {
        "aligned": report.aligned,
        "skipped_existing": report.skipped_existing,
        "no_face": len(report.no_face),
        "no_face_files": report.no_face[:50],
    }


def _split(args: argparse.Namespace) -> dict[str, Any]:
    from training.data.pairs import read_pairs
    from training.data.split import split_identities

    pairs = read_pairs(args.pairs, args.pairs_root, args.pairs_suffix)
    return split_identities(
        args.images,
        pairs,
        args.train_dir,
        args.pairs_out,
        args.train_fraction,
        args.min_images,
        args.seed,
    )


def _attribute_features(args: argparse.Namespace) -> dict[str, Any]:
    from services.shared.model_store import ModelStore
    from training.data.attribute_features import (
        VALIDATION_PERCENT,
        extract_features,
        save_features,
        write_chip_folders,
    )

    features = extract_features(
        args.data, ModelStore(args.cache_dir), args.chip_size, args.limit, not args.quiet
    )
    save_features(features, args.out)
    validation = int(features.validation_mask().sum())
    result: dict[str, Any] = {
        "features": str(args.out),
        "faces": len(features),
        "train": len(features) - validation,
        "validation": validation,
        "split": f"sha256(file-name timestamp) mod 100 < {VALIDATION_PERCENT} is validation",
        "no_face": len(features.no_face),
        "no_face_files": features.no_face[:50],
        "skipped_names": len(features.skipped),
    }
    if args.chips_dir is not None:
        result["chip_folders"] = write_chip_folders(features, args.chips_dir)
    return result


def _emotion_chips(args: argparse.Namespace) -> dict[str, Any]:
    from services.shared.model_store import ModelStore
    from training.data.emotion_chips import (
        VALIDATION_PERCENT,
        extract_emotion_chips,
        save_emotion_chips,
    )

    chips = extract_emotion_chips(args.data, ModelStore(args.cache_dir), args.limit, not args.quiet)
    save_emotion_chips(chips, args.out)
    validation = int(chips.validation_mask().sum())
    return {
        "chips": str(args.out),
        "faces": len(chips),
        "train": len(chips) - validation,
        "validation": validation,
        "split": f"sha256(file name) mod 100 < {VALIDATION_PERCENT} is validation",
        "no_face": len(chips.no_face),
        "no_face_files": chips.no_face[:50],
    }


def add_align(commands: Subcommands) -> None:
    """``align``: detect and align every face of a folder tree with the served detector."""
    align = commands.add_parser("align", help="detect + align faces of a folder tree (112x112)")
    align.add_argument("--src", type=Path, required=True)
    align.add_argument("--dst", type=Path, required=True)
    align.add_argument("--cache-dir", type=Path, default=None, help="model cache folder")
    align.add_argument("--quiet", action="store_true")
    align.set_defaults(handler=_align)


def add_attribute_features(commands: Subcommands) -> None:
    """``attribute-features``: SFace embeddings + dlib-style chips of a UTKFace-named folder."""
    features = commands.add_parser(
        "attribute-features",
        help="age/gender training inputs cut by the serving code (YuNet, SFace, chips) -> .npz",
    )
    features.add_argument("--data", type=Path, required=True, help="UTKFace-named images")
    features.add_argument("--out", type=Path, required=True, help="the .npz cache to write")
    features.add_argument("--chip-size", type=positive_int, default=64, help="dlib-style chip side")
    features.add_argument(
        "--chips-dir", type=Path, default=None, help="also write the chips as train/ + val/ PNGs"
    )
    features.add_argument("--limit", type=positive_int, default=None, help="first N images only")
    features.add_argument("--cache-dir", type=Path, default=None, help="model cache folder")
    features.add_argument("--quiet", action="store_true")
    features.set_defaults(handler=_attribute_features)


def add_emotion_chips(commands: Subcommands) -> None:
    """``emotion-chips``: the served 64x64 emotion crops of a FER-style ``<emotion>/`` folder."""
    chips = commands.add_parser(
        "emotion-chips",
        help="emotion training inputs cut by the serving code (framing, YuNet, crop) -> .npz",
    )
    chips.add_argument("--data", type=Path, required=True, help="folder of <emotion>/ folders")
    chips.add_argument("--out", type=Path, required=True, help="the .npz cache to write")
    chips.add_argument("--limit", type=positive_int, default=None, help="first N images only")
    chips.add_argument("--cache-dir", type=Path, default=None, help="model cache folder")
    chips.add_argument("--quiet", action="store_true")
    chips.set_defaults(handler=_emotion_chips)


def add_split(commands: Subcommands) -> None:
    """``split``: an identity-disjoint training folder and held-out verification pairs."""
    split = commands.add_parser("split", help="identity-disjoint train set + held-out pairs")
    split.add_argument("--images", type=Path, required=True, help="folder per identity")
    split.add_argument("--train-dir", type=Path, required=True)
    split.add_argument("--pairs-out", type=Path, required=True)
    split.add_argument("--train-fraction", type=open_fraction, default=0.5)
    split.add_argument("--min-images", type=positive_int, default=2)
    split.add_argument("--seed", type=int, default=0)
    add_pairs_options(split, required=True)
    split.set_defaults(handler=_split)
