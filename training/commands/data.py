"""``align`` and ``split``: prepare face datasets (aligned crops, identity-disjoint pairs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands, add_pairs_options


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


def add_align(commands: Subcommands) -> None:
    """``align``: detect and align every face of a folder tree with the served detector."""
    align = commands.add_parser("align", help="detect + align faces of a folder tree (112x112)")
    align.add_argument("--src", type=Path, required=True)
    align.add_argument("--dst", type=Path, required=True)
    align.add_argument("--cache-dir", type=Path, default=None, help="model cache folder")
    align.add_argument("--quiet", action="store_true")
    align.set_defaults(handler=_align)


def add_split(commands: Subcommands) -> None:
    """``split``: an identity-disjoint training folder and held-out verification pairs."""
    split = commands.add_parser("split", help="identity-disjoint train set + held-out pairs")
    split.add_argument("--images", type=Path, required=True, help="folder per identity")
    split.add_argument("--train-dir", type=Path, required=True)
    split.add_argument("--pairs-out", type=Path, required=True)
    split.add_argument("--train-fraction", type=float, default=0.5)
    split.add_argument("--min-images", type=int, default=2)
    split.add_argument("--seed", type=int, default=0)
    add_pairs_options(split, required=True)
    split.set_defaults(handler=_split)
