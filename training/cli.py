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
from typing import Any

from services.shared.errors import ModelUnavailableError
from training.commands.common import Subcommands
from training.commands.compress import add_distill, add_prune, add_quantize
from training.commands.data import (
    add_align,
    add_attribute_features,
    add_emotion_chips,
    add_split,
)
from training.commands.evaluate import add_evaluate
from training.commands.export import add_export
from training.commands.reports import add_epoch_times, add_flops, add_plot
from training.commands.train import add_train
from training.errors import TrainingError

Handler = Callable[[argparse.Namespace], dict[str, Any]]

# the order --help lists them in
COMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    add_train,
    add_evaluate,
    add_flops,
    add_align,
    add_attribute_features,
    add_emotion_chips,
    add_quantize,
    add_prune,
    add_distill,
    add_plot,
    add_epoch_times,
    add_split,
    add_export,
)


def _emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 2 on a user-fixable error (a bad option, file or model)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # for provenance records
    handler: Handler = args.handler
    try:
        result = handler(args)
    except (TrainingError, ModelUnavailableError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    _emit(result)
    return 0
