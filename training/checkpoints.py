"""Load a saved ``.keras`` checkpoint with a clear error when it is missing or unreadable."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import keras

import training.losses  # noqa: F401  (registers the custom layers for deserialisation)
from training.errors import TrainingError


def load_checkpoint(path: Path) -> Any:
    """The Keras model saved at path (compiled state included when present)."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "best.keras"
    if not path.is_file():
        raise TrainingError(f"checkpoint {path} does not exist")
    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as error:
        raise TrainingError(f"cannot load checkpoint {path}: {error}") from error


Shape = tuple[int | None, ...]


def keras_io(model: Any) -> tuple[Shape, dict[str, Shape]]:
    """A Keras model's input shape and its output shapes by name (batch axis included)."""
    outputs = model.outputs
    names = model.output_names if len(outputs) > 1 else ["output"]
    return tuple(model.inputs[0].shape), {
        name: tuple(tensor.shape) for name, tensor in zip(names, outputs, strict=True)
    }


def lite_io(model: Any) -> tuple[Shape, dict[str, Shape]]:
    """The same for a ``LiteModel``: its first input's shape, its output shapes by name."""
    return model.input_shapes[model.input_name], dict(model.output_shapes)


def check_model_io(
    source: Path,
    io: tuple[Shape, dict[str, Shape]],
    image: tuple[int, int, int],
    outputs: dict[str, int],
    input_option: str = "",
) -> None:
    """TrainingError unless the model takes (H, W, C) ``image`` inputs and has, per expected
    output name, that many values (a single expected output may have any name).

    Run before an evaluation so that a model of another recipe, or one made for another input
    size, is one error line instead of a shape traceback from deep inside Keras or TFLite.
    """
    input_shape, output_shapes = io
    got = tuple(input_shape[1:])
    if len(got) != 3 or any(g not in (None, e) for g, e in zip(got, image, strict=True)):
        hint = f" (set {input_option} to its size?)" if input_option else ""
        raise TrainingError(
            f"{source} takes inputs of shape {_shape(got)}, not {_shape(image)}{hint}"
        )
    if len(outputs) == 1 and len(output_shapes) == 1:
        output_shapes = {next(iter(outputs)): next(iter(output_shapes.values()))}
    for name, size in outputs.items():
        shape = output_shapes.get(name)
        if shape is None or shape[-1] != size:
            found = ", ".join(f"{n} {_shape(s[1:])}" for n, s in output_shapes.items())
            raise TrainingError(
                f"{source} is not a model of this recipe: expected output {name} with {size} "
                f"values, found {found}"
            )


def _shape(shape: Shape) -> str:
    return "x".join("?" if side is None else str(side) for side in shape)
