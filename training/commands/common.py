"""What several command groups share: the subparsers type, the pairs-file options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from training.data.pairs import Pairs, read_pairs

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_pairs_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """``--pairs``, ``--pairs-root`` and ``--pairs-suffix`` (read back by :func:`read_pairs_of`)."""
    parser.add_argument(
        "--pairs",
        type=Path,
        required=required,
        help="LFW-format pairs (CSV img_a,img_b,same or classic pairs.txt)",
    )
    parser.add_argument(
        "--pairs-root",
        type=Path,
        default=None,
        help="folder the pair paths are relative to (default: the file's)",
    )
    parser.add_argument(
        "--pairs-suffix", default=None, help="replace image suffixes, e.g. .png for aligned crops"
    )


def read_pairs_of(args: argparse.Namespace) -> Pairs | None:
    """The pairs named by the :func:`add_pairs_options` options; None without ``--pairs``."""
    if args.pairs is None:
        return None
    return read_pairs(args.pairs, args.pairs_root, args.pairs_suffix)
