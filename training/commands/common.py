"""What several command groups share: the subparsers type, the pairs-file options, the check
that a command writing model files and manifests will not replace one without ``--force``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from training.data.pairs import Pairs, read_pairs
from training.errors import TrainingError
from training.verification import check_foldable

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
    pairs = read_pairs(args.pairs, args.pairs_root, args.pairs_suffix)
    check_foldable(pairs.same)  # before any image is embedded
    return pairs


def check_targets(
    names: list[tuple[str, str]],
    outputs: list[Path],
    manifest_dir: Path | None,
    force: bool,
) -> None:
    """Before a slow conversion: TrainingError for a bad or shipped model name (name, version),
    and, without ``force``, for an existing output file or ``<manifest_dir>/<name>.toml`` (an
    earlier export, or a committed model's source file, would be replaced)."""
    from services.shared.model_store.local import check_local_name
    from services.shared.model_store.manifest import ManifestError
    from training.export import default_manifest_dir

    for name, version in names:
        try:
            check_local_name(name, version)
        except ManifestError as error:
            raise TrainingError(str(error)) from error
    if force:
        return
    folder = manifest_dir or default_manifest_dir()
    for path in [*outputs, *(folder / f"{name}.toml" for name, _ in names)]:
        if path.exists():
            raise TrainingError(f"{path} exists; pass --force to replace it")


def add_force_option(parser: argparse.ArgumentParser) -> None:
    """``--force``: replace existing output files and manifests (see :func:`check_targets`)."""
    parser.add_argument(
        "--force", action="store_true", help="replace existing output files and manifests"
    )
