"""``flops``, ``plot`` and ``epoch-times``: figures about architectures and finished runs
(nothing is trained)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from training.commands.common import Subcommands
from training.commands.values import positive_int
from training.errors import TrainingError


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


def _plot(args: argparse.Namespace) -> dict[str, Any]:
    from training.curves import plot_history

    return {"png": str(args.out), "metrics": plot_history(args.history, args.out, args.title)}


def _epoch_times(args: argparse.Namespace) -> dict[str, Any]:
    from training.epoch_times import epoch_times, write_epoch_times

    summary = write_epoch_times(epoch_times(args.logs), args.out)
    return {"csv": str(args.out), **summary}


def add_flops(commands: Subcommands) -> None:
    """``flops``: parameters, MACs and FLOPs per architecture, checked against Keras/TF."""
    from training.architectures import NAMES

    flops = commands.add_parser("flops", help="parameter and FLOP counts per architecture")
    flops.add_argument("--arch", action="append", choices=[*NAMES, "mobilefacenet"])
    flops.add_argument("--face-size", type=positive_int, default=112)
    flops.add_argument("--per-layer", action="store_true")
    flops.set_defaults(handler=_flops)


def add_plot(commands: Subcommands) -> None:
    """``plot``: the curves of a run's history.csv as a PNG."""
    plot = commands.add_parser("plot", help="training curves of a history.csv as PNG")
    plot.add_argument("--history", type=Path, required=True)
    plot.add_argument("--out", type=Path, required=True)
    plot.add_argument("--title", default="")
    plot.set_defaults(handler=_plot)


def add_epoch_times(commands: Subcommands) -> None:
    """``epoch-times``: wall time per epoch of a run, from its TensorBoard event files."""
    times = commands.add_parser(
        "epoch-times", help="wall time per epoch of a run (from its TensorBoard logs)"
    )
    times.add_argument(
        "--logs", type=Path, required=True, help="the run's logs/train folder (TensorBoard)"
    )
    times.add_argument("--out", type=Path, required=True, help="CSV to write")
    times.set_defaults(handler=_epoch_times)
